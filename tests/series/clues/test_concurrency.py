"""Concurrent claims through real requests on a database of their own (SQLite or PostgreSQL,
as the run): one find per player and clue, ranks 1…N without gaps, consistent points and ranks.

The test fixtures' single rolled-back connection cannot be shared between threads, so these
tests migrate a database of their own and run the app on it as a server would: every request
in its own thread, session and transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from core.app import create_app
from core.db import db as database
from series.clues import scoring
from series.clues.models import ClueCounter, ClueFind
from series.episodes.hotspot_models import Hotspot
from series.models import Episode, Season
from tests.series.clues.conftest import Clock, centre
from tests.support.concurrency import in_threads
from tests.support.databases import migrated_database

THREADS = 50


@pytest.fixture
def own_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """A migrated database of its own on the run's backend."""
    postgres = None if database_url.startswith("sqlite") else database_url
    with migrated_database(tmp_path, postgres) as url:
        yield url


@pytest.fixture
def server(own_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on its own database, seeded, with requests committing for real."""
    flask_app = create_app(app_config | {"SQLALCHEMY_DATABASE_URI": own_url})
    with flask_app.app_context():
        from core.seed import seed_demo

        seed_demo()
    yield flask_app
    database.registry.remove()
    assert database.engine is not None
    database.engine.dispose()


def tokens_for(app: Flask, count: int) -> list[str]:
    """Bearer tokens of `count` new viewers."""
    from core.accounts.models import Role
    from core.accounts.services import create_user, issue_api_token

    tokens = []
    with app.app_context():
        for index in range(count):
            user = create_user(
                database.session,
                f"joueur-{index}-{uuid.uuid4().hex[:6]}@example.org",
                None,
                display_name=f"Joueur {index:02d}",
            )
            user.role = Role.VIEWER
            database.session.flush()
            tokens.append(issue_api_token(database.session, user, "test")[1])
        database.session.commit()
    return tokens


def first_clue(app: Flask) -> tuple[int, dict[str, Any]]:
    with app.app_context():
        episode = database.session.scalar(
            sa.select(Episode).join(Season).where(Season.number == 1, Episode.number == 1)
        )
        assert episode is not None
        clue = database.session.scalar(
            sa.select(Hotspot)
            .where(Hotspot.episode_id == episode.id, Hotspot.kind == "clue")
            .order_by(Hotspot.start_s)
        )
        assert clue is not None
        return episode.id, {"id": clue.id, "keyframes": clue.keyframes, "data": clue.data}


def test_fifty_concurrent_claims_of_one_clue_by_one_player_make_one_find(
    server: Flask, clock: Clock
):
    episode_id, clue = first_clue(server)
    token = tokens_for(server, 1)[0]
    x, y = centre(clue, 8.0)

    def work(_index: int) -> Any:
        response = server.test_client().post(
            f"/api/v1/episodes/{episode_id}/clue-claims",
            json={"t": 8.0, "x": x, "y": y},
            headers={"Authorization": f"Bearer {token}"},
        )
        return response.status_code, response.get_json()

    results = in_threads(THREADS, work)
    assert {status for status, _ in results} == {200}
    assert all(body["found"] for _, body in results)
    assert sum(1 for _, body in results if not body["already"]) == 1
    assert {body["clue"]["rank"] for _, body in results} == {1}
    with server.app_context():
        assert (
            database.session.scalar(
                sa.select(sa.func.count()).where(ClueFind.hotspot_id == clue["id"])
            )
            == 1
        )
        counter = database.session.get(ClueCounter, clue["id"])
        assert counter is not None
        assert counter.finders == 1


def test_fifty_players_claiming_at_once_get_consistent_points_and_ranks(
    server: Flask, clock: Clock
):
    episode_id, clue = first_clue(server)
    tokens = tokens_for(server, THREADS)
    x, y = centre(clue, 8.0)
    base = clue["data"]["points"]

    def work(index: int) -> Any:
        response = server.test_client().post(
            f"/api/v1/episodes/{episode_id}/clue-claims",
            json={"t": 8.0, "x": x, "y": y},
            headers={"Authorization": f"Bearer {tokens[index]}"},
        )
        return response.status_code, response.get_json()

    results = in_threads(THREADS, work)
    assert {status for status, _ in results} == {200}
    ranks = sorted(body["clue"]["rank"] for _, body in results)
    assert ranks == list(range(1, THREADS + 1))  # one finder per rank, no gap
    for _, body in results:
        assert body["clue"]["points"] == scoring.find_points(base, body["clue"]["rank"])
    with server.app_context():
        stored = database.session.execute(
            sa.select(ClueFind.rank, ClueFind.points).where(ClueFind.hotspot_id == clue["id"])
        ).all()
        assert sorted(r for r, _ in stored) == list(range(1, THREADS + 1))
        assert database.session.get(ClueCounter, clue["id"]).finders == THREADS
    # The leaderboards agree with the finds: same order, same points, ranks 1…50.
    client = server.test_client()
    for query in (f"episode={episode_id}", "season=1", ""):
        board = client.get(f"/api/v1/leaderboard?{query}&limit=200").get_json()
        assert [e["rank"] for e in board] == list(range(1, THREADS + 1))
        points = [e["points"] for e in board]
        assert points == sorted(points, reverse=True)
        assert sorted(points) == sorted(scoring.find_points(base, r) for r in ranks)
        by_token_rank = {body["clue"]["rank"]: body["clue"]["points"] for _, body in results}
        assert points == [by_token_rank[r] for r in range(1, THREADS + 1)]
