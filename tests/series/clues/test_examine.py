"""Examine the scene: keyboard and screen-reader players find clues in a list of regions."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from series.clues.services import GRID_ZONES
from tests.series.clues.conftest import Demo, centre


def regions(client: FlaskClient, episode_id: int, t: float, headers: dict[str, str]) -> Any:
    response = client.get(f"/api/v1/episodes/{episode_id}/scene?t={t}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def pick(client, episode_id: int, t: float, region: str, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/episodes/{episode_id}/scene-claims",
        json={"t": t, "region": region},
        headers=headers,
    )


def test_the_list_does_not_tell_clues_from_scenery(client, demo: Demo, player_headers):
    headers = player_headers()
    clue = demo.clue(1)
    listed = regions(client, demo.episodes[1], 8.0, headers)
    labels = [r["label"] for r in listed]
    assert clue["label"] in labels  # the clue's neutral description is among the regions…
    assert {"Le visage de Margaux", "La porte", "Les mains de Julien"} <= set(labels)
    for region in listed:
        assert set(region) == {"region", "label"}  # …with no position, kind or id to tell it
        assert region["region"].startswith(("r", "z"))  # opaque tokens, never hotspot ids
        assert region["region"] != str(clue["id"])
    text = str(listed)
    assert clue["data"]["title"] not in text
    assert clue["data"]["text"] not in text
    named = labels[: -len(GRID_ZONES)]
    assert named == sorted(named, key=str.casefold)  # alphabetical, not by kind
    assert labels[-len(GRID_ZONES) :] == [str(z[0]) for z in GRID_ZONES]


def test_choosing_the_clue_region_finds_it_and_scenery_does_not(client, demo: Demo, player_headers):
    headers = player_headers("Clavier")
    clue = demo.clue(1)
    listed = {r["label"]: r["region"] for r in regions(client, demo.episodes[1], 8.0, headers)}
    missed = pick(client, demo.episodes[1], 8.0, listed["La porte"], headers)
    assert missed.get_json() == {"found": False}
    found = pick(client, demo.episodes[1], 8.0, listed[clue["label"]], headers).get_json()
    assert found["found"] is True
    assert found["clue"]["id"] == clue["id"]
    notebook = client.get(
        f"/api/v1/episodes/{demo.episodes[1]}/my-clues", headers=headers
    ).get_json()
    assert notebook
    assert notebook[0]["id"] == clue["id"]


def test_a_zone_of_the_picture_finds_the_clue_whose_centre_is_inside(
    client, demo: Demo, player_headers
):
    headers = player_headers()
    clue = demo.clue(1)
    x, y = centre(clue, 8.0)
    zone = int(x // (100 / 3)) + 3 * int(y // (100 / 3))
    wrong = (zone + 4) % 9
    assert pick(client, demo.episodes[1], 8.0, f"z{wrong}", headers).get_json() == {"found": False}
    assert pick(client, demo.episodes[1], 8.0, f"z{zone}", headers).get_json()["found"] is True


def test_examine_claims_obey_the_same_limits(client, demo: Demo, player_headers):
    headers = player_headers()
    for _ in range(10):
        assert pick(client, demo.episodes[1], 1.0, "z0", headers).status_code == 200
    assert pick(client, demo.episodes[1], 1.0, "z0", headers).status_code == 429
    assert pick(client, demo.episodes[1], 500.0, "z0", player_headers()).status_code == 422
    assert client.get(f"/api/v1/episodes/{demo.episodes[5]}/scene?t=3").status_code == 404
    assert client.get(f"/api/v1/episodes/{demo.episodes[1]}/scene").status_code == 422
    bad = pick(client, demo.episodes[1], 2.0, "nowhere", player_headers())
    assert bad.get_json() == {"found": False}  # an unknown region is just a wrong claim
    missing = pick(client, demo.episodes[1], 2.0, None, player_headers())  # type: ignore[arg-type]
    assert missing.status_code == 422
