"""The rules of the clue game: judging claims, writing finds once, the examine-the-scene list.

The browser never learns where a clue is: it sends a time and a point (or a region of the
examine list), and the server answers found or not. Claims are refused when they come faster
than the episode can be watched, and wrong ones are limited per player and minute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from core import counters
from core.db import conflict_insert
from core.errors import ApiError
from core.i18n import lazy_gettext as _l
from series.clues import scoring
from series.clues.models import ClueCounter, ClueFind, EpisodeViewing, Player
from series.episodes.hotspot_kinds import KINDS, ClueKind
from series.episodes.hotspot_models import Hotspot
from series.episodes.hotspots import box_at, contains
from series.models import Episode

logger = logging.getLogger(__name__)

#: A claim may be this far (s) outside a clue's time span: frame times and clicks round.
TIME_TOLERANCE_S = 0.25
#: …and this far (% of the picture) outside its box.
POSITION_TOLERANCE = 2.0
#: Wrong claims a player may make in a minute (the window starts at the first one).
WRONG_CLAIMS_PER_MINUTE = 10
WRONG_CLAIMS_WINDOW_S = 60
#: Watching plausibility: a claim at time t needs t ≤ GRACE + RATE × (time since opening).
WATCH_GRACE_S = 30.0
MAX_PLAYBACK_RATE = 2.0
#: How long a viewing ticket of a visitor not playing yet stays good (s).
TICKET_MAX_AGE_S = 12 * 3600
#: Without a known duration, claims past this time are outside any episode (20 min).
MAX_EPISODE_S = 1200.0

#: The examine list always offers these nine zones of the picture, so a list never gives a
#: clue away by being short; a zone holds a clue when the clue's centre is inside it.
GRID_ZONES = [
    (_l("En haut à gauche"), 0, 0),
    (_l("En haut au centre"), 1, 0),
    (_l("En haut à droite"), 2, 0),
    (_l("Au milieu à gauche"), 0, 1),
    (_l("Au centre de l'image"), 1, 1),
    (_l("Au milieu à droite"), 2, 1),
    (_l("En bas à gauche"), 0, 2),
    (_l("En bas au centre"), 1, 2),
    (_l("En bas à droite"), 2, 2),
]


class ClaimRefused(ApiError):
    """A claim that is not judged at all, with its reason code."""


@dataclass(frozen=True)
class ClaimResult:
    """What a claim came to."""

    found: bool
    find: ClueFind | None = None
    #: True when the player had already found this clue (nothing new was written).
    already: bool = False
    #: Editors trying clues of an unreleased episode: judged, never recorded.
    preview_clue: Hotspot | None = None


def clues_of(session: Session, episode_id: int) -> Sequence[Hotspot]:
    """The clues of an episode, in time order."""
    return session.scalars(
        sa.select(Hotspot)
        .where(Hotspot.episode_id == episode_id, Hotspot.kind == ClueKind.name)
        .order_by(Hotspot.start_s, Hotspot.id)
    ).all()


def clue_base_points(clue: Hotspot) -> int:
    """The clue's base points (its data, or the default)."""
    points = (clue.data or {}).get("points", ClueKind.DEFAULT_POINTS)
    return int(points) if isinstance(points, int | float) else ClueKind.DEFAULT_POINTS


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ClaimRefused(422, "invalid_" + field, _l("Nombre attendu."), field=field)
    return float(value)


def parse_time(episode: Episode, raw: Any) -> float:
    """The claimed time, inside the episode (422 otherwise)."""
    t = _number(raw, "t")
    end = episode.duration_s if episode.duration_s is not None else MAX_EPISODE_S
    if not 0 <= t <= end:
        raise ClaimRefused(
            422,
            "time_outside_episode",
            _l("Cet instant n'existe pas dans l'épisode."),
            field="t",
        )
    return t


def parse_point(raw_x: Any, raw_y: Any) -> tuple[float, float]:
    """The claimed point, in % of the picture (422 outside it)."""
    x, y = _number(raw_x, "x"), _number(raw_y, "y")
    if not (0 <= x <= 100 and 0 <= y <= 100):
        raise ClaimRefused(
            422,
            "point_outside_picture",
            _l("Le point doit être dans l'image (0 à 100 %)."),
            field="x",
        )
    return x, y


