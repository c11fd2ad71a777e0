"""Guests play without an account; their finds move into the account they create later."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from series.clues.models import Accusation, ClueFind, EpisodeViewing, Player
from series.clues.players import GUEST_COOKIE
from tests.conftest import AuthActions, csrf_token
from tests.series.clues.conftest import Demo, centre


def guest_claim(client, demo: Demo, episode: int, index: int, token: str) -> dict:
    clue = demo.clue(episode, index)
    t = (clue["start"] + clue["end"]) / 2
    x, y = centre(clue, t)
    response = client.post(
        f"/api/v1/episodes/{demo.episodes[episode]}/clue-claims",
        json={"t": t, "x": x, "y": y},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_guest_plays_and_keeps_finds_in_their_browser(app: Flask, db, client, demo: Demo):
    token = csrf_token(client)
    body = guest_claim(client, demo, 1, 0, token)
    assert body["found"] is True
    cookie = client.get_cookie(GUEST_COOKIE)
    assert cookie is not None
    assert cookie.http_only
    with app.app_context():
        guest = db.session.scalar(sa.select(Player))
        assert guest.user_id is None
        assert guest.guest_token_hash != cookie.value  # only its digest is stored
    mine = client.get(f"/api/v1/episodes/{demo.episodes[1]}/my-clues").get_json()
    assert [c["id"] for c in mine] == [demo.clue(1)["id"]]
    notebook = client.get("/enquete/carnet").get_data(as_text=True)
    assert demo.clue(1)["data"]["title"] in notebook
    assert "invité" in notebook
    # Another browser is another guest: it sees nothing of this one.
    other = app.test_client()
    assert other.get(f"/api/v1/episodes/{demo.episodes[1]}/my-clues").get_json() == []


def test_signing_up_moves_everything_into_the_new_account(app: Flask, db, client, demo: Demo):
    token = csrf_token(client)
    guest_claim(client, demo, 1, 0, token)
    guest_claim(client, demo, 2, 0, token)
    client.post(f"/api/v1/episodes/{demo.episodes[3]}/viewings", headers={"X-CSRFToken": token})
    accused = client.post(
        "/api/v1/seasons/1/accusations",
        json={"suspect": "karim", "motive": "secret", "place": "salle-4d"},
        headers={"X-CSRFToken": token},
    )
    assert accused.status_code == 201
    signup_token = csrf_token(client, "/inscription")
    response = client.post(
        "/inscription",
        data={
            "csrf_token": signup_token,
            "email": "nouvelle@example.org",
            "display_name": "Nouvelle",
            "password": AuthActions.password,
            "confirm": AuthActions.password,
            "accept": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert client.get_cookie(GUEST_COOKIE) is None  # the guest cookie is gone
    with app.app_context():
        players = db.session.scalars(sa.select(Player)).all()
        assert len(players) == 1
        assert players[0].user is not None
        assert players[0].user.email == "nouvelle@example.org"
        finds = db.session.scalars(sa.select(ClueFind)).all()
        assert {f.hotspot_id for f in finds} == {demo.clue(1)["id"], demo.clue(2)["id"]}
        assert {f.player_id for f in finds} == {players[0].id}
        assert db.session.scalar(sa.select(Accusation.player_id)) == players[0].id
        assert db.session.scalar(sa.select(EpisodeViewing.player_id)) == players[0].id
    board = client.get("/api/v1/leaderboard?season=1").get_json()
    assert [e["player"] for e in board] == ["Nouvelle"]


def test_logging_in_merges_and_keeps_the_earlier_find_of_a_clue(
    app: Flask, db, client, demo: Demo, make_user, player_headers
):
    """The account found clue A late; the guest found A earlier and B: both kept, A's best."""
    user = make_user("camille@example.org", display_name="Camille")
    first_comer = player_headers("Premier")
    token = csrf_token(client)
    guest_claim(client, demo, 1, 0, token)  # the guest is first on A (rank 1)
    clue = demo.clue(1)
    x, y = centre(clue, 8.0)
    client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims",
        json={"t": 8.0, "x": x, "y": y},
        headers=first_comer,
    )  # rank 2
    with app.app_context():
        from core.accounts.models import User
        from series.clues.players import player_for_user
        from series.clues.services import record_find
        from series.episodes.hotspot_models import Hotspot

        account = player_for_user(db.session, db.session.get(User, user.id))
        hotspot = db.session.get(Hotspot, clue["id"])
        late, created = record_find(
            db.session, account, hotspot, (9.0, x, y), "click", hotspot.created_at
        )
        assert created
        assert late.rank == 3
        late.note = "vu trop tard"
        db.session.commit()
    guest_claim(client, demo, 1, 1, token)  # B, only the guest
    AuthActions(client).login("camille@example.org")
    with app.app_context():
        finds = db.session.scalars(
            sa.select(ClueFind).join(Player).where(Player.user_id == user.id)
        ).all()
        ranks = {f.hotspot_id: f.rank for f in finds}
        assert ranks == {clue["id"]: 1, demo.clue(1, 1)["id"]: 1}
        kept = next(f for f in finds if f.hotspot_id == clue["id"])
        assert kept.note == "vu trop tard"  # the dropped find's note is not lost
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Player)) == 2


def test_watching_without_playing_leaves_no_cookie_and_no_row(app: Flask, db, client, demo):
    token = csrf_token(client)
    opened = client.post(
        f"/api/v1/episodes/{demo.episodes[2]}/viewings", headers={"X-CSRFToken": token}
    )
    assert opened.status_code == 200
    assert opened.get_json()["ticket"]
    assert client.get_cookie(GUEST_COOKIE) is None
    assert "Set-Cookie" not in opened.headers or GUEST_COOKIE not in opened.headers["Set-Cookie"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Player)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EpisodeViewing)) == 0


def test_the_first_claim_of_a_guest_is_dated_by_their_viewing_ticket(
    app: Flask, db, client, clock, demo
):
    token = {"X-CSRFToken": csrf_token(client)}
    episode = demo.episodes[2]
    ticket = client.post(f"/api/v1/episodes/{episode}/viewings", headers=token).get_json()["ticket"]
    other = client.post(f"/api/v1/episodes/{demo.episodes[3]}/viewings", headers=token).get_json()[
        "ticket"
    ]
    clock.advance(seconds=300)
    body = {"t": 570.0, "x": 50.0, "y": 50.0}
    for forged in ("not-a-ticket", ticket[:-2] + "xx", other):
        refused = client.post(
            f"/api/v1/episodes/{episode}/clue-claims",
            json=body | {"viewing": forged},
            headers=token,
        )
        assert refused.status_code == 422
        assert refused.get_json()["error"] == "too_fast"  # the opening is "now"
    with app.app_context():  # one guest for the three: the refusal kept it, and its cookie
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Player)) == 1
    client.delete_cookie(GUEST_COOKIE)  # a new guest: its first claim, with the real ticket
    with app.app_context():
        db.session.execute(sa.delete(EpisodeViewing))
        db.session.commit()
    accepted = client.post(
        f"/api/v1/episodes/{episode}/clue-claims", json=body | {"viewing": ticket}, headers=token
    )
    assert accepted.status_code == 200  # 570 ≤ 30 + 2 × 300
    with app.app_context():
        opened = db.session.scalar(sa.select(EpisodeViewing.opened_at))
        assert opened == clock.now - dt.timedelta(seconds=300)
