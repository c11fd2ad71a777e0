"""Concurrent votes through real requests on a database of their own (SQLite or PostgreSQL, as
the run): 100 duplicate submissions make one vote; a crowd's votes are all counted; the live
tally is pushed at most 4 times a second and its last push is right."""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from core.app import create_app
from core.db import db as database
from series.votes import services
from series.votes.models import Ballot, PollScope
from tests.series.clues.test_concurrency import tokens_for
from tests.support.concurrency import in_threads
from tests.support.databases import migrated_database

DUPLICATES = 100


@pytest.fixture
def server(tmp_path: Path, database_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on a migrated database of its own, requests committing for real."""
    postgres = None if database_url.startswith("sqlite") else database_url
    with migrated_database(tmp_path, postgres) as url:
        # The real clock: votes and the coalescing thread run in real time.
        config = {k: v for k, v in app_config.items() if k != "CLOCK"}
        config["SQLALCHEMY_DATABASE_URI"] = url
        # No settling thread outliving a test (and its disposed engine) unless a test asks.
        config["POLL_SETTLE_AFTER"] = 0
        flask_app = create_app(config)
        yield flask_app
        database.registry.remove()
        assert database.engine is not None
        database.engine.dispose()


def open_poll(app: Flask) -> tuple[int, list[int]]:
    with app.app_context():
        now = dt.datetime.now(dt.UTC)
        poll = services.create_poll(
            database.session,
            question="Quelle fin ?",
            options=["A", "B", "C"],
            scope=PollScope.SITE,
            opens_at=now - dt.timedelta(seconds=1),
            closes_at=now + dt.timedelta(hours=1),
        )
        database.session.commit()
        return poll.id, [o.id for o in poll.options]


def ballots(app: Flask, poll_id: int) -> list[tuple[int, int]]:
    with app.app_context():
        rows = database.session.execute(
            sa.select(Ballot.user_id, Ballot.option_id).where(Ballot.poll_id == poll_id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_hundred_concurrent_duplicates_make_one_vote(server: Flask):
    poll_id, options = open_poll(server)
    token = tokens_for(server, 1)[0]
    key = str(uuid.uuid4())

    def same_key(index: int) -> tuple[int, dict[str, Any]]:
        with server.test_client() as client:
            answer = client.post(
                f"/api/v1/polls/{poll_id}/votes",
                json={"option": options[0], "key": key},
                headers={"Authorization": f"Bearer {token}"},
            )
            return answer.status_code, answer.get_json()

    results = in_threads(DUPLICATES, same_key)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (DUPLICATES - 1) + [201]
    assert len({body["receipt"] for _, body in results}) == 1
    assert len(ballots(server, poll_id)) == 1


def test_a_hundred_concurrent_different_votes_of_one_account_make_one_vote(server: Flask):
    poll_id, options = open_poll(server)
    token = tokens_for(server, 1)[0]

    def other_keys(index: int) -> int:
        with server.test_client() as client:
            return client.post(
                f"/api/v1/polls/{poll_id}/votes",
                json={"option": options[index % 3], "key": str(uuid.uuid4())},
                headers={"Authorization": f"Bearer {token}"},
            ).status_code

    statuses = sorted(in_threads(DUPLICATES, other_keys))
    assert statuses == [201] + [409] * (DUPLICATES - 1)
    assert len(ballots(server, poll_id)) == 1


def test_a_crowd_votes_at_once_every_vote_counted_and_tallies_coalesced(server: Flask):
    from core.extensions import socketio

    server.config["POLL_TALLY_INTERVAL"] = 0.25
    poll_id, options = open_poll(server)
    tokens = tokens_for(server, 60)
    watcher = socketio.test_client(server)
    assert watcher.emit("join", {"poll": poll_id}, callback=True) == {"ok": True}
    watcher.get_received()

    def crowd(index: int) -> int:
        with server.test_client() as client:
            return client.post(
                f"/api/v1/polls/{poll_id}/votes",
                json={"option": options[index % 3], "key": str(uuid.uuid4())},
                headers={"Authorization": f"Bearer {tokens[index]}"},
            ).status_code

    started = time.monotonic()
    assert in_threads(60, crowd) == [201] * 60
    elapsed = time.monotonic() - started
    time.sleep(0.8)  # the trailing push comes within an interval of the last vote
    sent = [m["args"][0] for m in watcher.get_received() if m["name"] == "tally"]
    watcher.disconnect()
    assert sent[-1]["total"] == 60
    assert sent[-1]["counts"] == {str(o): 20 for o in options}
    # One push per interval at most (plus the leading one), whatever the rate of votes.
    assert len(sent) <= math.ceil((elapsed + 0.8) / 0.25) + 1
    assert len(ballots(server, poll_id)) == 60


def test_a_process_that_died_holding_the_push_lock_does_not_freeze_the_tally(server: Flask):
    from core import counters
    from core.extensions import socketio

    server.config["POLL_TALLY_INTERVAL"] = 0.25
    poll_id, options = open_poll(server)
    token = tokens_for(server, 1)[0]
    watcher = socketio.test_client(server)
    watcher.emit("join", {"poll": poll_id}, callback=True)
    watcher.get_received()
    with server.app_context():
        # Another process took the push lock, then was killed before pushing.
        assert counters.try_lock(f"poll-push:{poll_id}", ttl=0.25)
    with server.test_client() as client:
        answer = client.post(
            f"/api/v1/polls/{poll_id}/votes",
            json={"option": options[1], "key": str(uuid.uuid4())},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201
    time.sleep(0.8)  # the dead lock expires after one interval; this process pushes then
    sent = [m["args"][0] for m in watcher.get_received() if m["name"] == "tally"]
    watcher.disconnect()
    assert sent, "no tally pushed after the lock holder died"
    assert sent[-1]["total"] == 1


def test_counters_short_of_a_vote_settle_to_the_database_once_the_poll_is_quiet(
    server: Flask,
):
    from core import counters
    from core.extensions import socketio
    from series.votes import tally

    server.config["POLL_TALLY_INTERVAL"] = 0.25
    server.config["POLL_SETTLE_AFTER"] = 0.5
    poll_id, options = open_poll(server)
    token = tokens_for(server, 1)[0]
    watcher = socketio.test_client(server)
    watcher.emit("join", {"poll": poll_id}, callback=True)
    with server.test_client() as client:
        answer = client.post(
            f"/api/v1/polls/{poll_id}/votes",
            json={"option": options[0], "key": str(uuid.uuid4())},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201
    with server.app_context():
        # As if the process that committed this vote died before counting it.
        counters.incr(f"poll:{poll_id}:option:{options[0]}", -1)
    time.sleep(1.5)  # quiet for longer than POLL_SETTLE_AFTER
    sent = [m["args"][0] for m in watcher.get_received() if m["name"] == "tally"]
    watcher.disconnect()
    assert sent[-1]["total"] == 1
    with server.app_context():
        poll = services.get_poll(database.session, poll_id)
        assert poll is not None
        assert tally.live_counts(database.session, poll) == {
            options[0]: 1,
            options[1]: 0,
            options[2]: 0,
        }
