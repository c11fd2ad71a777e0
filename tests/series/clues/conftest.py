"""Fixtures of the clue game: a clock the test moves, players with tokens, the demo clues."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from series.episodes.hotspot_models import Hotspot
from tests.support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A clock the test moves; leaderboard pushes sent at once (no coalescing thread)."""
    return app_config | {"CLOCK": clock, "LEADERBOARD_PUSH_INTERVAL": 0}


@dataclass
class Demo:
    """Ids of the seeded pilot: episode number -> id, and its clues by episode number."""

    episodes: dict[int, int]
    clues: dict[int, list[dict[str, Any]]]

    def clue(self, episode: int, index: int = 0) -> dict[str, Any]:
        return self.clues[episode][index]


@pytest.fixture
def demo(app: Flask, db: Any, pilot: dict[int, int]) -> Demo:
    """The seeded pilot and its clues (id, start, end, keyframes, data)."""
    clues: dict[int, list[dict[str, Any]]] = {}
    with app.app_context():
        for number, episode_id in pilot.items():
            rows = db.session.scalars(
                sa.select(Hotspot)
                .where(Hotspot.episode_id == episode_id, Hotspot.kind == "clue")
                .order_by(Hotspot.start_s)
            ).all()
            clues[number] = [
                {
                    "id": h.id,
                    "start": h.start_s,
                    "end": h.end_s,
                    "keyframes": h.keyframes,
                    "data": dict(h.data),
                    "label": h.label,
                }
                for h in rows
            ]
    return Demo(pilot, clues)


@pytest.fixture
def player_headers(
    make_user: Callable[..., Any], make_token: Callable[[Any], str]
) -> Callable[..., dict[str, str]]:
    """Factory: bearer headers of a new viewer (display name given or made up)."""

    def factory(name: str | None = None, role: str = "viewer") -> dict[str, str]:
        user = make_user(role=role, display_name=name or "Joueur")
        return {"Authorization": f"Bearer {make_token(user)}"}

    return factory


def centre(clue: dict[str, Any], t: float) -> tuple[float, float]:
    """The centre of a clue's box at t (the server's own interpolation)."""
    from series.episodes.hotspots import box_at

    box = box_at(clue["keyframes"], t)
    return box["x"] + box["w"] / 2, box["y"] + box["h"] / 2
