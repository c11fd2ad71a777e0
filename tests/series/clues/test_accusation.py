"""The sealed accusation: one per player, before the finale; receipts verifiable after reveal."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from series.clues import scoring
from series.clues.models import Accusation
from series.clues.seed import SOLUTION
from series.models import Episode, Season
from tests.series.clues.conftest import Clock, Demo, centre

RIGHT = dict(SOLUTION)
WRONG = {"suspect": "nadia", "motive": "jalousie", "place": "marche"}


def finale_time(app: Flask, db: Any) -> dt.datetime:
    with app.app_context():
        finale = db.session.scalar(
            sa.select(Episode).join(Season).where(Season.number == 1, Episode.number == 6)
        )
        assert finale is not None
        assert finale.publish_at is not None
        return finale.publish_at


def accuse(client, headers: dict[str, str], choice: dict[str, str]) -> Any:
    return client.post("/api/v1/seasons/1/accusations", json=choice, headers=headers)


def recompute(entry: dict[str, Any], season: int = 1) -> str:
    text = ":".join(
        [
            "experts-na",
            "accusation",
            "v1",
            str(season),
            entry["suspect"],
            entry["motive"],
            entry["place"],
            entry["nonce"],
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_investigation_lists_come_from_the_editors(client, demo: Demo):
    body = client.get("/api/v1/seasons/1/investigation").get_json()
    assert [s["key"] for s in body["suspects"]] == ["nadia", "louis", "solene", "thierry", "karim"]
    assert len(body["motives"]) == 5
    assert len(body["places"]) == 5
    assert body["revealed"] is False
    assert len(body["solution_commitment"]) == 64
    assert "solution" not in body
    assert "karim" not in str({k: v for k, v in body.items() if k != "suspects"})
    assert client.get("/api/v1/seasons/2/investigation").status_code == 404


def test_an_accusation_is_sealed_once_and_a_second_is_refused(
    app: Flask, db, client, demo: Demo, player_headers
):
    headers = player_headers("Camille")
    sealed = accuse(client, headers, WRONG)
    assert sealed.status_code == 201
    receipt = sealed.get_json()
    assert receipt["commitment"] == recompute(receipt)
    assert {receipt[p] for p in ("suspect", "motive", "place")} == set(WRONG.values())
    second = accuse(client, headers, RIGHT)
    assert second.status_code == 409
    assert second.get_json()["error"] == "already_accused"
    with app.app_context():
        rows = db.session.scalars(sa.select(Accusation)).all()
        assert [(r.suspect, r.commitment) for r in rows] == [("nadia", receipt["commitment"])]


def test_a_late_accusation_is_refused(app: Flask, db, client, clock: Clock, demo, player_headers):
    clock.now = finale_time(app, db) + dt.timedelta(seconds=1)
    late = accuse(client, player_headers(), RIGHT)
    assert late.status_code == 403
    assert late.get_json()["error"] == "deadline_passed"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Accusation)) == 0


def test_bad_choices_are_refused(client, demo: Demo, player_headers):
    headers = player_headers()
    for choice in (
        {"suspect": "karim", "motive": "secret"},
        {"suspect": "inconnu", "motive": "secret", "place": "salle-4d"},
        ["karim", "secret", "salle-4d"],
    ):
        refused = accuse(client, headers, choice)  # type: ignore[arg-type]
        assert refused.status_code == 422
        assert refused.get_json()["error"] == "invalid_choice"


def test_the_receipt_is_verifiable_after_the_reveal(
    app: Flask, db, client, clock: Clock, demo: Demo, player_headers
):
    right, wrong = player_headers("Juste"), player_headers("Faux")
    right_receipt = accuse(client, right, RIGHT).get_json()
    wrong_receipt = accuse(client, wrong, WRONG).get_json()
    # Before the reveal: commitments and their chain only, no choice, no solution.
    sealed = client.get("/api/v1/seasons/1/accusations").get_json()
    assert sealed["revealed"] is False
    assert sealed["count"] == 2
    assert "solution" not in sealed
    assert all(set(e) == {"commitment", "chain"} for e in sealed["entries"])
    chain = hashlib.sha256(b"experts-na:ledger:v1:1").hexdigest()
    for entry in sealed["entries"]:
        chain = hashlib.sha256((chain + entry["commitment"]).encode()).hexdigest()
        assert entry["chain"] == chain
    assert sealed["chain_head"] == chain
    # After the finale: every commitment opens, and the receipts match their openings.
    clock.now = finale_time(app, db) + dt.timedelta(minutes=1)
    opened = client.get("/api/v1/seasons/1/accusations").get_json()
    assert opened["revealed"] is True
    assert opened["chain_head"] == sealed["chain_head"]  # nothing added, dropped or reordered
    by_seal = {e["commitment"]: e for e in opened["entries"]}
    for receipt, choice in ((right_receipt, RIGHT), (wrong_receipt, WRONG)):
        entry = by_seal[receipt["commitment"]]
        assert recompute(entry) == receipt["commitment"]
        assert {p: entry[p] for p in ("suspect", "motive", "place")} == choice
        assert entry["points"] == scoring.accusation_points(choice, RIGHT)
    assert by_seal[right_receipt["commitment"]]["points"] == 300 + 150 + 150 + 200
    assert by_seal[wrong_receipt["commitment"]]["points"] == 0
    # The solution opens its own commitment, published before anyone accused.
    solution = opened["solution"]
    text = ":".join(
        [
            "experts-na",
            "solution",
            "v1",
            "1",
            *(solution[p] for p in ("suspect", "motive", "place")),
            solution["nonce"],
        ]
    )
    assert hashlib.sha256(text.encode()).hexdigest() == sealed["solution_commitment"]
    # The verify endpoint agrees; a forged receipt does not pass.
    checked = client.post("/api/v1/accusations/verify", json=right_receipt).get_json()
    assert checked == {"valid": True, "included": True, "points": 800}
    forged = right_receipt | {"suspect": "nadia"}
    assert client.post("/api/v1/accusations/verify", json=forged).get_json()["valid"] is False


def test_revealed_accusations_count_in_the_season_ranking(
    app: Flask, db, client, clock: Clock, demo: Demo, player_headers
):
    sleuth = player_headers("Limier")
    clue = demo.clue(1)
    x, y = centre(clue, 8.0)
    client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims",
        json={"t": 8.0, "x": x, "y": y},
        headers=sleuth,
    )
    accuse(client, sleuth, RIGHT)
    before = client.get("/api/v1/leaderboard?season=1").get_json()
    assert before[0]["points"] == 150
    clock.now = finale_time(app, db) + dt.timedelta(minutes=1)
    after = client.get("/api/v1/leaderboard?season=1").get_json()
    assert after[0]["points"] == 150 + 800


def test_the_ranking_is_final_a_week_after_the_finale(
    app: Flask, db, client, clock: Clock, demo: Demo, player_headers
):
    clock.now = finale_time(app, db) + dt.timedelta(days=8)
    late = player_headers("En retard")
    clue = demo.clue(1)
    x, y = centre(clue, 8.0)
    client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/viewings", headers=late
    )  # opened long enough ago
    body = client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims",
        json={"t": 8.0, "x": x, "y": y},
        headers=late,
    ).get_json()
    assert body["found"] is True  # still in the notebook…
    assert client.get("/api/v1/leaderboard?season=1").get_json() == []  # …not in the final rank
    assert client.get("/api/v1/leaderboard").get_json()[0]["player"] == "En retard"


def test_the_accusation_page_seals_and_shows_the_receipt(
    app: Flask, db, client, auth, make_user, clock: Clock, demo: Demo
):
    from tests.conftest import csrf_token

    make_user("lea@example.org", display_name="Léa")
    auth.login("lea@example.org")
    page = client.get("/saisons/1/accusation")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Karim Haddad" in html
    assert 'type="radio"' in html
    token = csrf_token(client, "/saisons/1/accusation")
    unconfirmed = client.post("/saisons/1/accusation", data={"csrf_token": token, **WRONG})
    assert unconfirmed.status_code == 422
    assert "ne pourra plus" in unconfirmed.get_data(as_text=True)
    done = client.post(
        "/saisons/1/accusation", data={"csrf_token": token, "confirm": "yes", **WRONG}
    )
    assert done.status_code == 200
    shown = done.get_data(as_text=True)
    with app.app_context():
        seal = db.session.scalar(sa.select(Accusation.commitment))
    assert seal in shown
    assert 'type="radio"' not in shown  # sealed: no form any more
    again = client.post(
        "/saisons/1/accusation", data={"csrf_token": token, "confirm": "yes", **RIGHT}
    )
    assert again.status_code == 409  # refused, and the page shows the sealed receipt, unchanged
    assert "déjà déposé" in again.get_data(as_text=True)
    assert seal in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(Accusation.suspect)).all() == ["nadia"]
    clock.now = finale_time(app, db) + dt.timedelta(minutes=1)
    revealed = client.get("/saisons/1/accusation").get_data(as_text=True)
    assert "La solution" in revealed
    assert "Karim Haddad" in revealed


def test_editors_set_up_an_investigation_and_seal_its_solution(
    app: Flask, db, client, auth, make_user, demo: Demo
):
    from tests.conftest import csrf_token

    make_user("editrice@example.org", role="editor")
    auth.login("editrice@example.org")
    assert client.get("/edition/saisons/2/enquete").status_code == 200
    token = csrf_token(client, "/edition/saisons/2/enquete")
    client.post(
        "/edition/saisons/2/enquete",
        data={
            "csrf_token": token,
            "suspects": "Le maraîcher\nLa garde-pêche\n",
            "motives": "argent | L'argent\njalousie | La jalousie",
            "places": "Coulon\nNiort",
        },
    )
    from series.clues.models import Investigation

    with app.app_context():
        investigation = db.session.scalar(
            sa.select(Investigation).join(Season).where(Season.number == 2)
        )
        assert investigation is not None
        assert [s["key"] for s in investigation.suspects] == ["le-maraicher", "la-garde-peche"]
        assert investigation.solution is None
    client.post(
        "/edition/saisons/2/enquete",
        data={
            "csrf_token": token,
            "suspects": "le-maraicher | Le maraîcher\nla-garde-peche | La garde-pêche",
            "motives": "argent | L'argent\njalousie | La jalousie",
            "places": "coulon | Coulon\nniort | Niort",
            "solution_suspect": "la-garde-peche",
            "solution_motive": "argent",
            "solution_place": "coulon",
        },
    )
    with app.app_context():
        investigation = db.session.scalar(
            sa.select(Investigation).join(Season).where(Season.number == 2)
        )
        assert investigation.solution == {
            "suspect": "la-garde-peche",
            "motive": "argent",
            "place": "coulon",
        }
        assert len(investigation.solution_commitment) == 64
    viewer = app.test_client()
    assert viewer.get("/edition/saisons/2/enquete").status_code in (302, 401)


def test_a_choice_someone_accused_with_cannot_be_removed(
    app: Flask, db, client, demo: Demo, player_headers
):
    from series.clues import accusation
    from series.clues.seed import MOTIVES, PLACES, SUSPECTS

    assert accuse(client, player_headers(), WRONG).status_code == 201
    lists = {
        "suspects": [{"key": k, "label": v} for k, v in SUSPECTS if k != "nadia"],
        "motives": [{"key": k, "label": v} for k, v in MOTIVES],
        "places": [{"key": k, "label": v} for k, v in PLACES],
    }
    with app.app_context():
        season = db.session.scalar(sa.select(Season).where(Season.number == 1))
        with pytest.raises(accusation.ApiError) as refused:
            accusation.set_up(db.session, season, lists, RIGHT, dt.datetime.now(dt.UTC))
        assert refused.value.code == "option_in_use"
        lists["suspects"].append({"key": "nadia", "label": "Nadia B."})  # renaming is fine
        changed = accusation.set_up(db.session, season, lists, RIGHT, dt.datetime.now(dt.UTC))
        assert accusation.label_of(changed, "suspect", "nadia") == "Nadia B."
