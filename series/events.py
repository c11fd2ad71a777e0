"""Socket.IO rooms of the catalogue: viewers watching an episode together."""

from __future__ import annotations

from flask_login import current_user

from core import counters
from core.clock import now
from core.db import db
from core.realtime import broadcast, room_kind
from series import services


def _presence_changed(episode_id: int, delta: int) -> None:
    watching = counters.incr(f"presence:episode:{episode_id}", delta, ttl=6 * 3600)
    broadcast(
        "presence", {"episode": episode_id, "watching": max(watching, 0)}, "episode", episode_id
    )


def _joined(episode_id: int) -> None:
    _presence_changed(episode_id, 1)


def _left(episode_id: int) -> None:
    _presence_changed(episode_id, -1)


@room_kind("episode", on_join=_joined, on_leave=_left)
def may_follow_episode(episode_id: int) -> bool:
    """Only episodes the caller may see can be followed."""
    return services.get_visible_episode(db.session, episode_id, current_user, now()) is not None
