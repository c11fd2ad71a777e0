"""Fixtures of polls: a clock the test moves, voters with tokens, polls made by services."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A clock the test moves; tallies pushed at once (no coalescing thread) unless a test
    sets POLL_TALLY_INTERVAL itself."""
    return app_config | {"CLOCK": clock, "POLL_TALLY_INTERVAL": 0}


@pytest.fixture
def voter(
    make_user: Callable[..., Any], make_token: Callable[[Any], str]
) -> Callable[..., dict[str, str]]:
    """Factory: the Authorization header of a new viewer."""

    def factory(role: str = "viewer") -> dict[str, str]:
        user = make_user(f"votant-{uuid.uuid4().hex[:8]}@example.org", role=role)
        return {"Authorization": f"Bearer {make_token(user)}"}

    return factory


@pytest.fixture
def make_poll(app: Flask, db: Any, clock: Clock) -> Callable[..., int]:
    """Factory: a poll open from now (by default) for a day; returns its id."""
    from series.votes import services
    from series.votes.models import PollScope, ResultsShown

    def factory(
        options: tuple[str, ...] = ("Oui", "Non"),
        results: str = "live",
        opens_in: float | None = 0,
        lasts: float | None = 86400,
        episode_id: int | None = None,
        is_ending: bool = False,
    ) -> int:
        with app.app_context():
            from series.models import Episode

            episode = db.session.get(Episode, episode_id) if episode_id else None
            opens = clock.now + dt.timedelta(seconds=opens_in) if opens_in is not None else None
            poll = services.create_poll(
                db.session,
                question="Votre avis ?",
                options=list(options),
                scope=PollScope.EPISODE if episode else PollScope.SITE,
                episode=episode,
                is_ending=is_ending,
                results=ResultsShown(results),
                opens_at=opens,
                closes_at=opens + dt.timedelta(seconds=lasts) if opens and lasts else None,
            )
            db.session.commit()
            return poll.id

    return factory


def options_of(client: Any, poll_id: int, headers: dict[str, str] | None = None) -> list[int]:
    body = client.get(f"/api/v1/polls/{poll_id}", headers=headers or {}).get_json()
    return [o["id"] for o in body["options"]]


def new_key() -> str:
    return str(uuid.uuid4())
