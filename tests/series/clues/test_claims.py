"""Claims: judged by the server against the moving box, written once, abuse refused."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from series.clues import scoring
from series.clues.models import ClueCounter, ClueFind, EpisodeViewing
from series.clues.services import POSITION_TOLERANCE, WRONG_CLAIMS_PER_MINUTE
from series.episodes.hotspots import box_at
from tests.series.clues.conftest import Clock, Demo, centre


def claim(client: FlaskClient, episode_id: int, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/episodes/{episode_id}/clue-claims", json=body, headers=headers)


def test_a_hit_inside_the_moving_box_counts(client, demo: Demo, player_headers):
    """The ticket of episode 1 moves from x=70 (t=4) to x=76 (t=12): judged where it is at t."""
    headers = player_headers("Camille")
    clue = demo.clue(1)
    x, y = centre(clue, 10.0)
    response = claim(client, demo.episodes[1], headers, t=10.0, x=x, y=y)
    assert response.status_code == 200
    body = response.get_json()
    assert body["found"] is True
    assert body["already"] is False
    assert body["clue"]["id"] == clue["id"]
    assert body["clue"]["title"] == clue["data"]["title"]
    assert body["clue"]["text"] == clue["data"]["text"]
    assert body["clue"]["rank"] == 1
    assert body["clue"]["points"] == scoring.find_points(clue["data"]["points"], 1)


def test_the_box_is_judged_where_it_is_at_that_moment(client, demo: Demo, player_headers):
    headers = player_headers()
    clue = demo.clue(1)
    start, end = box_at(clue["keyframes"], 4.0), box_at(clue["keyframes"], 12.0)
    # Just right of the box at t=4, beyond the tolerance: nothing there then…
    x = start["x"] + start["w"] + POSITION_TOLERANCE + 0.5
    y = start["y"] + start["h"] / 2
    assert end["x"] <= x <= end["x"] + end["w"]  # …but the box has moved over it at t=12
    assert claim(client, demo.episodes[1], headers, t=4.0, x=x, y=y).get_json() == {"found": False}
    assert claim(client, demo.episodes[1], headers, t=12.0, x=x, y=y).get_json()["found"]


def test_just_outside_the_box_does_not_count(client, demo: Demo, player_headers):
    headers = player_headers()
    clue = demo.clue(1)
    box = box_at(clue["keyframes"], 8.0)
    outside = [
        (box["x"] - POSITION_TOLERANCE - 0.3, box["y"] + 1),  # left
        (box["x"] + box["w"] + POSITION_TOLERANCE + 0.3, box["y"] + 1),  # right
        (box["x"] + 1, box["y"] - POSITION_TOLERANCE - 0.3),  # above
        (box["x"] + 1, box["y"] + box["h"] + POSITION_TOLERANCE + 0.3),  # below
    ]
    for x, y in outside:
        assert claim(client, demo.episodes[1], headers, t=8.0, x=x, y=y).get_json() == {
            "found": False
        }
    # Right point, wrong moment: before the clue shows, and after it is gone.
    x, y = centre(clue, clue["start"])
    assert not claim(client, demo.episodes[1], headers, t=clue["start"] - 1, x=x, y=y).get_json()[
        "found"
    ]
    x, y = centre(clue, clue["end"])
    assert not claim(client, demo.episodes[1], headers, t=clue["end"] + 1, x=x, y=y).get_json()[
        "found"
    ]
    # Inside the tolerance still counts (a finger is not a mouse pointer).
    inside = claim(
        client,
        demo.episodes[1],
        headers,
        t=8.0,
        x=box["x"] - POSITION_TOLERANCE + 0.5,
        y=box["y"] + 1,
    )
    assert inside.get_json()["found"] is True


def test_a_second_claim_of_the_same_clue_is_not_written_again(
    app: Flask, db, client, demo: Demo, player_headers
):
    headers = player_headers()
    clue = demo.clue(1)
    x, y = centre(clue, 6.0)
    first = claim(client, demo.episodes[1], headers, t=6.0, x=x, y=y).get_json()
    again = claim(client, demo.episodes[1], headers, t=7.0, x=x, y=y).get_json()
    assert first["found"]
    assert again["found"]
    assert again["already"] is True
    assert again["clue"]["rank"] == first["clue"]["rank"]
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(ClueFind.hotspot_id == clue["id"]))
            == 1
        )
        assert db.session.get(ClueCounter, clue["id"]).finders == 1


def test_points_decay_with_earlier_finders_and_the_first_get_a_bonus(
    client, demo: Demo, player_headers
):
    clue = demo.clue(1, 1)  # the USB key, 150 points
    x, y = centre(clue, 18.0)
    earned = []
    for index in range(5):
        headers = player_headers(f"Joueur {index}")
        body = claim(client, demo.episodes[1], headers, t=18.0, x=x, y=y).get_json()
        earned.append((body["clue"]["rank"], body["clue"]["points"]))
    assert [rank for rank, _ in earned] == [1, 2, 3, 4, 5]
    assert [points for _, points in earned] == [
        scoring.find_points(150, rank) for rank in range(1, 6)
    ]
    assert earned[0][1] == 150 + 75  # the first finder: full value and half again
    assert earned[0][1] > earned[1][1] > earned[2][1] > earned[3][1] >= earned[4][1]


def test_the_scoring_formula():
    assert scoring.clue_value(100, 0) == 100
    assert scoring.clue_value(100, scoring.DECAY) == 20  # the minimum
    assert scoring.clue_value(100, 10 * scoring.DECAY) == 20
    assert scoring.clue_value(100, 50) == 80  # 100 − 80 × (½)²
    values = [scoring.clue_value(100, n) for n in range(120)]
    assert values == sorted(values, reverse=True)
    assert scoring.find_points(100, 1) == 150
    assert scoring.find_points(100, 2) == 130
    assert scoring.find_points(100, 3) == 110
    assert scoring.find_points(100, 4) == 100


def test_the_eleventh_wrong_claim_in_a_minute_gets_429(
    client, clock: Clock, demo: Demo, player_headers
):
    headers = player_headers()
    for _ in range(WRONG_CLAIMS_PER_MINUTE):
        response = claim(client, demo.episodes[1], headers, t=1.0, x=1.0, y=99.0)
        assert response.status_code == 200
        assert response.get_json() == {"found": False}
    refused = claim(client, demo.episodes[1], headers, t=1.0, x=1.0, y=99.0)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too_many_wrong_claims"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.get_json()["retry_after"] == int(refused.headers["Retry-After"])
    # Even the right answer is refused now: a 429 must not tell right from wrong.
    x, y = centre(demo.clue(1), 8.0)
    assert claim(client, demo.episodes[1], headers, t=8.0, x=x, y=y).status_code == 429
    # Another player is not affected.
    assert claim(client, demo.episodes[1], player_headers(), t=8.0, x=x, y=y).get_json()["found"]


def test_a_claim_at_nine_thirty_ten_seconds_after_opening_is_refused(
    app: Flask, db, client, clock: Clock, demo: Demo, player_headers
):
    headers = player_headers()
    episode = demo.episodes[2]
    opened = client.post(f"/api/v1/episodes/{episode}/viewings", headers=headers)
    assert opened.status_code == 200
    clock.advance(seconds=10)
    refused = claim(client, episode, headers, t=570.0, x=50.0, y=50.0)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["error"] == "too_fast"
    assert body["message"]
    assert body["retry_after"] > 200
    # Watching long enough makes the same moment reachable.
    clock.advance(seconds=body["retry_after"])
    assert claim(client, episode, headers, t=570.0, x=50.0, y=50.0).status_code == 200
    # A second "opening" never moves the start later.
    with app.app_context():
        rows = db.session.scalars(sa.select(EpisodeViewing)).all()
        assert len(rows) == 1


def test_a_first_claim_far_into_the_episode_without_watching_is_refused(
    client, demo: Demo, player_headers
):
    refused = claim(client, demo.episodes[1], player_headers(), t=400.0, x=50.0, y=50.0)
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "too_fast"


def test_claims_outside_the_episode_or_the_picture_are_refused(
    app: Flask, db, client, demo: Demo, player_headers
):
    headers = player_headers()
    from series.models import Episode

    with app.app_context():
        db.session.get(Episode, demo.episodes[1]).duration_s = 24.0
        db.session.commit()
    cases = [
        ({"t": 25.0, "x": 50, "y": 50}, "time_outside_episode"),
        ({"t": -1, "x": 50, "y": 50}, "time_outside_episode"),
        ({"t": 5, "x": 101, "y": 50}, "point_outside_picture"),
        ({"t": 5, "x": 50, "y": -0.1}, "point_outside_picture"),
        ({"t": "5", "x": 50, "y": 50}, "invalid_t"),
        ({"t": 5, "x": True, "y": 50}, "invalid_x"),
        ({"t": 5, "x": 50}, "invalid_y"),
    ]
    for body, code in cases:
        response = claim(client, demo.episodes[1], headers, **body)
        assert response.status_code == 422, body
        assert response.get_json()["error"] == code, body
    not_json = client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims", data="t=5", headers=headers
    )
    assert not_json.status_code == 422
    assert not_json.get_json()["error"] == "invalid_body"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClueFind)) == 0


def test_an_unreleased_episode_answers_404_and_keeps_nothing(
    app: Flask, db, client, demo: Demo, player_headers
):
    clue = demo.clue(5)
    x, y = centre(clue, clue["start"] + 1)
    response = claim(client, demo.episodes[5], player_headers(), t=clue["start"] + 1, x=x, y=y)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert "clue" not in response.get_json()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClueFind)) == 0


def test_editors_try_clues_of_an_unreleased_episode_without_recording(
    app: Flask, db, client, demo: Demo, player_headers
):
    editor = player_headers("Éditrice", role="editor")
    clue = demo.clue(5)
    x, y = centre(clue, clue["start"] + 1)
    body = claim(client, demo.episodes[5], editor, t=clue["start"] + 1, x=x, y=y).get_json()
    assert body["preview"] is True
    assert body["found"] is True
    assert body["clue"]["id"] == clue["id"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClueFind)) == 0


def test_a_browser_claim_needs_the_csrf_token(client, auth, make_user, demo: Demo):
    make_user("camille@example.org")
    auth.login("camille@example.org")
    x, y = centre(demo.clue(1), 8.0)
    refused = client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims", json={"t": 8.0, "x": x, "y": y}
    )
    assert refused.status_code == 400
    from tests.conftest import csrf_token

    token = csrf_token(client)
    accepted = client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims",
        json={"t": 8.0, "x": x, "y": y},
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["found"] is True
