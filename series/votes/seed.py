"""Demo polls: the pilot finale's ending vote (two alternative endings) and a site-wide poll."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil

import sqlalchemy as sa
from sqlalchemy.orm import Session

from series.episodes import services as episodes
from series.episodes.seed import demo_clip
from series.models import Season
from series.votes import services
from series.votes.models import EndingMedia, Poll, PollScope, ResultsShown

logger = logging.getLogger(__name__)

ENDING_QUESTION = "Quelle fin pour « Meurtre au Futuroscope » ?"
ENDINGS = [
    ("Le coupable s'envole en montgolfière", "Margaux le rattrape au-dessus des marais."),
    ("Julien démasque le coupable au Kinémax", "Aveux en 3D devant toute la salle."),
]
SITE_QUESTION = "Quel département pour la saison 2 ?"
SITE_OPTIONS = ["Charente", "Corrèze", "Landes"]
#: Demo ending clips: short and small, made once then copied.
ENDING_SECONDS, ENDING_WIDTH, ENDING_HEIGHT = 6, 640, 360


def _demo_ending(session: Session, option_id: int) -> None:
    cache, info = demo_clip(ENDING_SECONDS, ENDING_WIDTH, ENDING_HEIGHT, "demo-ending")
    relative = f"endings/{option_id}/{secrets.token_urlsafe(12)}"
    shutil.copytree(cache, episodes.media_root() / relative)
    session.add(
        EndingMedia(
            option_id=option_id,
            directory=relative,
            duration_s=info.duration,
            width=ENDING_WIDTH,
            height=ENDING_HEIGHT,
            renditions=[],
            mp4_name=next(p.stem for p in (cache / "mp4").glob("*.mp4")),
        )
    )


def seed_polls(session: Session, now: dt.datetime, media: bool = False) -> list[str]:
    """Create the demo polls where missing (and their ending videos with media)."""
    created: list[str] = []
    pilot = session.scalar(sa.select(Season).where(Season.number == 1))
    if pilot is None or not pilot.episodes:
        return created
    finale = max(pilot.episodes, key=lambda e: e.number)
    poll = session.scalar(sa.select(Poll).where(Poll.episode_id == finale.id, Poll.is_ending))
    if poll is None:
        opens = finale.publish_at or now
        poll = services.create_poll(
            session,
            question=ENDING_QUESTION,
            description="Regardez le final, puis choisissez la fin que tout le monde verra.",
            options=[label for label, _text in ENDINGS],
            scope=PollScope.EPISODE,
            episode=finale,
            is_ending=True,
            results=ResultsShown.LIVE,
            opens_at=opens,
            closes_at=opens + dt.timedelta(days=2),
        )
        poll.extras_unlock_at = opens + dt.timedelta(days=9)
        for option, (_label, text) in zip(poll.options, ENDINGS, strict=True):
            option.description = text
        created.append("poll: ending of the pilot's finale")
    if media:
        for option in poll.options:
            if option.ending is None:
                _demo_ending(session, option.id)
                created.append(f"ending video of option {option.position + 1}")
    if session.scalar(sa.select(Poll.id).where(Poll.question == SITE_QUESTION)) is None:
        services.create_poll(
            session,
            question=SITE_QUESTION,
            options=SITE_OPTIONS,
            scope=PollScope.SITE,
            results=ResultsShown.LIVE,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=14),
        )
        created.append("poll: next département")
    session.flush()
    return created
