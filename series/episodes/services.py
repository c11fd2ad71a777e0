"""Ingest rules: validate a master, transcode it in a job, publish its media, recover jobs."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from core.db import utcnow
from series.episodes.media import (
    MediaLimits,
    MediaRejected,
    TranscodeFailed,
    probe_source,
    transcode,
)
from series.episodes.models import EpisodeMedia, IngestJob, IngestState, Track, TrackKind
from series.models import Episode

logger = logging.getLogger(__name__)

#: A running job writes a heartbeat at least this often; one silent for longer has died.
HEARTBEAT_S = 10
STALE_AFTER = dt.timedelta(seconds=6 * HEARTBEAT_S)
MAX_ATTEMPTS = 3

ProgressReport = Callable[[IngestJob], None]


def media_root() -> Path:
    """Where media files live (MEDIA_ROOT)."""
    return Path(current_app.config["MEDIA_ROOT"])


def media_limits() -> MediaLimits:
    """Duration and frame limits of a master, from configuration."""
    return MediaLimits(
        max_duration=float(current_app.config["MEDIA_MAX_DURATION"]),
        max_width=int(current_app.config["MEDIA_MAX_WIDTH"]),
        max_height=int(current_app.config["MEDIA_MAX_HEIGHT"]),
    )


def staging_dir() -> Path:
    """Folder of uploaded masters waiting for (or being) ingested."""
    path = media_root() / "staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_episode(session: Session, season_number: int, number: int) -> Episode | None:
    """An episode by season and episode number."""
    from series.models import Season

    return session.scalar(
        sa.select(Episode)
        .join(Season)
        .where(Season.number == season_number, Episode.number == number)
    )


def start_ingest(
    session: Session,
    episode: Episode,
    staged: Path,
    original_name: str,
    user_id: int | None = None,
    ending_option_id: int | None = None,
) -> IngestJob:
    """Validate a staged master with ffprobe and queue its ingest job.

    On refusal the staged file is deleted and MediaRejected raised: nothing is left behind.
    """
    try:
        info = probe_source(staged, media_limits())
    except MediaRejected:
        staged.unlink(missing_ok=True)
        raise
    job = IngestJob(
        episode=episode,
        source_path=str(staged),
        original_name=original_name[:255],
        source_info=asdict(info),
        created_by_id=user_id,
        ending_option_id=ending_option_id,
    )
    session.add(job)
    session.flush()
    logger.info("ingest job %s added for episode %s (%s)", job.id, episode.id, original_name)
    return job


def run_ingest(job_id: int, report: ProgressReport | None = None) -> None:
    """Transcode a queued job's master and publish the result (the job runner commits)."""
    from core.db import db

    session = db.session
    if not claim_job(session, job_id, utcnow()):
        logger.info("ingest job %s already done or taken by another worker", job_id)
        return
    job = session.get(IngestJob, job_id)
    assert job is not None
    _notify(job, report)
    # No transaction stays open during the transcode (minutes): progress commits open and
    # close their own.
    session.commit()

    source = Path(job.source_path)
    token = secrets.token_urlsafe(12)
    relative = (
        f"endings/{job.ending_option_id}/{token}"
        if job.ending_option_id is not None
        else f"episodes/{job.episode_id}/{token}"
    )
    out_dir = media_root() / relative
    last_write = 0.0

    def on_progress(fraction: float, eta: float | None) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write < 1.0 and fraction < 1.0:
            return
        last_write = now
        job.progress, job.eta_s = round(fraction, 4), eta
        job.heartbeat_at = utcnow()
        session.commit()
        _notify(job, report)

    if not source.exists():
        _fail(session, job, "source_missing", "the staged master file is gone", final=True)
        _notify(job, report)
        return
    try:
        info = probe_source(source, media_limits())
        result = transcode(source, out_dir, info, on_progress)
    except (TranscodeFailed, MediaRejected, OSError) as error:
        shutil.rmtree(out_dir, ignore_errors=True)
        code = error.code if isinstance(error, MediaRejected) else "transcode_failed"
        _fail(session, job, code, str(error), final=job.attempts >= MAX_ATTEMPTS)
        _notify(job, report)
        return
    _publish(session, job, relative, result)
    _notify(job, report)