# ---- Watching plausibility ----


def viewing_ticket(episode: Episode, opened_at: dt.datetime) -> str:
    """A signed note of when a visitor who is not playing yet opened an episode.

    Visitors without a player get this instead of a cookie and a row: only their first claim
    makes them a (guest) player, and the ticket it carries dates their viewing.
    """
    return _tickets().dumps({"episode": episode.id, "at": opened_at.timestamp()})


def ticket_time(raw: Any, episode: Episode, now: dt.datetime) -> dt.datetime | None:
    """The opening time a ticket vouches for (None if forged, stale or for another episode)."""
    if not isinstance(raw, str) or len(raw) > 300:
        return None
    try:
        data = _tickets().loads(raw, max_age=TICKET_MAX_AGE_S)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("episode") != episode.id:
        return None
    at = data.get("at")
    if not isinstance(at, int | float):
        return None
    return min(dt.datetime.fromtimestamp(at, dt.UTC), now)


def _tickets() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="episode-viewing")


def record_viewing(
    session: Session,
    player: Player,
    episode: Episode,
    now: dt.datetime,
    opened_at: dt.datetime | None = None,
) -> dt.datetime:
    """Note when the player first opened the episode (kept once); returns that time."""
    session.execute(
        conflict_insert(session, EpisodeViewing)
        .values(player_id=player.id, episode_id=episode.id, opened_at=opened_at or now)
        .on_conflict_do_nothing(index_elements=["player_id", "episode_id"])
    )
    opened = session.scalar(
        sa.select(EpisodeViewing.opened_at).where(
            EpisodeViewing.player_id == player.id, EpisodeViewing.episode_id == episode.id
        )
    )
    assert opened is not None
    return opened


def check_watch_time(opened_at: dt.datetime, t: float, now: dt.datetime) -> None:
    """Refuse a claim at t that comes faster than watching the episode from its opening."""
    watched = max(0.0, (now - opened_at).total_seconds())
    reachable = WATCH_GRACE_S + MAX_PLAYBACK_RATE * watched
    if t > reachable:
        wait = math.ceil((t - reachable) / MAX_PLAYBACK_RATE)
        error = ClaimRefused(
            422,
            "too_fast",
            _l(
                "Cet instant de l'épisode n'a pas pu être regardé depuis son ouverture : "
                "regardez l'épisode pour y chercher des indices."
            ),
            retry_after=wait,
        )
        error.headers["Retry-After"] = str(wait)
        raise error


# ---- Wrong claims ----


def _wrong_key(player: Player) -> str:
    return f"clue-wrong:{player.id}"


def _rate_limited(retry: int) -> ClaimRefused:
    retry = max(retry, 1)
    error = ClaimRefused(
        429,
        "too_many_wrong_claims",
        _l(
            "Trop d'essais manqués en une minute : réessayez dans %(s)s s.",
            s=retry,
        ),
        retry_after=retry,
    )
    error.headers["Retry-After"] = str(retry)
    return error


def check_wrong_claims(player: Player) -> None:
    """429 once the player made their wrong claims of the minute."""
    key = _wrong_key(player)
    if counters.get(key) >= WRONG_CLAIMS_PER_MINUTE:
        raise _rate_limited(counters.ttl(key))


def count_wrong_claim(player: Player) -> None:
    """Count a wrong claim atomically; past the limit (concurrent claims), answer 429 too."""
    key = _wrong_key(player)
    if counters.incr(key, ttl=WRONG_CLAIMS_WINDOW_S) > WRONG_CLAIMS_PER_MINUTE:
        raise _rate_limited(counters.ttl(key))


# ---- Judging ----


def _active(clue: Hotspot, t: float) -> bool:
    return clue.start_s - TIME_TOLERANCE_S <= t <= clue.end_s + TIME_TOLERANCE_S


def _shown_at(clue: Hotspot, t: float) -> float:
    """The time to interpolate the box at: t, held inside the clue's span (time tolerance)."""
    return min(max(t, clue.start_s), clue.end_s)


def _centre(clue: Hotspot, t: float) -> tuple[float, float]:
    box = box_at(clue.keyframes, _shown_at(clue, t))
    return box["x"] + box["w"] / 2, box["y"] + box["h"] / 2


