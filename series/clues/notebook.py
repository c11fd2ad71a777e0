"""A player's notebook: their finds by episode, notes, totals, achievements, the shared view."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg
import sqlalchemy as sa
from flask_babel import LazyString
from sqlalchemy.orm import Session, selectinload

from core.i18n import lazy_gettext as _l
from series.clues import accusation, scoring
from series.clues.models import Accusation, ClueFind, Player
from series.clues.services import clues_of
from series.episodes.hotspot_kinds import ClueKind
from series.episodes.hotspot_models import Hotspot
from series.episodes.services import media_of, media_root
from series.models import Episode, Season

logger = logging.getLogger(__name__)

MAX_NOTE = 2000
#: A find within this many seconds of the clue's appearance earns "Œil de lynx".
SHARP_EYE_S = 2.0

ACHIEVEMENTS: dict[str, tuple[LazyString, LazyString]] = {
    "first_finder": (_l("Premier sur la piste"), _l("Le premier à trouver un indice.")),
    "sharp_eye": (
        _l("Œil de lynx"),
        _l("Un indice trouvé moins de deux secondes après son apparition."),
    ),
    "episode_complete": (_l("Épisode bouclé"), _l("Tous les indices d'un épisode.")),
    "season_complete": (_l("Saison résolue"), _l("Tous les indices d'une saison.")),
    "right_culprit": (_l("Fin limier"), _l("Le bon coupable, accusé avant le final.")),
}


@dataclass
class EpisodeSummary:
    """A player's standing in one episode."""

    episode: Episode
    clue_count: int
    finds: list[ClueFind] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(f.points for f in self.finds)


@dataclass
class SeasonSummary:
    """A player's standing in one season: episodes, accusation, totals."""

    season: Season
    episodes: list[EpisodeSummary]
    accusation: Accusation | None = None
    accusation_points: int | None = None

    @property
    def points(self) -> int:
        return sum(e.points for e in self.episodes) + (self.accusation_points or 0)

    @property
    def finds(self) -> int:
        return sum(len(e.finds) for e in self.episodes)


def summaries(session: Session, player: Player, now: dt.datetime) -> list[SeasonSummary]:
    """The player's seasons (those with a find or an accusation), episode by episode."""
    finds: Sequence[ClueFind] = session.scalars(
        sa.select(ClueFind)
        .where(ClueFind.player_id == player.id)
        .options(selectinload(ClueFind.hotspot), selectinload(ClueFind.episode))
        .order_by(ClueFind.episode_id, ClueFind.t)
    ).all()
    accusations = {
        a.season_id: a
        for a in session.scalars(sa.select(Accusation).where(Accusation.player_id == player.id))
    }
    season_ids = {f.season_id for f in finds} | set(accusations)
    out = []
    for season in session.scalars(
        sa.select(Season).where(Season.id.in_(season_ids)).order_by(Season.number)
    ):
        episodes = []
        for episode in season.episodes:
            mine = [f for f in finds if f.episode_id == episode.id]
            if mine:
                episodes.append(EpisodeSummary(episode, len(clues_of(session, episode.id)), mine))
        summary = SeasonSummary(season, episodes, accusations.get(season.id))
        investigation = accusation.investigation_of(session, season)
        if summary.accusation is not None and investigation is not None:
            summary.accusation_points = accusation.points_of(summary.accusation, investigation, now)
        out.append(summary)
    return out