def claim_job(session: Session, job_id: int, now: dt.datetime) -> bool:
    """Atomically take a queued job (or one whose runner died); False if someone has it."""
    claimed = session.execute(
        sa.update(IngestJob)
        .where(
            IngestJob.id == job_id,
            sa.or_(
                IngestJob.state == IngestState.QUEUED,
                sa.and_(
                    IngestJob.state == IngestState.RUNNING,
                    IngestJob.heartbeat_at < now - STALE_AFTER,
                ),
            ),
        )
        .values(
            state=IngestState.RUNNING,
            attempts=IngestJob.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            eta_s=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    job = session.get(IngestJob, job_id)
    if job is not None:
        session.refresh(job)
    return True


def _publish(session: Session, job: IngestJob, relative: str, result: object) -> None:
    from series.episodes.media import TranscodeResult

    assert isinstance(result, TranscodeResult)
    if job.ending_option_id is not None:
        from series.votes.endings import publish_ending

        old = publish_ending(session, job.ending_option_id, relative, result)
        _finish(session, job, old, relative)
        return
    media = session.scalar(sa.select(EpisodeMedia).where(EpisodeMedia.episode_id == job.episode_id))
    old_directory = media.directory if media else None
    if media is None:
        media = EpisodeMedia(episode_id=job.episode_id)
        session.add(media)
    media.directory = relative
    media.duration_s = result.duration
    first = result.renditions[0]
    media.width, media.height = first.width, first.height
    media.has_audio = first.audio_bitrate > 0
    media.renditions = [
        {"name": r.name, "width": r.width, "height": r.height, "bitrate": r.bitrate}
        for r in result.renditions
    ]
    media.mp4_name = result.mp4.name
    media.scenes = result.scenes
    media.created_at = utcnow()
    job.episode.duration_s = result.duration
    _finish(session, job, old_directory, relative)


def _finish(session: Session, job: IngestJob, old_directory: str | None, relative: str) -> None:
    job.state = IngestState.DONE
    job.progress, job.eta_s = 1.0, 0.0
    job.finished_at = utcnow()
    session.commit()
    Path(job.source_path).unlink(missing_ok=True)
    if old_directory and old_directory != relative:
        shutil.rmtree(media_root() / old_directory, ignore_errors=True)
    logger.info("ingest job %s published media %s for episode %s", job.id, relative, job.episode_id)


def _fail(session: Session, job: IngestJob, code: str, message: str, final: bool) -> None:
    job.error_code, job.error_message = code, message[:2000]
    job.finished_at = utcnow()
    if final or code != "transcode_failed":
        job.state = IngestState.FAILED
        Path(job.source_path).unlink(missing_ok=True)
    else:
        # A transcode can fail for passing reasons (disk, memory): try again later.
        job.state = IngestState.QUEUED
    session.commit()
    logger.warning(
        "ingest job %s failed (%s, attempt %d): %s", job.id, code, job.attempts, message[:300]
    )


def abandon(session: Session, job: IngestJob) -> None:
    """Give up on a job that will not be retried (e.g. a failed terminal ingest)."""
    if job.state is not IngestState.DONE:
        job.state = IngestState.FAILED
        job.finished_at = job.finished_at or utcnow()
        Path(job.source_path).unlink(missing_ok=True)
        session.commit()


def resume_interrupted_jobs(session: Session, now: dt.datetime) -> int:
    """Queue again the jobs a dead process left behind; returns how many."""
    jobs = recover_interrupted_jobs(session, now)
    session.commit()
    for job in jobs:
        enqueue_ingest(job)
    return len(jobs)


def _notify(job: IngestJob, report: ProgressReport | None) -> None:
    from core.realtime import broadcast

    broadcast("ingest", job_json(job), "ingest", job.id)
    if report is not None:
        report(job)


def job_json(job: IngestJob) -> dict[str, object]:
    """What editors see of a job."""
    return {
        "id": job.id,
        "episode": job.episode_id,
        "ending_option": job.ending_option_id,
        "state": job.state.value,
        "progress": job.progress,
        "eta_s": None if job.eta_s is None else round(job.eta_s, 1),
        "attempts": job.attempts,
        "error": job.error_code,
        "message": job.error_message,
        "original_name": job.original_name,
    }


def recover_interrupted_jobs(session: Session, now: dt.datetime) -> list[IngestJob]:
    """Jobs left queued or running by a dead process: queue them again (or fail for good).

    Returns the jobs to enqueue. Called when a server or worker starts.
    """
    stale = session.scalars(
        sa.select(IngestJob).where(
            IngestJob.state.in_([IngestState.QUEUED, IngestState.RUNNING]),
            sa.or_(IngestJob.heartbeat_at.is_(None), IngestJob.heartbeat_at < now - STALE_AFTER),
        )
    ).all()
    requeue = []
    for job in stale:
        if job.state is IngestState.RUNNING and job.attempts >= MAX_ATTEMPTS:
            _fail(session, job, "interrupted", "interrupted too many times", final=True)
            continue
        job.state = IngestState.QUEUED
        job.heartbeat_at = now
        requeue.append(job)
        logger.info("ingest job %s queued again after an interruption", job.id)
    session.flush()
    return requeue


def enqueue_ingest(job: IngestJob) -> None:
    """Hand a committed job to the job queue."""
    from core.jobs import enqueue

    enqueue(run_ingest, job.id)


def latest_jobs(session: Session, episode_id: int, limit: int = 5) -> list[IngestJob]:
    """An episode's most recent ingest jobs."""
    return list(
        session.scalars(
            sa.select(IngestJob)
            .where(IngestJob.episode_id == episode_id)
            .order_by(IngestJob.id.desc())
            .limit(limit)
        )
    )


def media_of(session: Session, episode_id: int) -> EpisodeMedia | None:
    """The published media of an episode."""
    return session.scalar(sa.select(EpisodeMedia).where(EpisodeMedia.episode_id == episode_id))


def tracks_of(session: Session, episode_id: int) -> list[Track]:
    """An episode's text tracks, subtitles first."""
    return list(
        session.scalars(
            sa.select(Track).where(Track.episode_id == episode_id).order_by(Track.kind, Track.lang)
        )
    )


class InvalidTrack(ValueError):
    """A text track that is not WebVTT."""


def attach_track(
    session: Session, episode: Episode, kind: TrackKind, lang: str, label: str, content: str
) -> Track:
    """Add or replace a WebVTT track of an episode."""
    text = content.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise InvalidTrack("not_webvtt")
    if "-->" not in text:
        raise InvalidTrack("empty_track")
    track = session.scalar(
        sa.select(Track).where(
            Track.episode_id == episode.id, Track.kind == kind, Track.lang == lang
        )
    )
    if track is None:
        track = Track(episode_id=episode.id, kind=kind, lang=lang)
        session.add(track)
    track.label = label[:80]
    track.content = text
    session.flush()
    logger.info("track %s/%s attached to episode %s", kind, lang, episode.id)
    return track
