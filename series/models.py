"""The show: seasons (one per département), episodes and their guest stars."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, intpk, long_text, utcnow

#: The 12 départements of Nouvelle-Aquitaine: code -> name.
DEPARTEMENTS: dict[str, str] = {
    "16": "Charente",
    "17": "Charente-Maritime",
    "19": "Corrèze",
    "23": "Creuse",
    "24": "Dordogne",
    "33": "Gironde",
    "40": "Landes",
    "47": "Lot-et-Garonne",
    "64": "Pyrénées-Atlantiques",
    "79": "Deux-Sèvres",
    "86": "Vienne",
    "87": "Haute-Vienne",
}


class Season(Base):
    """One season of six episodes, set in one département."""

    __tablename__ = "seasons"
    __table_args__ = (sa.CheckConstraint("number BETWEEN 1 AND 12", name="number_range"),)

    id: Mapped[intpk]
    number: Mapped[int] = mapped_column(unique=True)
    #: INSEE code of the département ("86"); one season per département.
    departement_code: Mapped[str] = mapped_column(sa.String(3), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    synopsis: Mapped[long_text] = mapped_column(default="")
    #: Release of episode 1; the others follow a week apart unless moved.
    premiere_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    episodes: Mapped[list[Episode]] = relationship(
        back_populates="season", order_by="Episode.number", cascade="all, delete-orphan"
    )

    @property
    def departement_name(self) -> str:
        return DEPARTEMENTS[self.departement_code]


class Episode(Base):
    """A ten-minute episode; invisible to all but editors until `publish_at`."""

    __tablename__ = "episodes"
    __table_args__ = (
        sa.UniqueConstraint("season_id", "number"),
        sa.CheckConstraint("number BETWEEN 1 AND 6", name="number_range"),
    )

    id: Mapped[intpk]
    season_id: Mapped[int] = mapped_column(sa.ForeignKey("seasons.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    synopsis: Mapped[long_text] = mapped_column(default="")
    #: Length in seconds, known once the media is ingested.
    duration_s: Mapped[float | None]
    #: Release time; None means not scheduled (never public).
    publish_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    #: When set, the title stays hidden until release (the countdown shows "Épisode N").
    title_secret: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    season: Mapped[Season] = relationship(back_populates="episodes")
    guest_stars: Mapped[list[GuestStar]] = relationship(
        back_populates="episode", cascade="all, delete-orphan", order_by="GuestStar.id"
    )

    def is_released(self, now: dt.datetime) -> bool:
        return self.publish_at is not None and self.publish_at <= now


class GuestStar(Base):
    """A local personality met by the investigators in one episode."""

    __tablename__ = "guest_stars"

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    #: What they do in real life ("maraîchère à Chauvigny").
    real_life_role: Mapped[str] = mapped_column(sa.String(200))
    #: Their words as an ambassador of the territory.
    ambassador_text: Mapped[long_text] = mapped_column(default="")
    #: Path of the portrait under MEDIA_ROOT, if any.
    portrait_path: Mapped[str | None] = mapped_column(sa.String(255))

    episode: Mapped[Episode] = relationship(back_populates="guest_stars")


class Extra(Base):
    """ "Le off": bloopers and making-of, for an episode or a whole season."""

    __tablename__ = "extras"

    id: Mapped[intpk]
    season_id: Mapped[int] = mapped_column(sa.ForeignKey("seasons.id", ondelete="CASCADE"))
    #: Set for an episode's extra; such an extra is hidden until the episode is released.
    episode_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    #: "betisier" (bloopers) or "coulisses" (making-of).
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[long_text] = mapped_column(default="")
    #: Path of a progressive MP4 under MEDIA_ROOT, once one is attached.
    video_path: Mapped[str | None] = mapped_column(sa.String(255))
    publish_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    season: Mapped[Season] = relationship()
    episode: Mapped[Episode | None] = relationship()
