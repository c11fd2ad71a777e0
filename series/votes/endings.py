"""Alternative endings: each option of an ending poll carries a video, ingested like an episode.

The editor uploads a master per option; the episode's ingest pipeline (series.episodes)
transcodes it into `MEDIA_ROOT/endings/<option>/<token>/` and publishes it here. When the
poll closes the winner becomes the episode's ending for everyone; the others are extras
(series.votes.services.ending_access).
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import Session

from series.episodes import services as episodes
from series.episodes.models import IngestJob
from series.votes.models import EndingMedia, Poll, PollOption

logger = logging.getLogger(__name__)


class NotAnEnding(ValueError):
    """The option does not belong to an ending poll of an episode."""


def start_ending_ingest(
    session: Session, option: PollOption, staged: Path, original_name: str, user_id: int | None
) -> IngestJob:
    """Probe a staged master and queue its ingest as this option's ending (flushes).

    MediaRejected (from the episode pipeline) leaves nothing behind.
    """
    poll: Poll = option.poll
    if not poll.is_ending or poll.episode is None:
        staged.unlink(missing_ok=True)
        raise NotAnEnding(option.id)
    return episodes.start_ingest(
        session, poll.episode, staged, original_name, user_id, ending_option_id=option.id
    )


def publish_ending(session: Session, option_id: int, relative: str, result: object) -> str | None:
    """Record a transcoded ending; returns the folder it replaces (the caller deletes it)."""
    from series.episodes.media import TranscodeResult

    assert isinstance(result, TranscodeResult)
    media = session.scalar(sa.select(EndingMedia).where(EndingMedia.option_id == option_id))
    old = media.directory if media is not None else None
    if media is None:
        media = EndingMedia(option_id=option_id)
        session.add(media)
    first = result.renditions[0]
    media.directory = relative
    media.duration_s = result.duration
    media.width, media.height = first.width, first.height
    media.renditions = [
        {"name": r.name, "width": r.width, "height": r.height, "bitrate": r.bitrate}
        for r in result.renditions
    ]
    media.mp4_name = result.mp4.name
    logger.info("ending of option %s published in %s", option_id, relative)
    return old


def ending_jobs(session: Session, poll: Poll) -> dict[int, IngestJob]:
    """The latest ingest job of each option of a poll."""
    jobs = session.scalars(
        sa.select(IngestJob)
        .where(IngestJob.ending_option_id.in_([o.id for o in poll.options]))
        .order_by(IngestJob.id)
    )
    return {job.ending_option_id: job for job in jobs if job.ending_option_id is not None}


def ending_url(ending: EndingMedia, what: str = "mp4") -> str:
    """The URL of an ending's MP4 (or its poster); the route checks who may watch it."""
    filename = f"mp4/{ending.mp4_name}.mp4" if what == "mp4" else "poster.jpg"
    return url_for(
        "votes.ending_file", option_id=ending.option_id, token=ending.token, filename=filename
    )
