"""Polls and their ballots, alternative endings, and casting calls for the next season."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts.models import User
from core.db import Base, intpk, long_text, str_enum, utcnow
from series.models import Episode, Season


class PollScope(enum.StrEnum):
    EPISODE = "episode"
    SEASON = "season"
    SITE = "site"


class ResultsShown(enum.StrEnum):
    """When the public sees the counts (editors always do)."""

    LIVE = "live"
    AT_CLOSE = "at_close"
    NEVER = "never"


class Poll(Base):
    """A question with 2 to 5 options, open between two times (set ahead or by hand)."""

    __tablename__ = "polls"
    __table_args__ = (
        sa.CheckConstraint(
            "closes_at IS NULL OR opens_at IS NULL OR closes_at >= opens_at", name="window_order"
        ),
    )

    id: Mapped[intpk]
    scope: Mapped[PollScope] = mapped_column(str_enum(PollScope, 10))
    #: Set for an episode's poll (an ending poll is always an episode's).
    episode_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    #: Set for a season's poll.
    season_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("seasons.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[long_text] = mapped_column(default="")
    #: The options carry alternative endings of the episode.
    is_ending: Mapped[bool] = mapped_column(default=False)
    #: None: a draft, not open yet. Opening by hand sets it to the moment of opening.
    opens_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    #: None: open until an editor closes it (which sets it).
    closes_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    results: Mapped[ResultsShown] = mapped_column(
        str_enum(ResultsShown, 10), default=ResultsShown.LIVE
    )
    #: Losing endings become extras for everyone from then on (voters see them at close).
    extras_unlock_at: Mapped[dt.datetime | None]
    #: Random secret of the ballot receipts of this poll (never published).
    receipt_secret: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    episode: Mapped[Episode | None] = relationship()
    season: Mapped[Season | None] = relationship()
    options: Mapped[list[PollOption]] = relationship(
        back_populates="poll",
        order_by="PollOption.position",
        cascade="all, delete-orphan",
    )


class PollOption(Base):
    """One answer of a poll; in an ending poll, one alternative ending."""

    __tablename__ = "poll_options"
    __table_args__ = (sa.UniqueConstraint("poll_id", "position"),)

    id: Mapped[intpk]
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id", ondelete="CASCADE"))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(160))
    description: Mapped[long_text] = mapped_column(default="")

    poll: Mapped[Poll] = relationship(back_populates="options")
    ending: Mapped[EndingMedia | None] = relationship(
        back_populates="option", cascade="all, delete-orphan", uselist=False
    )


class Ballot(Base):
    """A vote: one per account and poll, written once, found again by its idempotency key."""

    __tablename__ = "ballots"
    __table_args__ = (
        sa.UniqueConstraint("poll_id", "user_id"),
        sa.UniqueConstraint("user_id", "key"),
        sa.Index("ix_ballots_poll_option", "poll_id", "option_id"),
    )

    id: Mapped[intpk]
    poll_id: Mapped[int] = mapped_column(sa.ForeignKey("polls.id", ondelete="CASCADE"))
    option_id: Mapped[int] = mapped_column(sa.ForeignKey("poll_options.id", ondelete="CASCADE"))
    #: The voter; None once their account is deleted: the ballot stays in the count and the
    #: audit log (its commitment), attached to nobody.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The client's idempotency key (a UUID).
    key: Mapped[str] = mapped_column(sa.String(36))
    #: SHA-256 binding the option to the voter's secret receipt: the public audit entry.
    commitment: Mapped[str] = mapped_column(sa.String(64), unique=True)
    cast_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    option: Mapped[PollOption] = relationship()


class EndingMedia(Base):
    """The video of an alternative ending, ingested like an episode (renditions + MP4)."""

    __tablename__ = "ending_media"

    id: Mapped[intpk]
    option_id: Mapped[int] = mapped_column(
        sa.ForeignKey("poll_options.id", ondelete="CASCADE"), unique=True
    )
    #: Folder under MEDIA_ROOT; its last part is random so paths cannot be guessed.
    directory: Mapped[str] = mapped_column(sa.String(255))
    duration_s: Mapped[float]
    width: Mapped[int]
    height: Mapped[int]
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    mp4_name: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    option: Mapped[PollOption] = relationship(back_populates="ending")

    @property
    def token(self) -> str:
        return self.directory.rsplit("/", 1)[-1]


class CastingCall(Base):
    """A call for extras ("figuration") for a season, in one territory."""

    __tablename__ = "casting_calls"

    id: Mapped[intpk]
    season_id: Mapped[int] = mapped_column(
        sa.ForeignKey("seasons.id", ondelete="CASCADE"), index=True
    )
    #: Where the filming happens ("Poitiers et Grand Châtellerault").
    territory: Mapped[str] = mapped_column(sa.String(160))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[long_text] = mapped_column(default="")
    #: Sign-ups are accepted until then (None: until the filming starts).
    signup_until: Mapped[dt.datetime | None]
    filming_starts_on: Mapped[dt.date | None]
    filming_ends_on: Mapped[dt.date | None]
    #: Set when the season is filmed: its sign-ups are deleted (retention) and no more taken.
    filmed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    season: Mapped[Season] = relationship()
    signups: Mapped[list[CastingSignup]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CastingSignup.id"
    )


class CastingSignup(Base):
    """A resident's sign-up to a casting call, kept until the season is filmed."""

    __tablename__ = "casting_signups"
    __table_args__ = (sa.UniqueConstraint("call_id", "user_id"),)

    id: Mapped[intpk]
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("casting_calls.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254))
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    #: Commune of residence.
    commune: Mapped[str] = mapped_column(sa.String(120))
    #: "18-25", "26-40", "41-60", "61+" (some roles need an age range).
    age_range: Mapped[str] = mapped_column(sa.String(10), default="")
    #: Slots the resident is free: a subset of AVAILABILITY keys.
    availability: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    note: Mapped[long_text] = mapped_column(default="")
    #: Explicit consent to be contacted about this call (required; dated).
    consent_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[CastingCall] = relationship(back_populates="signups")
    user: Mapped[User] = relationship()


#: The slots a resident can be available for.
AVAILABILITY = ("weekday_day", "weekday_evening", "weekend", "school_holidays")
AGE_RANGES = ("18-25", "26-40", "41-60", "61+")
