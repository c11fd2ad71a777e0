"""Leaderboards per episode, per season and overall; cached, and pushed live when they change.

The cache holds only what every visitor may see (names, points, ranks) plus internal player
ids, and its key carries a version bumped on every find and every change of a time-based
state (a season revealed or closed): a cached ranking is never older than the last committed
find. A caller's own standing is looked up per request, never cached for someone else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from core import cache, counters
from core.accounts.models import User
from core.clock import now
from core.db import db
from core.extensions import socketio
from core.realtime import broadcast
from series.clues import accusation
from series.clues.models import ClueFind, Investigation, Player
from series.models import Episode, Season

logger = logging.getLogger(__name__)

VERSION = "leaderboard:version"
CACHE_TTL = 60
#: Entries pushed in a `leaderboard` event.
TOP = 10
#: Pushes per scope: at most one per this many seconds (0: at once, as tests use).
DEFAULT_PUSH_INTERVAL = 1.0


@dataclass(frozen=True)
class Scope:
    """What a leaderboard ranks: everything, one season (by number) or one episode (by id)."""

    kind: str
    ident: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ident}"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scope": self.kind}
        if self.kind != "overall":
            out[self.kind] = self.ident
        return out


OVERALL = Scope("overall")


def _time_state(session: Session, now: dt.datetime) -> str:
    """Which seasons are revealed or closed now: part of the cache key."""
    states = []
    for investigation in session.scalars(sa.select(Investigation).order_by(Investigation.id)):
        closes = accusation.closes_at(investigation, investigation.season)
        states.append(
            f"{investigation.season_id}{int(accusation.is_revealed(investigation, now))}"
            f"{int(closes is not None and closes <= now)}"
        )
    return hashlib.sha256(",".join(states).encode()).hexdigest()[:12]


def compute(session: Session, scope: Scope, now: dt.datetime) -> list[dict[str, Any]]:
    """Every listed player of the scope, ranked: points, then who got there first."""
    query = sa.select(
        ClueFind.player_id,
        sa.func.sum(ClueFind.points),
        sa.func.count(),
        sa.func.max(ClueFind.found_at),
    ).group_by(ClueFind.player_id)
    bonus: dict[int, int] = {}
    if scope.kind == "episode":
        query = query.where(ClueFind.episode_id == scope.ident)
    elif scope.kind == "season":
        season = session.scalar(sa.select(Season).where(Season.number == scope.ident))
        if season is None:
            return []
        query = query.where(ClueFind.season_id == season.id)
        investigation = accusation.investigation_of(session, season)
        closes = accusation.closes_at(investigation, season)
        if closes is not None:
            query = query.where(ClueFind.found_at < closes)  # the final ranking holds
        bonus = accusation.revealed_points(session, now, season.id)
    else:
        bonus = accusation.revealed_points(session, now)
    totals: dict[int, list[Any]] = {}
    for player_id, points, finds, last in session.execute(query):
        totals[player_id] = [int(points or 0), int(finds), last]
    for player_id, points in bonus.items():
        entry = totals.setdefault(player_id, [0, 0, None])
        entry[0] += points
    if not totals:
        return []
    names = {
        row.id: (row.display_name or row.pseudonym)
        for row in session.execute(
            sa.select(Player.id, Player.pseudonym, User.display_name)
            .outerjoin(User, User.id == Player.user_id)
            .where(Player.id.in_(list(totals)), Player.listed.is_(True))
        )
    }
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    ordered = sorted(
        (pid for pid in totals if pid in names),
        key=lambda pid: (-totals[pid][0], totals[pid][2] or far, pid),
    )
    return [
        {
            "player_id": pid,
            "rank": rank,
            "player": names[pid],
            "points": totals[pid][0],
            "finds": totals[pid][1],
        }
        for rank, pid in enumerate(ordered, start=1)
    ]


def standings(session: Session, scope: Scope, now: dt.datetime) -> list[dict[str, Any]]:
    """The scope's ranking, from the cache when nothing changed since it was made."""
    key = f"leaderboard:{counters.get(VERSION)}:{_time_state(session, now)}:{scope.key}"
    found = cache.get(key)
    if found is None:
        found = compute(session, scope, now)
        cache.put(key, found, CACHE_TTL)
    return list(found)


