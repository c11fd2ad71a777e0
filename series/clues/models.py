"""The clue game: players, finds, viewings, and each season's sealed accusations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts.models import User
from core.db import Base, intpk, long_text, utcnow
from series.episodes.hotspot_models import Hotspot
from series.models import Episode, Season


class Player(Base):
    """Someone playing the clue game: an account, or a guest known by a browser cookie."""

    __tablename__ = "players"
    __table_args__ = (
        sa.CheckConstraint(
            "(user_id IS NULL) <> (guest_token_hash IS NULL)", name="account_or_guest"
        ),
    )

    id: Mapped[intpk]
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    #: SHA-256 of a guest's random token (the token itself lives only in the guest's cookie).
    guest_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: Public name of a guest on leaderboards (an account shows its display name instead).
    pseudonym: Mapped[str] = mapped_column(sa.String(80))
    #: Shown on public leaderboards; a player may withdraw from them.
    listed: Mapped[bool] = mapped_column(default=True)
    #: Random token of the spoiler-free public notebook; None while not shared.
    share_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()

    @property
    def public_name(self) -> str:
        return self.user.display_name if self.user is not None else self.pseudonym


class ClueCounter(Base):
    """How many players found a clue: the source of each finder's rank."""

    __tablename__ = "clue_counters"

    hotspot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hotspots.id", ondelete="CASCADE"), primary_key=True
    )
    finders: Mapped[int] = mapped_column(default=0)


class ClueFind(Base):
    """A clue found by a player: written once per player and clue."""

    __tablename__ = "clue_finds"
    __table_args__ = (
        sa.UniqueConstraint("player_id", "hotspot_id"),
        sa.UniqueConstraint("hotspot_id", "rank"),
        sa.CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[intpk]
    player_id: Mapped[int] = mapped_column(
        sa.ForeignKey("players.id", ondelete="CASCADE"), index=True
    )
    hotspot_id: Mapped[int] = mapped_column(sa.ForeignKey("hotspots.id", ondelete="CASCADE"))
    #: Copied from the clue so leaderboards group without joins.
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    season_id: Mapped[int] = mapped_column(
        sa.ForeignKey("seasons.id", ondelete="CASCADE"), index=True
    )
    #: 1 for the clue's first finder, 2 for the second…
    rank: Mapped[int]
    #: Points earned, fixed at the find (see series.clues.scoring).
    points: Mapped[int]
    #: Where in the episode (s) the clue was found, and where on the picture (% of the box).
    t: Mapped[float]
    x: Mapped[float]
    y: Mapped[float]
    #: "click" on the picture, or "examine" (the keyboard and screen-reader list).
    method: Mapped[str] = mapped_column(sa.String(10), default="click")
    #: The player's own notes about this clue.
    note: Mapped[long_text] = mapped_column(default="")
    found_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    player: Mapped[Player] = relationship()
    hotspot: Mapped[Hotspot] = relationship()
    episode: Mapped[Episode] = relationship()


class EpisodeViewing(Base):
    """When a player first opened an episode: claims cannot come faster than watching."""

    __tablename__ = "episode_viewings"
    __table_args__ = (sa.UniqueConstraint("player_id", "episode_id"),)

    id: Mapped[intpk]
    player_id: Mapped[int] = mapped_column(sa.ForeignKey("players.id", ondelete="CASCADE"))
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Investigation(Base):
    """A season's whodunit: the lists players accuse from, and the sealed solution."""

    __tablename__ = "investigations"

    id: Mapped[intpk]
    season_id: Mapped[int] = mapped_column(
        sa.ForeignKey("seasons.id", ondelete="CASCADE"), unique=True
    )
    #: [{"key", "label"}] each: the suspects, motives and places players choose from.
    suspects: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=list)
    motives: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=list)
    places: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=list)
    #: {"suspect", "motive", "place"} keys; never shown before the reveal.
    solution: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: Random salt of the solution's published commitment (kept secret until the reveal).
    solution_nonce: Mapped[str | None] = mapped_column(sa.String(64))
    #: SHA-256 commitment of the solution, public from the moment it is set.
    solution_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    #: Last moment to accuse; None means the finale's release.
    deadline_at: Mapped[dt.datetime | None]
    #: The season's ranking is final from then on; None means a week after the finale.
    closes_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    season: Mapped[Season] = relationship()


class Accusation(Base):
    """A player's one sealed accusation for a season."""

    __tablename__ = "accusations"
    __table_args__ = (sa.UniqueConstraint("season_id", "player_id"),)

    id: Mapped[intpk]
    season_id: Mapped[int] = mapped_column(sa.ForeignKey("seasons.id", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(
        sa.ForeignKey("players.id", ondelete="CASCADE"), index=True
    )
    suspect: Mapped[str] = mapped_column(sa.String(40))
    motive: Mapped[str] = mapped_column(sa.String(40))
    place: Mapped[str] = mapped_column(sa.String(40))
    #: Random salt given to the player in their receipt.
    nonce: Mapped[str] = mapped_column(sa.String(64))
    #: SHA-256 over the season, the choice and the nonce: the receipt's seal.
    commitment: Mapped[str] = mapped_column(sa.String(64), unique=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    player: Mapped[Player] = relationship()