def clues_at_point(clues: Sequence[Hotspot], t: float, x: float, y: float) -> list[Hotspot]:
    """The clues whose box (interpolated at t, give or take the tolerances) holds the point."""
    return [
        clue
        for clue in clues
        if _active(clue, t)
        and contains(clue.keyframes, _shown_at(clue, t), x, y, tolerance=POSITION_TOLERANCE)
    ]


def record_find(
    session: Session,
    player: Player,
    clue: Hotspot,
    where: tuple[float, float, float],
    method: str,
    now: dt.datetime,
) -> tuple[ClueFind, bool]:
    """Write the find once; returns it and whether it is new.

    The rank comes from an atomic increment of the clue's counter (a row lock on PostgreSQL,
    the write lock on SQLite), so concurrent finders get 1, 2, 3… with no gap or duplicate;
    a concurrent second claim by the same player loses on the unique constraint and its
    increment is rolled back with its savepoint.
    """
    existing = _find_of(session, player.id, clue.id)
    if existing is not None:
        return existing, False
    t, x, y = where

    class _Duplicate(Exception):
        pass

    try:
        with session.begin_nested():
            rank = session.scalar(
                conflict_insert(session, ClueCounter)
                .values(hotspot_id=clue.id, finders=1)
                .on_conflict_do_update(
                    index_elements=["hotspot_id"], set_={"finders": ClueCounter.finders + 1}
                )
                .returning(ClueCounter.finders)
            )
            assert rank is not None
            inserted = session.scalar(
                conflict_insert(session, ClueFind)
                .values(
                    player_id=player.id,
                    hotspot_id=clue.id,
                    episode_id=clue.episode_id,
                    season_id=clue.episode.season_id,
                    rank=rank,
                    points=scoring.find_points(clue_base_points(clue), rank),
                    t=t,
                    x=x,
                    y=y,
                    method=method,
                    note="",
                    found_at=now,
                )
                .on_conflict_do_nothing(index_elements=["player_id", "hotspot_id"])
                .returning(ClueFind.id)
            )
            if inserted is None:
                raise _Duplicate
    except _Duplicate:
        existing = _find_of(session, player.id, clue.id)
        assert existing is not None
        return existing, False
    find = session.get(ClueFind, inserted)
    assert find is not None
    logger.info("clue %s found by player %s (rank %s)", clue.id, player.id, find.rank)
    return find, True


def _find_of(session: Session, player_id: int, clue_id: int) -> ClueFind | None:
    return session.scalar(
        sa.select(ClueFind)
        .where(ClueFind.player_id == player_id, ClueFind.hotspot_id == clue_id)
        .execution_options(populate_existing=True)
    )


def _settle(
    session: Session,
    player: Player | None,
    hits: list[Hotspot],
    where: tuple[float, float, float],
    method: str,
    now: dt.datetime,
) -> ClaimResult:
    if player is None:  # an editor's preview of an unreleased episode
        return ClaimResult(found=bool(hits), preview_clue=hits[0] if hits else None)
    if not hits:
        count_wrong_claim(player)
        return ClaimResult(found=False)
    found = set(
        session.scalars(
            sa.select(ClueFind.hotspot_id).where(
                ClueFind.player_id == player.id,
                ClueFind.hotspot_id.in_([h.id for h in hits]),
            )
        )
    )
    # Several clues under the point: the one not found yet comes first.
    clue = next((h for h in hits if h.id not in found), hits[0])
    find, created = record_find(session, player, clue, where, method, now)
    return ClaimResult(found=True, find=find, already=not created)


def _precheck(
    session: Session,
    player: Player | None,
    episode: Episode,
    body: dict[str, Any],
    t: float,
    now: dt.datetime,
) -> None:
    if player is None:
        return
    check_wrong_claims(player)
    ticket = ticket_time(body.get("viewing"), episode, now)
    check_watch_time(record_viewing(session, player, episode, now, ticket), t, now)


def claim_clue(
    session: Session,
    player: Player | None,
    episode: Episode,
    body: Any,
    now: dt.datetime,
) -> ClaimResult:
    """Judge a click claim `{"t", "x", "y"}` (player None: an editor's unrecorded preview)."""
    if not isinstance(body, dict):
        raise ClaimRefused(422, "invalid_body", _l('Envoyez {"t": s, "x": %, "y": %}.'))
    t = parse_time(episode, body.get("t"))
    x, y = parse_point(body.get("x"), body.get("y"))
    _precheck(session, player, episode, body, t, now)
    hits = clues_at_point(clues_of(session, episode.id), t, x, y)
    return _settle(session, player, hits, (t, x, y), "click", now)


