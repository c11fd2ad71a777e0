"""Realtime hub: Socket.IO with rooms, authentication on connect, Redis queue at scale.

Domains register the room kinds they own (`episode`, `poll`, …) with `room_kind`; a client
joins with `join` `{"<kind>": id}` and gets the ack `{"ok": true}` or a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request, session
from flask_login import current_user
from flask_socketio import join_room, leave_room

from core.accounts import services
from core.db import as_id, db
from core.extensions import socketio
from core.i18n import gettext as _

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoomKind:
    """A kind of room: who may join, and what to send when someone joins or leaves."""

    name: str
    authorize: Callable[[int], bool]
    on_join: Callable[[int], None] | None = None
    on_leave: Callable[[int], None] | None = None


ROOM_KINDS: dict[str, RoomKind] = {}


def room_kind(
    name: str,
    on_join: Callable[[int], None] | None = None,
    on_leave: Callable[[int], None] | None = None,
) -> Callable[[Callable[[int], bool]], Callable[[int], bool]]:
    """Register a room kind; the decorated function says whether the caller may join."""

    def decorator(authorize: Callable[[int], bool]) -> Callable[[int], bool]:
        ROOM_KINDS[name] = RoomKind(name, authorize, on_join, on_leave)
        return authorize

    return decorator


def room_name(kind: str, ident: int) -> str:
    """The Socket.IO room of an object."""
    return f"{kind}:{ident}"


def init_realtime(app: Flask) -> None:
    """Bind Socket.IO; with REDIS_URL every process shares rooms through Redis pub/sub."""
    queue = app.config["REDIS_URL"] if app.config.get("SOCKETIO_MESSAGE_QUEUE", True) else None
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=queue,
        channel=app.config["REDIS_KEY_PREFIX"] + "socketio",
        logger=False,
        engineio_logger=False,
    )


def _refuse(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


@socketio.on("connect")
def on_connect(auth: dict[str, Any] | None = None) -> bool:
    """Accept the browser session, a bearer token in `auth`, or an anonymous visitor."""
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    if token:
        user = services.user_for_api_token(db.session, str(token))
        if user is None:
            raise ConnectionRefusedError("invalid_token")
        db.session.commit()
        # The socket keeps its own copy of the session: current_user works in every handler.
        session["_user_id"] = user.get_id()
    session["rooms"] = []
    logger.debug("socket %s connected as %s", request.sid, current_user)  # type: ignore[attr-defined]
    return True


@socketio.on("join")
def on_join(data: Any) -> dict[str, Any]:
    """Join the room of one object the caller may see."""
    if not isinstance(data, dict) or len(data) != 1:
        return _refuse("invalid", _('Indiquez un seul objet à suivre, par exemple {"poll": 1}.'))
    kind_name, ident = next(iter(data.items()))
    kind = ROOM_KINDS.get(kind_name)
    if kind is None or not as_id(ident):
        return _refuse("invalid", _("Objet inconnu."))
    if not kind.authorize(ident):
        return _refuse("not_found", _("Cet objet n'existe pas ou n'est pas encore public."))
    room = room_name(kind_name, ident)
    if room not in session["rooms"]:
        join_room(room)
        session["rooms"] = [*session["rooms"], room]
        if kind.on_join:
            kind.on_join(ident)
    return {"ok": True}


@socketio.on("leave")
def on_leave(data: Any) -> dict[str, Any]:
    """Leave a room joined before."""
    if not isinstance(data, dict) or len(data) != 1:
        return _refuse("invalid", _("Objet inconnu."))
    kind_name, ident = next(iter(data.items()))
    _leave(f"{kind_name}:{ident}")
    return {"ok": True}


def _leave(room: str) -> None:
    if room not in session.get("rooms", []):
        return
    leave_room(room)
    session["rooms"] = [r for r in session["rooms"] if r != room]
    kind_name, _sep, ident = room.partition(":")
    kind = ROOM_KINDS.get(kind_name)
    if kind and kind.on_leave and ident.isdigit():
        kind.on_leave(int(ident))


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    """Leave every room (so presence counts stay right)."""
    for room in list(session.get("rooms", [])):
        _leave(room)


def broadcast(event: str, payload: dict[str, Any], kind: str, ident: int) -> None:
    """Send an event to everyone in an object's room, from any process or job."""
    socketio.emit(event, payload, to=room_name(kind, ident))
