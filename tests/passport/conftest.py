"""Fixtures of the passport: a clock the test moves, the seeded places, a visitor's stamps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from passport.models import FilmingLocation
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    return app_config | {"CLOCK": clock}


@pytest.fixture
def places(app: Flask, seeded: Any) -> dict[str, int]:
    """Slug -> id of the seeded filming locations."""
    with app.app_context():
        rows = seeded.session.execute(sa.select(FilmingLocation.slug, FilmingLocation.id))
        return {row[0]: row[1] for row in rows}


@pytest.fixture
def tourist(
    client: Any, make_user: Callable[..., Any], make_token: Callable[[Any], str], clock: Clock
) -> Callable[..., Any]:
    """Factory: a visitor's stamp request (a fix taken now unless `at` is given)."""
    headers = {"Authorization": f"Bearer {make_token(make_user('touriste@example.org'))}"}

    def stamp(location: int, at: dt.datetime | None = None, **body: Any) -> Any:
        when = (at or clock.now).isoformat()
        return client.post(
            "/api/v1/passport/stamps",
            json={"location": location, "at": when} | body,
            headers=headers,
        )

    return stamp