def achievements(
    session: Session, player: Player, seasons: list[SeasonSummary], now: dt.datetime
) -> list[scoring.Achievement]:
    """What the player earned, from their finds and accusations."""
    earned: list[scoring.Achievement] = []
    finds = [f for s in seasons for e in s.episodes for f in e.finds]
    if any(f.rank == 1 for f in finds):
        earned.append(scoring.Achievement("first_finder"))
    if any(f.t - f.hotspot.start_s <= SHARP_EYE_S for f in finds):
        earned.append(scoring.Achievement("sharp_eye"))
    for season in seasons:
        complete = [e for e in season.episodes if e.clue_count and len(e.finds) >= e.clue_count]
        for summary in complete:
            earned.append(
                scoring.Achievement(
                    "episode_complete", f"{season.season.number}×{summary.episode.number}"
                )
            )
        total = session.scalar(
            sa.select(sa.func.count())
            .select_from(Hotspot)
            .join(Episode)
            .where(Episode.season_id == season.season.id, Hotspot.kind == ClueKind.name)
        )
        if total and season.finds >= total:
            earned.append(scoring.Achievement("season_complete", str(season.season.number)))
        investigation = accusation.investigation_of(session, season.season)
        if (
            season.accusation is not None
            and investigation is not None
            and accusation.is_revealed(investigation, now)
            and investigation.solution
            and season.accusation.suspect == investigation.solution.get("suspect")
        ):
            earned.append(scoring.Achievement("right_culprit", str(season.season.number)))
    return earned


def seasons_played(session: Session, player: Player) -> list[int]:
    """Numbers of the seasons where the player found a clue or accused someone."""
    return list(
        session.scalars(
            sa.select(Season.number)
            .where(
                sa.or_(
                    Season.id.in_(
                        sa.select(ClueFind.season_id).where(ClueFind.player_id == player.id)
                    ),
                    Season.id.in_(
                        sa.select(Accusation.season_id).where(Accusation.player_id == player.id)
                    ),
                )
            )
            .order_by(Season.number)
        )
    )


def save_note(session: Session, find: ClueFind, text: str) -> None:
    """Keep the player's note on a find."""
    find.note = text.strip()[:MAX_NOTE]
    session.flush()


def share(session: Session, player: Player, on: bool) -> str | None:
    """Turn the public notebook link on (a new random token) or off."""
    player.share_token = secrets.token_urlsafe(16) if on else None
    session.flush()
    return player.share_token


def shared_player(session: Session, token: str) -> Player | None:
    """The player whose public notebook this token opens."""
    if not token or len(token) > 32:
        return None
    return session.scalar(sa.select(Player).where(Player.share_token == token))


def frame_path(session: Session, find: ClueFind) -> Path | None:
    """A still of the frame where the clue was found (made once with ffmpeg, then kept)."""
    media = media_of(session, find.episode_id)
    if media is None:
        return None
    source = media_root() / media.directory / "mp4" / f"{media.mp4_name}.mp4"
    target = media_root() / "finds" / media.token / f"{find.id}-{int(find.t * 1000)}.jpg"
    if target.exists():
        return target
    if not source.exists():
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.jpg")
    try:
        (
            ffmpeg.input(str(source), ss=max(0.0, find.t))
            .output(str(partial), vframes=1, vf="scale=480:-2", **{"q:v": 4})
            .overwrite_output()
            .run(quiet=True)
        )
    except ffmpeg.Error as error:
        logger.warning("frame of find %s not made: %s", find.id, error.stderr[-300:])
        return None
    if not partial.exists() or partial.stat().st_size == 0:
        return None
    partial.replace(target)
    return target


def public_view(session: Session, player: Player, now: dt.datetime) -> dict[str, Any]:
    """The shared notebook: counts and points only (no clue, no frame: no spoiler)."""
    seasons = summaries(session, player, now)
    return {
        "player": player.public_name,
        "seasons": [
            {
                "number": s.season.number,
                "title": s.season.title,
                "points": s.points,
                "accused": s.accusation is not None,
                "episodes": [
                    {
                        "number": e.episode.number,
                        "found": len(e.finds),
                        "clues": e.clue_count,
                        "points": e.points,
                    }
                    for e in s.episodes
                ],
            }
            for s in seasons
        ],
        "achievements": [a.code for a in achievements(session, player, seasons, now)],
    }