def public_entries(rows: list[dict[str, Any]], limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """What anyone may see: rank, public name, points, number of finds."""
    return [
        {k: row[k] for k in ("rank", "player", "points", "finds")}
        for row in rows[offset : offset + limit]
    ]


def standing_of(rows: list[dict[str, Any]], player: Player | None) -> dict[str, Any] | None:
    """The caller's own line, with the number of ranked players."""
    if player is None:
        return None
    for row in rows:
        if row["player_id"] == player.id:
            return {k: row[k] for k in ("rank", "player", "points", "finds")} | {"of": len(rows)}
    return None


# ---- Live pushes ----


def _signature(entries: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def _push(session: Session, scope: Scope, room_kind: str, room: int, now: dt.datetime) -> None:
    """Send a scope's top to a room, unless it is what was sent last."""
    entries = public_entries(standings(session, scope, now), TOP)
    sent_key = f"leaderboard-sent:{room_kind}:{room}:{scope.key}"
    signature = _signature(entries)
    if cache.get(sent_key) == signature:
        return
    cache.put(sent_key, signature, 24 * 3600)
    broadcast("leaderboard", scope.describe() | {"entries": entries}, room_kind, room)


def push_tops(session: Session, season_number: int, now: dt.datetime) -> None:
    """Push the changed tops: overall, the season's, and each of its episodes'."""
    _push(session, OVERALL, "leaderboard", 0, now)
    _push(session, Scope("season", season_number), "leaderboard", season_number, now)
    episode_ids = session.scalars(
        sa.select(Episode.id).join(Season).where(Season.number == season_number)
    ).all()
    for episode_id in episode_ids:
        scope = Scope("episode", episode_id)
        _push(session, scope, "episode", episode_id, now)
        _push(session, scope, "leaderboard-episode", episode_id, now)


def invalidate() -> None:
    """Something every ranking depends on changed (a player left or rejoined them)."""
    counters.incr(VERSION)


def changed(season_number: int) -> None:
    """A find (or accusation) was committed: new version, and a push soon (coalesced).

    One process at a time pushes a season's tops (a lock shared through Redis); it waits the
    interval, pushes, and goes on while finds keep coming, so a burst of finds yields at
    most one push per interval, the last of them after the last find.
    """
    counters.incr(VERSION)
    counters.incr(f"leaderboard:dirty:{season_number}")
    interval = float(current_app.config.get("LEADERBOARD_PUSH_INTERVAL", DEFAULT_PUSH_INTERVAL))
    if interval <= 0:
        push_tops(db.session, season_number, now())
        return
    if counters.try_lock(f"leaderboard-push:{season_number}", ttl=interval * 20):
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        socketio.start_background_task(_pusher, app, season_number, interval)


def _pusher(app: Flask, season_number: int, interval: float) -> None:
    dirty = f"leaderboard:dirty:{season_number}"
    lock = f"leaderboard-push:{season_number}"
    with app.app_context():
        seen = counters.get(dirty)
        try:
            while True:
                seen = counters.get(dirty)
                socketio.sleep(interval)
                try:
                    push_tops(db.session, season_number, now())
                finally:
                    db.session.rollback()
                    db.registry.remove()
                if counters.get(dirty) == seen:
                    break
        except Exception:
            logger.exception("leaderboard push of season %s failed", season_number)
        finally:
            counters.unlock(lock)
        # A find counted between the last check and the unlock found the lock taken:
        # look once more, and carry on for it.
        if counters.get(dirty) != seen and counters.try_lock(lock, ttl=interval * 20):
            socketio.start_background_task(_pusher, app, season_number, interval)
