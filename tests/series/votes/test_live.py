"""Socket.IO: `join {"poll"}` sends the tally, `vote` acks like the HTTP API, tallies are
coalesced to at most 4 a second, and the live counters are checked against the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from core import counters
from series.votes import services, tally
from tests.series.votes.conftest import new_key, options_of
from tests.support.clock import Clock


def tallies(sio: Any) -> list[dict[str, Any]]:
    return [m["args"][0] for m in sio.get_received() if m["name"] == "tally"]


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_join_sends_the_tally_and_votes_over_the_socket_ack_like_http(
    client: Any,
    socketio_client: Callable[..., Any],
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
):
    poll = make_poll()
    yes, no = options_of(client, poll)
    watcher = socketio_client()
    assert watcher.emit("join", {"poll": poll}, callback=True) == {"ok": True}
    assert tallies(watcher) == [
        {"poll": poll, "state": "open", "counts": {str(yes): 0, str(no): 0}, "total": 0}
    ]
    headers = voter()
    sio = socketio_client(auth={"token": token_of(headers)})
    key = new_key()
    ack = sio.emit("vote", {"poll": poll, "option": yes, "key": key}, callback=True)
    assert ack["status"] == 201
    assert ack["option"] == yes
    assert ack["receipt"]
    replay = sio.emit("vote", {"poll": poll, "option": yes, "key": key}, callback=True)
    assert replay["status"] == 200
    assert replay["receipt"] == ack["receipt"]
    second = sio.emit("vote", {"poll": poll, "option": no, "key": new_key()}, callback=True)
    assert second["status"] == 409
    assert second["error"] == "already_voted"
    assert tallies(watcher)[-1]["counts"] == {str(yes): 1, str(no): 0}
    # The HTTP API sees the socket's vote as its own.
    http = client.post(
        f"/api/v1/polls/{poll}/votes", json={"option": yes, "key": key}, headers=headers
    )
    assert http.status_code == 200
    assert http.get_json()["receipt"] == ack["receipt"]


def test_socket_refusals_carry_a_status_and_reason(
    socketio_client: Callable[..., Any],
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
    client: Any,
):
    poll = make_poll(opens_in=600)
    option = options_of(client, poll)[0]
    anonymous = socketio_client()
    refused = anonymous.emit(
        "vote", {"poll": poll, "option": option, "key": new_key()}, callback=True
    )
    assert refused["status"] == 401
    sio = socketio_client(auth={"token": token_of(voter())})
    early = sio.emit("vote", {"poll": poll, "option": option, "key": new_key()}, callback=True)
    assert early == {"status": 403, "error": "poll_not_open", "message": early["message"]}
    assert sio.emit("vote", {"option": option}, callback=True)["status"] == 400
    assert (
        sio.emit("vote", {"poll": 99999, "option": 1, "key": new_key()}, callback=True)["status"]
        == 404
    )
    assert sio.emit("join", {"poll": 99999}, callback=True)["ok"] is False


def test_hidden_results_send_no_counts(
    client: Any, socketio_client: Callable[..., Any], make_poll: Callable[..., int]
):
    poll = make_poll(results="at_close")
    sio = socketio_client()
    sio.emit("join", {"poll": poll}, callback=True)
    (sent,) = tallies(sio)
    assert sent["counts"] == {}
    assert sent["total"] is None
    assert sent["hidden"] is True


def test_live_counters_are_corrected_by_the_database_at_close(
    app: Flask,
    db: Any,
    client: Any,
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
    clock: Clock,
):
    poll_id = make_poll(lasts=60)
    yes, no = options_of(client, poll_id)
    for option in (yes, yes, no):
        client.post(
            f"/api/v1/polls/{poll_id}/votes",
            json={"option": option, "key": new_key()},
            headers=voter(),
        )
    with app.app_context():
        poll = services.get_poll(db.session, poll_id)
        assert poll is not None
        assert tally.live_counts(db.session, poll) == {yes: 2, no: 1}
        # A process died between a commit and its count: the live tally lags by one.
        counters.incr(f"poll:{poll_id}:option:{yes}", -1)
        assert tally.live_counts(db.session, poll) == {yes: 1, no: 1}
    clock.advance(seconds=61)
    final = client.get(f"/api/v1/polls/{poll_id}").get_json()
    assert final["counts"] == {str(yes): 2, str(no): 1}
    with app.app_context():
        poll = services.get_poll(db.session, poll_id)
        assert poll is not None
        assert tally.live_counts(db.session, poll) == {yes: 2, no: 1}


def test_the_final_tally_is_pushed_at_close_with_the_winner(
    client: Any,
    socketio_client: Callable[..., Any],
    voter: Callable[..., dict[str, str]],
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
    make_poll: Callable[..., int],
):
    poll = make_poll()
    yes, _no = options_of(client, poll)
    client.post(
        f"/api/v1/polls/{poll}/votes", json={"option": yes, "key": new_key()}, headers=voter()
    )
    watcher = socketio_client()
    watcher.emit("join", {"poll": poll}, callback=True)
    tallies(watcher)
    editor = {"Authorization": f"Bearer {make_token(make_user('chef@example.org', role='editor'))}"}
    assert client.post(f"/api/v1/polls/{poll}/close", headers=editor).status_code == 200
    (final,) = tallies(watcher)
    assert final["state"] == "closed"
    assert final["winner"] == yes
    assert final["total"] == 1