# ---- Examine the scene ----


def _region_token(episode_id: int, hotspot_id: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"scene-region:{episode_id}:{hotspot_id}".encode()
    return "r" + hmac.new(key, message, hashlib.sha256).hexdigest()[:15]


def _zone_of(index: int) -> tuple[float, float, float, float]:
    _label, col, row = GRID_ZONES[index]
    third = 100 / 3
    return col * third, row * third, third, third


def scene_regions(session: Session, episode: Episode, t: float) -> list[dict[str, str]]:
    """The regions of the frame at t, for keyboards and screen readers.

    Clues are listed among the scene regions and public hotspots on screen, with the same
    neutral words, opaque identifiers and alphabetical order, and the nine zones of the
    picture always come last: nothing tells which region holds a clue.
    """
    on_screen = session.scalars(
        sa.select(Hotspot).where(
            Hotspot.episode_id == episode.id,
            Hotspot.start_s <= t,
            Hotspot.end_s >= t,
        )
    ).all()
    regions = sorted(
        (
            {
                "region": _region_token(episode.id, h.id),
                "label": h.accessible_label or h.label,
            }
            for h in on_screen
            if h.kind in KINDS
        ),
        key=lambda r: (r["label"].casefold(), r["region"]),
    )
    zones = [
        {"region": f"z{i}", "label": str(label)} for i, (label, _c, _r) in enumerate(GRID_ZONES)
    ]
    return regions + zones


def claim_region(
    session: Session,
    player: Player | None,
    episode: Episode,
    body: Any,
    now: dt.datetime,
) -> ClaimResult:
    """Judge an examine claim `{"t", "region"}`: a region of the list at t."""
    if not isinstance(body, dict) or not isinstance(body.get("region"), str):
        raise ClaimRefused(422, "invalid_body", _l('Envoyez {"t": s, "region": "…"}.'))
    t = parse_time(episode, body.get("t"))
    region = body["region"]
    _precheck(session, player, episode, body, t, now)
    clues = [c for c in clues_of(session, episode.id) if _active(c, t)]
    hits: list[Hotspot] = []
    if region.startswith("z") and region[1:].isdecimal() and int(region[1:]) < len(GRID_ZONES):
        zx, zy, zw, zh = _zone_of(int(region[1:]))
        for clue in clues:
            cx, cy = _centre(clue, t)
            if zx <= cx <= zx + zw and zy <= cy <= zy + zh:
                hits.append(clue)
    else:
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        wanted = region.encode()
        hits = [
            c
            for c in clues
            if hmac.compare_digest(_region_token(episode.id, c.id).encode(), wanted)
        ]
    # An examine find is noted at the centre of the clue's box (only its finder sees it).
    where = (t, *_centre(hits[0], t)) if hits else (t, 50.0, 50.0)
    return _settle(session, player, hits, where, "examine", now)


# ---- What a player may see of their finds ----


def clue_json(clue: Hotspot, find: ClueFind | None = None) -> dict[str, Any]:
    """A found clue, as its finder sees it (never sent before the find)."""
    data = clue.data or {}
    out: dict[str, Any] = {
        "id": clue.id,
        "episode": clue.episode_id,
        "title": data.get("title") or clue.label,
        "text": data.get("text", ""),
        "image": data.get("image"),
        "base_points": clue_base_points(clue),
    }
    if find is not None:
        out |= {
            "points": find.points,
            "rank": find.rank,
            "first": find.rank == 1,
            "t": find.t,
            "found_at": find.found_at.isoformat(),
        }
    return out


def finds_of(session: Session, player: Player, episode_id: int | None = None) -> Sequence[ClueFind]:
    """A player's finds, by episode and time in the episode."""
    query = sa.select(ClueFind).where(ClueFind.player_id == player.id)
    if episode_id is not None:
        query = query.where(ClueFind.episode_id == episode_id)
    return session.scalars(query.order_by(ClueFind.episode_id, ClueFind.t)).all()
