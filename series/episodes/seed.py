"""Demo media for the pilot: short videos made locally with ffmpeg, subtitles and chapters.

Nothing is downloaded. One clip is generated and transcoded once into a cache, then copied
for each pilot episode, so seeding again (or in another instance) is quick.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from series.episodes import services
from series.episodes.media import SourceInfo, make_test_source, probe_source, transcode
from series.episodes.media_transcode import plan_ladder
from series.episodes.models import EpisodeMedia, TrackKind
from series.models import Episode, Season

logger = logging.getLogger(__name__)

#: Demo clip: long enough for subtitles, chapters and several rungs, quick to make.
DEMO_SECONDS, DEMO_WIDTH, DEMO_HEIGHT = 24, 1280, 720
CACHE_VERSION = "v1"


def demo_clip(
    seconds: int = DEMO_SECONDS,
    width: int = DEMO_WIDTH,
    height: int = DEMO_HEIGHT,
    name: str = "demo-media",
) -> tuple[Path, SourceInfo]:
    """A generated clip, transcoded once into a cache (EXPERTS_DEMO_CACHE or the instance
    folder) and reused from there: the folder of renditions and the source's probe."""
    configured = os.environ.get("EXPERTS_DEMO_CACHE")
    base = Path(configured) if configured else Path(current_app.config["INSTANCE_PATH"])
    cache = base / f"{name}-{CACHE_VERSION}-{width}x{height}-{seconds}s"
    source = cache.parent / f"{cache.name}-source.mp4"
    if not source.exists():
        make_test_source(source, seconds, width, height)
    info = probe_source(source)
    if not (cache / "hls" / "master.m3u8").exists():
        logger.info("making the demo clip %s (%ss %sx%s)", name, seconds, width, height)
        shutil.rmtree(cache, ignore_errors=True)
        transcode(source, cache, info)
    return cache, info


def _vtt(cues: list[tuple[float, float, str]]) -> str:
    def stamp(seconds: float) -> str:
        return f"00:{int(seconds) // 60:02d}:{seconds % 60:06.3f}"

    body = "\n\n".join(f"{stamp(a)} --> {stamp(b)}\n{text}" for a, b, text in cues)
    return f"WEBVTT\n\n{body}\n"


def _subtitles(episode: Episode, lang: str) -> str:
    lines = {
        "fr": [
            "Margaux : On reprend depuis le début.",
            "Julien : Ici, tout le monde se connaît.",
            f"« {episode.title} »",
            "Margaux : Et personne n'a rien vu, bien sûr.",
        ],
        "en": [
            "Margaux: Let's start from the top.",
            "Julien: Around here, everybody knows everybody.",
            f"“{episode.title}”",
            "Margaux: And of course nobody saw a thing.",
        ],
    }[lang]
    return _vtt([(1 + 5 * i, 4.5 + 5 * i, text) for i, text in enumerate(lines)])


def _chapters() -> str:
    return _vtt(
        [(0, 8, "Ouverture"), (8, 16, "L'enquête"), (16, DEMO_SECONDS, "Le rebondissement")]
    )


def seed_pilot_media(session: Session) -> list[str]:
    """Attach the demo clip, subtitles and chapters to pilot episodes that have no media."""
    created: list[str] = []
    pilot_episodes = session.scalars(
        sa.select(Episode).join(Season).where(Season.number == 1).order_by(Episode.number)
    ).all()
    missing = [e for e in pilot_episodes if services.media_of(session, e.id) is None]
    if not missing:
        return created
    cache, info = demo_clip()
    for episode in missing:
        relative = f"episodes/{episode.id}/{secrets.token_urlsafe(12)}"
        target = services.media_root() / relative
        shutil.copytree(cache, target)
        renditions = sorted(
            (p.name for p in (cache / "hls").iterdir() if p.is_dir()),
            key=lambda name: -int(name.rstrip("p")),
        )
        session.add(
            EpisodeMedia(
                episode_id=episode.id,
                directory=relative,
                duration_s=info.duration,
                width=DEMO_WIDTH,
                height=DEMO_HEIGHT,
                has_audio=True,
                renditions=[
                    {"name": r.name, "width": r.width, "height": r.height, "bitrate": r.bitrate}
                    for r in plan_ladder(info)
                    if r.name in renditions
                ],
                mp4_name=next(p.stem for p in (cache / "mp4").glob("*.mp4")),
                scenes=[],
            )
        )
        episode.duration_s = info.duration
        services.attach_track(
            session, episode, TrackKind.SUBTITLES, "fr", "Français", _subtitles(episode, "fr")
        )
        services.attach_track(
            session, episode, TrackKind.SUBTITLES, "en", "English", _subtitles(episode, "en")
        )
        services.attach_track(session, episode, TrackKind.CHAPTERS, "fr", "Chapitres", _chapters())
        created.append(f"media 1x{episode.number}")
    session.flush()
    return created
