"""Filming locations and the passport of stamps collected there.

No raw coordinates of a visitor are ever stored: a stamp keeps the place, the time, the way it
was made and a distance band.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts.models import User
from core.db import Base, intpk, long_text, str_enum, utcnow
from series.models import Episode


class FilmingLocation(Base):
    """A place where scenes were filmed: a point with a radius, or a polygon for large sites."""

    __tablename__ = "filming_locations"
    __table_args__ = (
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="lat_lon"),
        sa.CheckConstraint("radius_m BETWEEN 10 AND 5000", name="radius_range"),
    )

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    text: Mapped[long_text] = mapped_column(default="")
    #: Path of a photo under MEDIA_ROOT, if any.
    photo_path: Mapped[str | None] = mapped_column(sa.String(255))
    #: WGS84 centre (for a polygon: a point inside it, where the map puts the pin).
    lat: Mapped[float]
    lon: Mapped[float]
    radius_m: Mapped[int] = mapped_column(default=150)
    #: [[lat, lon], …] of a large site's outline; None for a point with a radius.
    polygon: Mapped[list[list[float]] | None] = mapped_column(sa.JSON)
    departement_code: Mapped[str] = mapped_column(sa.String(3), index=True)
    #: Step-free access point and other notes for visitors with reduced mobility.
    accessibility: Mapped[long_text] = mapped_column(default="")
    opening_hours: Mapped[str] = mapped_column(sa.String(300), default="")
    #: A place of remembrance: stamped soberly (no points, no celebration).
    remembrance: Mapped[bool] = mapped_column(default=False)
    #: Secret of the place's changing code (the QR poster on site); never published.
    code_secret: Mapped[str] = mapped_column(sa.String(64))
    #: SHA-256 of the PIN a partner on site may give visitors, if any.
    pin_hash: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    episodes: Mapped[list[LocationEpisode]] = relationship(
        back_populates="location", cascade="all, delete-orphan", order_by="LocationEpisode.id"
    )


class LocationEpisode(Base):
    """An episode (and the scenes) filmed at a location."""

    __tablename__ = "location_episodes"
    __table_args__ = (sa.UniqueConstraint("location_id", "episode_id"),)

    id: Mapped[intpk]
    location_id: Mapped[int] = mapped_column(
        sa.ForeignKey("filming_locations.id", ondelete="CASCADE")
    )
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    #: Which scenes ("la poursuite dans le hall du Kinémax").
    scenes: Mapped[str] = mapped_column(sa.String(300), default="")

    location: Mapped[FilmingLocation] = relationship(back_populates="episodes")
    episode: Mapped[Episode] = relationship()


class Passport(Base):
    """A visitor's passport: an account's, or a guest's known by a browser token."""

    __tablename__ = "passports"
    __table_args__ = (
        sa.CheckConstraint(
            "(user_id IS NULL) <> (guest_token_hash IS NULL)", name="account_or_guest"
        ),
    )

    id: Mapped[intpk]
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    guest_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class StampMethod(enum.StrEnum):
    GPS = "gps"
    CODE = "code"
    PIN = "pin"


class StampStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    #: Plausible but fast travel since the previous stamp: a moderator looks at it.
    HELD = "held"


class Stamp(Base):
    """One stamp per passport and place, written once."""

    __tablename__ = "stamps"
    __table_args__ = (sa.UniqueConstraint("passport_id", "location_id"),)

    id: Mapped[intpk]
    passport_id: Mapped[int] = mapped_column(
        sa.ForeignKey("passports.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[int] = mapped_column(
        sa.ForeignKey("filming_locations.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[StampMethod] = mapped_column(str_enum(StampMethod, 10))
    status: Mapped[StampStatus] = mapped_column(
        str_enum(StampStatus, 10), default=StampStatus.ACCEPTED
    )
    #: "0-50", "50-150", "150-400", "400+" metres from the site, or "code"/"pin" (never the fix).
    distance_band: Mapped[str] = mapped_column(sa.String(10))
    #: When the visitor was there (the fix's or the scan's time, for stamps sent later).
    taken_at: Mapped[dt.datetime]
    stamped_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Detail for moderators of a held stamp (speed since the previous one), no position.
    review_note: Mapped[str] = mapped_column(sa.String(200), default="")

    location: Mapped[FilmingLocation] = relationship()


class UsedCode(Base):
    """A place code a passport has used: a code is good once (a replay is refused)."""

    __tablename__ = "used_codes"
    __table_args__ = (sa.UniqueConstraint("passport_id", "code_hash"),)

    id: Mapped[intpk]
    passport_id: Mapped[int] = mapped_column(sa.ForeignKey("passports.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
