"""Socket.IO of polls: `join {"poll": id}` sends the tally, `vote` votes like the HTTP API.

The `vote` ack is `{"status": 201|200, ...}` like the HTTP answer, or `{"status": 4xx,
"error": code, "message": text}`; it is sent only after the vote is committed.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_login import current_user
from flask_socketio import emit

from core.clock import now
from core.db import as_id, db
from core.errors import ApiError
from core.extensions import socketio
from core.i18n import gettext as _
from core.realtime import room_kind
from series.votes import services, tally


def _send_tally(poll_id: int) -> None:
    poll = services.get_poll(db.session, poll_id)
    if poll is not None:
        emit("tally", tally.payload(db.session, poll, now()))
        tally.watch_close(poll)


@room_kind("poll", on_join=_send_tally)
def may_follow_poll(poll_id: int) -> bool:
    """A poll the caller may see."""
    return services.get_visible_poll(db.session, poll_id, current_user, now()) is not None


@socketio.on("vote")
def on_vote(data: Any) -> dict[str, Any]:
    """Vote over the socket: the same rules and answers as POST /api/v1/polls/{id}/votes."""
    from series.votes.api import vote_and_count

    # This unit of work writes: on SQLite it takes the write lock up front (core.db).
    g.writes_expected = True
    if not current_user.is_authenticated:
        return {
            "status": 401,
            "error": "login_required",
            "message": _("Connectez-vous pour voter."),
        }
    if not isinstance(data, dict) or not as_id(data.get("poll")):
        return {"status": 400, "error": "invalid_body", "message": _("Indiquez le sondage.")}
    try:
        status, body = vote_and_count(data["poll"], data.get("option"), data.get("key"))
    except ApiError as error:
        db.session.rollback()
        return {"status": error.status, "error": error.code, "message": str(error.message)}
    finally:
        db.session.close()
    return {"status": status, **body}
