"""A crawl of every route as a visitor and as a viewer: no clue position or answer before the
find, in any page, API answer, track or Socket.IO message. Once found, the finder sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from series.episodes.hotspot_models import Hotspot
from series.episodes.hotspots import create_hotspot
from series.models import Episode
from tests.conftest import csrf_token

#: A clue with numbers and words found nowhere else.
TITLE = "Le mégot à la menthe poivrée"
TEXT = "Une trace de rouge à lèvres framboise sur le filtre"
KEYFRAMES = [
    {"t": 3.0, "x": 37.125, "y": 61.375, "w": 11.625, "h": 13.875},
    {"t": 9.0, "x": 41.625, "y": 57.875, "w": 11.625, "h": 13.875},
]
SECRETS = [TITLE, TEXT, "37.125", "61.375", "11.625", "13.875", "41.625", "57.875"]


def add_secret_clues(app: Flask, db: Any, pilot: dict[int, int]) -> dict[int, int]:
    """The distinctive clue in a released episode (2) and an unreleased one (5)."""
    ids = {}
    with app.app_context():
        for number in (2, 5):
            episode = db.session.get(Episode, pilot[number])
            clue = create_hotspot(
                db.session,
                episode,
                {
                    "kind": "clue",
                    "start": 3.0,
                    "end": 9.0,
                    "label": "Le cendrier",
                    "keyframes": KEYFRAMES,
                    "data": {"title": TITLE, "text": TEXT, "points": 100},
                },
            )
            ids[number] = clue.id
        db.session.commit()
    return ids


_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def urls(app: Flask, db: Any, pilot: dict[int, int]) -> Iterator[str]:
    """Every GET route, its parameters filled with every value that exists."""
    with app.app_context():
        hotspots = list(db.session.scalars(sa.select(Hotspot.id)))
    values: dict[str, list[Any]] = {
        "episode_id": list(pilot.values()),
        "hotspot_id": hotspots,
        "number": [1, 2],
        "lang": ["fr", "en"],
    }
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        names = [m["name"] for m in _PARAM.finditer(rule.rule)]
        combos: list[dict[str, Any]] = [{}]
        for name in names:
            combos = [c | {name: v} for c in combos for v in values.get(name, [1, "x"])]
        for combo in combos:
            path = _PARAM.sub(lambda m, c=combo: str(c[m["name"]]), rule.rule)
            yield path
            if path.startswith("/api/v1/"):
                for query in ("?season=1", f"?episode={pilot[2]}", "?t=5", "?state=open"):
                    yield path + query
    for t in (2.9, 3.0, 5.0, 8.5, 9.0):
        yield f"/api/v1/episodes/{pilot[2]}/scene?t={t}"
    yield f"/enquete/classement?episode={pilot[2]}"
    yield "/enquete/classement?saison=1"


def crawl(client: FlaskClient, app: Flask, db: Any, pilot: dict[int, int]) -> dict[str, str]:
    seen = {}
    for url in sorted(set(urls(app, db, pilot))):
        response = client.get(url)
        # Images (the passport's share card) are read too, as text where they hold any.
        seen[url] = response.get_data().decode("utf-8", errors="replace")
        response.close()
    return seen


def leaks(pages: dict[str, str]) -> list[tuple[str, str]]:
    return [(url, secret) for url, text in pages.items() for secret in SECRETS if secret in text]


def test_no_route_gives_a_clue_away_before_it_is_found(
    app: Flask, db, client, auth, make_user, pilot, socketio_client
):
    clue_ids = add_secret_clues(app, db, pilot)
    # Anonymous first, then a signed-in viewer who has played (found another clue).
    anonymous = crawl(app.test_client(), app, db, pilot)
    assert len(anonymous) > 150
    # The crawl reached the pages that could leak: the episode, its API, the examine list.
    assert "Panique à Poitiers" in anonymous[f"/episodes/{pilot[2]}"]
    assert '"hotspots"' in anonymous[f"/api/v1/episodes/{pilot[2]}"]
    assert "Le cendrier" in anonymous[f"/api/v1/episodes/{pilot[2]}/scene?t=5.0"]
    assert leaks(anonymous) == []
    make_user("viewer@example.org", display_name="Viewer")
    auth.login("viewer@example.org")
    token = csrf_token(client)
    other = client.post(
        f"/api/v1/episodes/{pilot[1]}/clue-claims",
        json={"t": 8.0, "x": 79.0, "y": 72.0},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert other["found"] is True
    # Near misses at the right moment say nothing of where the clue is.
    for x, y in ((30.0, 60.0), (55.0, 70.0), (43.0, 50.0)):
        missed = client.post(
            f"/api/v1/episodes/{pilot[2]}/clue-claims",
            json={"t": 5.0, "x": x, "y": y},
            headers={"X-CSRFToken": token},
        )
        assert missed.get_json() == {"found": False}
    viewer = crawl(client, app, db, pilot)
    assert leaks(viewer) == []
    # Socket.IO: rooms of the episodes and leaderboards carry no clue either.
    socket = socketio_client()
    for room in ({"episode": pilot[2]}, {"leaderboard": 1}, {"leaderboard-episode": pilot[2]}):
        socket.emit("join", room, callback=True)
    assert not any(s in str(socket.get_received()) for s in SECRETS)
    # The unreleased episode's clue cannot be claimed at all; the released one can, and then
    # (only then) its finder sees it.
    unreleased = client.post(
        f"/api/v1/episodes/{pilot[5]}/clue-claims",
        json={"t": 5.0, "x": 43.0, "y": 67.0},
        headers={"X-CSRFToken": token},
    )
    assert unreleased.status_code == 404
    found = client.post(
        f"/api/v1/episodes/{pilot[2]}/clue-claims",
        json={"t": 5.0, "x": 43.0, "y": 67.0},
        headers={"X-CSRFToken": token},
    ).get_json()
    assert found["found"] is True
    assert found["clue"]["id"] == clue_ids[2]
    assert TITLE in client.get("/enquete/carnet").get_data(as_text=True)
    # A crawl by someone else still finds nothing.
    assert leaks(crawl(app.test_client(), app, db, pilot)) == []
