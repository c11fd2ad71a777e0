"""Leaderboards: per episode, season and overall; cached without leaking; pushed live."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.series.clues.conftest import Demo, centre


def find(client: FlaskClient, demo: Demo, headers: dict[str, str], episode: int, index: int) -> Any:
    clue = demo.clue(episode, index)
    t = (clue["start"] + clue["end"]) / 2
    x, y = centre(clue, t)
    body = client.post(
        f"/api/v1/episodes/{demo.episodes[episode]}/clue-claims",
        json={"t": t, "x": x, "y": y},
        headers=headers,
    ).get_json()
    assert body["found"] is True, body
    return body["clue"]


def test_rankings_per_episode_season_and_overall(client, demo: Demo, player_headers):
    camille, hugo = player_headers("Camille"), player_headers("Hugo")
    find(client, demo, camille, 1, 0)
    find(client, demo, camille, 2, 0)
    h1 = find(client, demo, hugo, 1, 1)
    episode1 = client.get(f"/api/v1/leaderboard?episode={demo.episodes[1]}").get_json()
    assert [e["player"] for e in episode1] == ["Hugo", "Camille"]  # 150 × 1.5 beats 100 × 1.5
    assert episode1[0] == {"rank": 1, "player": "Hugo", "points": h1["points"], "finds": 1}
    season = client.get("/api/v1/leaderboard?season=1").get_json()
    assert [(e["player"], e["finds"]) for e in season] == [("Camille", 2), ("Hugo", 1)]
    assert season[0]["points"] == 150 + 150
    overall = client.get("/api/v1/leaderboard").get_json()
    assert overall == season
    episode2 = client.get(f"/api/v1/leaderboard?episode={demo.episodes[2]}").get_json()
    assert [e["player"] for e in episode2] == ["Camille"]
    assert client.get("/api/v1/leaderboard?season=2").get_json() == []
    assert client.get("/api/v1/leaderboard?season=13").status_code == 404
    assert client.get(f"/api/v1/leaderboard?episode={demo.episodes[5]}").status_code == 404


def test_equal_points_rank_who_got_there_first(client, clock, demo: Demo, player_headers):
    first, second = player_headers("Premier"), player_headers("Second")
    find(client, demo, first, 1, 0)  # 150
    clock.advance(seconds=5)
    find(client, demo, second, 2, 0)  # 150 too (first finder of another clue)
    board = client.get("/api/v1/leaderboard?season=1").get_json()
    assert [(e["rank"], e["player"], e["points"]) for e in board] == [
        (1, "Premier", 150),
        (2, "Second", 150),
    ]


def test_a_cached_leaderboard_never_shows_one_players_data_to_another(
    app, client, demo: Demo, player_headers, make_user, make_token
):
    alice_user = make_user("alice.secret@example.org", display_name="Alice")
    alice = {"Authorization": f"Bearer {make_token(alice_user)}"}
    bob = player_headers("Bob")
    find(client, demo, alice, 1, 0)
    find(client, demo, bob, 1, 1)
    # Alice warms every cache, then Bob asks.
    for headers in (alice, bob):
        for query in ("", "?season=1", f"?episode={demo.episodes[1]}"):
            board = client.get(f"/api/v1/leaderboard{query}", headers=headers)
            assert "alice.secret" not in board.get_data(as_text=True)
            for entry in board.get_json():
                assert set(entry) == {"rank", "player", "points", "finds"}
    mine_alice = client.get("/api/v1/leaderboard/me?season=1", headers=alice).get_json()
    mine_bob = client.get("/api/v1/leaderboard/me?season=1", headers=bob)
    assert mine_bob.headers["Cache-Control"] == "private, no-store"
    assert mine_bob.get_json()["player"] == "Bob"
    assert mine_alice["player"] == "Alice"
    assert mine_bob.get_json()["rank"] != mine_alice["rank"]
    # A visitor who never played is not ranked; the page says so without anyone's line.
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/leaderboard/me?season=1").get_json() is None
    page = anonymous.get("/enquete/classement?saison=1").get_data(as_text=True)
    assert "Vous êtes" not in page
    assert "Alice" in page
    assert "Bob" in page


def test_the_cache_is_right_after_every_find(client, demo: Demo, player_headers):
    players = [player_headers(f"J{i}") for i in range(4)]
    seen = []
    for index, headers in enumerate(players):
        find(client, demo, headers, 1 + index % 3, index // 3)
        board = client.get("/api/v1/leaderboard?season=1").get_json()
        seen.append(len(board))
    assert seen == [1, 2, 3, 4]


def test_withdrawn_players_leave_public_rankings(
    client, auth, make_user, demo: Demo, socketio_client
):
    from tests.conftest import csrf_token

    make_user("discrete@example.org", display_name="Discrète")
    auth.login("discrete@example.org")
    token = csrf_token(client)
    clue = demo.clue(1)
    x, y = centre(clue, 8.0)
    client.post(
        f"/api/v1/episodes/{demo.episodes[1]}/clue-claims",
        json={"t": 8.0, "x": x, "y": y},
        headers={"X-CSRFToken": token},
    )
    assert [e["player"] for e in client.get("/api/v1/leaderboard").get_json()] == ["Discrète"]
    watcher = socketio_client()
    watcher.emit("join", {"leaderboard": 1}, callback=True)
    watcher.get_received()
    client.post("/enquete/carnet/reglages", data={"action": "unlist", "csrf_token": token})
    assert client.get("/api/v1/leaderboard").get_json() == []
    pushed = [p["args"][0] for p in watcher.get_received() if p["name"] == "leaderboard"]
    assert pushed == [{"scope": "season", "season": 1, "entries": []}]  # open pages drop her
    client.post("/enquete/carnet/reglages", data={"action": "list", "csrf_token": token})
    assert [e["player"] for e in client.get("/api/v1/leaderboard").get_json()] == ["Discrète"]


def test_the_top_is_pushed_live_when_it_changes(
    client, socketio_client, demo: Demo, player_headers
):
    watcher = socketio_client()
    assert watcher.emit("join", {"leaderboard": 1}, callback=True) == {"ok": True}
    initial = [p for p in watcher.get_received() if p["name"] == "leaderboard"]
    assert initial[0]["args"][0] == {"scope": "season", "season": 1, "entries": []}
    lea = player_headers("Léa")
    find(client, demo, lea, 1, 0)
    pushed = [p["args"][0] for p in watcher.get_received() if p["name"] == "leaderboard"]
    assert [p["scope"] for p in pushed] == ["season"]  # the room of season 1 only
    assert pushed[0]["entries"] == [{"rank": 1, "player": "Léa", "points": 150, "finds": 1}]
    # Claiming the same clue again changes nothing: nothing is pushed.
    find(client, demo, lea, 1, 0)
    assert watcher.get_received() == []
    find(client, demo, player_headers("Hugo"), 3, 0)
    pushed = [p["args"][0] for p in watcher.get_received() if p["name"] == "leaderboard"]
    assert [e["player"] for e in pushed[-1]["entries"]] == ["Hugo", "Léa"]  # 180 > 150


def test_joining_an_episode_leaderboard_needs_a_visible_episode(socketio_client, demo: Demo):
    viewer = socketio_client()
    refused = viewer.emit("join", {"leaderboard-episode": demo.episodes[5]}, callback=True)
    assert refused["ok"] is False
    assert viewer.emit("join", {"leaderboard-episode": demo.episodes[1]}, callback=True) == {
        "ok": True
    }
    assert viewer.emit("join", {"leaderboard": 99}, callback=True)["ok"] is False


def test_leaderboard_page_in_both_languages(client, demo: Demo, player_headers):
    find(client, demo, player_headers("Hugo"), 1, 0)
    fr = client.get("/enquete/classement").get_data(as_text=True)
    assert "Classement des enquêteurs" in fr
    assert "Hugo" in fr
    en = client.get("/enquete/classement?lang=en").get_data(as_text=True)
    assert "Leaderboard" in en
    assert client.get(f"/enquete/classement?episode={demo.episodes[5]}").status_code == 404
