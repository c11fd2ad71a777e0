"""Episode media: the published renditions, ingest jobs, and text tracks."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, intpk, str_enum, utcnow
from series.models import Episode


class EpisodeMedia(Base):
    """The media an episode plays: one set of renditions per episode, replaced on re-ingest."""

    __tablename__ = "episode_media"

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), unique=True
    )
    #: Folder under MEDIA_ROOT; its last part is random so paths cannot be guessed.
    directory: Mapped[str] = mapped_column(sa.String(255))
    duration_s: Mapped[float]
    width: Mapped[int]
    height: Mapped[int]
    has_audio: Mapped[bool]
    #: [{"name", "width", "height", "bitrate"}] of the HLS ladder, tallest first.
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    #: Name of the progressive MP4 rung (file mp4/<name>.mp4).
    mp4_name: Mapped[str] = mapped_column(sa.String(20))
    #: Shot-change times in seconds (the hotspot editor snaps to them).
    scenes: Mapped[list[float]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    episode: Mapped[Episode] = relationship()

    @property
    def token(self) -> str:
        return self.directory.rsplit("/", 1)[-1]


class IngestState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class IngestJob(Base):
    """Turning a master file into an episode's media; its state is visible to editors."""

    __tablename__ = "ingest_jobs"

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    #: Set when the master is an alternative ending of this episode (series.votes).
    ending_option_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("poll_options.id", ondelete="CASCADE"), index=True
    )
    #: The staged master file (deleted once the job is done or has failed for good).
    source_path: Mapped[str] = mapped_column(sa.String(500))
    original_name: Mapped[str] = mapped_column(sa.String(255))
    state: Mapped[IngestState] = mapped_column(
        str_enum(IngestState, 10),
        default=IngestState.QUEUED,
        index=True,
    )
    #: 0..1 while running.
    progress: Mapped[float] = mapped_column(default=0.0)
    #: Estimated seconds left, None until the first progress report.
    eta_s: Mapped[float | None]
    #: ffprobe summary of the source (duration, size, codecs).
    source_info: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    #: Last sign of life of the process running the job; a stale one means it died.
    heartbeat_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    episode: Mapped[Episode] = relationship()


class TrackKind(enum.StrEnum):
    SUBTITLES = "subtitles"
    CAPTIONS = "captions"
    CHAPTERS = "chapters"
    DESCRIPTIONS = "descriptions"


class Track(Base):
    """A WebVTT text track of an episode: subtitles, captions, chapters, audio description."""

    __tablename__ = "tracks"
    __table_args__ = (sa.UniqueConstraint("episode_id", "kind", "lang"),)

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TrackKind] = mapped_column(str_enum(TrackKind, 20))
    #: BCP 47 language tag ("fr", "en").
    lang: Mapped[str] = mapped_column(sa.String(10))
    label: Mapped[str] = mapped_column(sa.String(80))
    #: The WebVTT text itself (small; served through the access check).
    content: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
