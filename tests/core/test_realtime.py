"""Realtime hub: authentication on connect, rooms, and delivery across processes via Redis."""

from __future__ import annotations

import os
import queue

import pytest
import socketio

from tests.support.live import live_environment


def test_anonymous_visitors_connect(socketio_client):
    client = socketio_client()
    assert client.is_connected()


def test_a_valid_token_authenticates_the_socket(socketio_client, pilot, make_user, make_token):
    editor = make_user(role="editor")
    client = socketio_client(auth={"token": make_token(editor)})
    assert client.is_connected()
    # Only an editor may follow an unreleased episode: the token's user is known.
    assert client.emit("join", {"episode": pilot[6]}, callback=True) == {"ok": True}


def test_an_invalid_token_is_refused_on_connect(socketio_client):
    client = socketio_client(auth={"token": "xna_forged"})
    assert not client.is_connected()


def test_the_browser_session_authenticates_the_socket(socketio_client, auth, pilot, make_user):
    editor = make_user(role="editor")
    auth.login(editor.email)
    client = socketio_client()
    assert client.emit("join", {"episode": pilot[6]}, callback=True) == {"ok": True}


def test_join_acknowledges_and_sends_presence_to_the_room(socketio_client, pilot):
    client = socketio_client()
    assert client.emit("join", {"episode": pilot[1]}, callback=True) == {"ok": True}
    received = client.get_received()
    presence = [m["args"][0] for m in received if m["name"] == "presence"]
    assert presence == [{"episode": pilot[1], "watching": 1}]


def test_an_unreleased_episode_cannot_be_followed_by_a_viewer(socketio_client, pilot):
    client = socketio_client()
    ack = client.emit("join", {"episode": pilot[6]}, callback=True)
    assert ack["ok"] is False
    assert ack["error"] == "not_found"
    assert client.get_received() == []


@pytest.mark.parametrize(
    "payload",
    [None, "episode", {"episode": "1"}, {"nope": 1}, {"episode": 1, "poll": 2}, {"episode": True}],
)
def test_malformed_joins_get_a_reason(socketio_client, seeded, payload):
    client = socketio_client()
    ack = client.emit("join", payload, callback=True)
    assert ack["ok"] is False
    assert ack["error"] == "invalid"
    assert ack["message"]


@pytest.mark.live
def test_an_emit_from_one_server_process_reaches_a_client_of_another(tmp_path, live_redis_url):
    postgres = os.environ.get("DATABASE_URL")
    with live_environment(tmp_path, live_redis_url, postgres) as live:
        live.experts(
            "users",
            "create",
            "fan@example.org",
            "--role",
            "viewer",
            "--password-stdin",
            stdin="un secret assez long\n",
        )
        token = live.experts("users", "token", "fan@example.org").stdout.strip()
        server_a, server_b = live.serve(), live.serve()
        events: queue.Queue[dict] = queue.Queue()
        on_a, on_b = socketio.Client(), socketio.Client()
        on_a.on("presence", events.put)
        try:
            on_a.connect(server_a, auth={"token": token}, transports=["websocket"])
            assert on_a.call("join", {"episode": 1}, timeout=5) == {"ok": True}
            assert events.get(timeout=5) == {"episode": 1, "watching": 1}
            on_b.connect(server_b, transports=["websocket"])
            assert on_b.call("join", {"episode": 1}, timeout=5) == {"ok": True}
            # Only process B emitted this one; it reached A's client through Redis.
            assert events.get(timeout=5) == {"episode": 1, "watching": 2}
            on_b.disconnect()
            assert events.get(timeout=5) == {"episode": 1, "watching": 1}
        finally:
            on_a.disconnect()
            on_b.disconnect()
