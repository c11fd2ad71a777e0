"""Baseline of bench/vote_storm.py: a bare Flask-SocketIO server (gevent) counting in memory.

Usage: python bench/_storm_bare.py --port P --poll ID --options 1,2,3

The same protocol as `experts serve` for one poll: connect with `auth={"token": ...}` (any
token is an account), `join {"poll": id}` → tally then ack `{"ok": true}`, `vote` → ack
`{"status": 201|200|409|422, ...}` (one vote per token, the same key replayed answers 200 with
the same receipt). Tallies go to the room coalesced like series/votes/tally.py: the first vote
of a quiet poll at once, then at most one push per interval, the last after the last vote.
No database, no Redis, no authentication lookups: what Socket.IO alone costs.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402

INTERVAL = 0.25
app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", logger=False, engineio_logger=False)
state: dict[str, Any] = {"poll": 0, "dirty": 0, "pushing": False}
counts: dict[int, int] = {}
accounts: dict[str, str] = {}  # sid -> token
ballots: dict[str, tuple[int, str, str]] = {}  # token -> (option, key, cast_at)


def payload() -> dict[str, Any]:
    return {
        "poll": state["poll"],
        "state": "open",
        "counts": {str(k): v for k, v in counts.items()},
        "total": sum(counts.values()),
    }


def receipt(token: str, key: str) -> str:
    return hmac.new(b"bare-secret", f"{token}:{key}".encode(), hashlib.sha256).hexdigest()[:32]


def pusher() -> None:
    while True:
        seen = state["dirty"]
        socketio.emit("tally", payload(), to=f"poll:{state['poll']}")
        socketio.sleep(INTERVAL)
        if state["dirty"] == seen:
            break
    state["pushing"] = False


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@socketio.on("connect")
def on_connect(auth: Any = None) -> bool:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not token:
        return False
    accounts[request.sid] = str(token)  # type: ignore[attr-defined]
    return True


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    accounts.pop(request.sid, None)  # type: ignore[attr-defined]


@socketio.on("join")
def on_join(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("poll") != state["poll"]:
        return {"ok": False, "error": "not_found"}
    join_room(f"poll:{state['poll']}")
    emit("tally", payload())
    return {"ok": True}


@socketio.on("vote")
def on_vote(data: Any) -> dict[str, Any]:
    token = accounts.get(request.sid)  # type: ignore[attr-defined]
    if token is None or not isinstance(data, dict) or data.get("poll") != state["poll"]:
        return {"status": 403, "error": "refused"}
    key, option = str(data.get("key")), data.get("option")
    existing = ballots.get(token)
    if existing is not None:
        if existing[1] != key:
            return {"status": 409, "error": "already_voted"}
        option, _key, cast_at = existing
        body = {"option": option, "key": key, "receipt": receipt(token, key), "cast_at": cast_at}
        return {"status": 200, "poll": state["poll"], **body, "replayed": True}
    if not isinstance(option, int) or option not in counts:
        return {"status": 422, "error": "invalid_option"}
    cast_at = dt.datetime.now(dt.UTC).isoformat()
    ballots[token] = (option, key, cast_at)
    counts[option] += 1
    state["dirty"] += 1
    if not state["pushing"]:
        state["pushing"] = True
        socketio.start_background_task(pusher)
    body = {"option": option, "key": key, "receipt": receipt(token, key), "cast_at": cast_at}
    return {"status": 201, "poll": state["poll"], **body, "replayed": False}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--poll", type=int, required=True)
    parser.add_argument("--options", required=True, help="comma-separated option ids")
    args = parser.parse_args()
    state["poll"] = args.poll
    counts.update({int(o): 0 for o in args.options.split(",")})
    socketio.run(app, host="127.0.0.1", port=args.port, log_output=False, use_reloader=False)


if __name__ == "__main__":
    main()
