"""Catalogue: the 12 seasons, released episodes only, spoilers kept for editors."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.db import utcnow
from series.models import Episode, Season
from series.services import schedule_season


def bearer(make_user, make_token, role):
    return {"Authorization": f"Bearer {make_token(make_user(role=role))}"}


def test_seasons_api_lists_the_twelve_departements(client, seeded):
    seasons = client.get("/api/v1/seasons").get_json()
    assert [s["number"] for s in seasons] == list(range(1, 13))
    assert seasons[0]["departement"] == {"code": "86", "name": "Vienne"}
    assert seasons[0]["title"] == "Meurtre au Futuroscope"
    assert seasons[0]["episode_count"] == 3
    assert {s["departement"]["name"] for s in seasons} >= {"Pyrénées-Atlantiques", "Creuse"}


def test_episodes_api_shows_released_episodes_only(client, seeded, make_user, make_token):
    released = client.get("/api/v1/seasons/1/episodes").get_json()
    assert [e["number"] for e in released] == [1, 2, 3]
    assert all(e["released"] for e in released)
    assert released[0]["guest_stars"][0]["name"] == "Nadia Belkacem"
    viewer = client.get(
        "/api/v1/seasons/1/episodes", headers=bearer(make_user, make_token, "viewer")
    ).get_json()
    assert len(viewer) == 3
    editor = client.get(
        "/api/v1/seasons/1/episodes", headers=bearer(make_user, make_token, "editor")
    ).get_json()
    assert [e["number"] for e in editor] == [1, 2, 3, 4, 5, 6]


def test_an_unreleased_episode_is_a_404_everywhere_but_for_editors(
    client, pilot, make_user, make_token, auth
):
    unreleased = pilot[6]
    assert client.get(f"/api/v1/episodes/{unreleased}").status_code == 404
    assert client.get(f"/episodes/{unreleased}").status_code == 404
    # The same answer as an episode that does not exist at all.
    missing = client.get("/api/v1/episodes/999999").get_json()
    assert client.get(f"/api/v1/episodes/{unreleased}").get_json() == missing
    viewer = make_user(role="viewer")
    auth.login(viewer.email)
    assert client.get(f"/episodes/{unreleased}").status_code == 404
    editor_headers = bearer(make_user, make_token, "editor")
    assert client.get(f"/api/v1/episodes/{unreleased}", headers=editor_headers).status_code == 200


def test_unreleased_titles_do_not_leak_through_pages_or_search(client, seeded, db):
    secret_title = db.session.scalar(sa.select(Episode.title).where(Episode.number == 6))
    upcoming_title = db.session.scalar(sa.select(Episode.title).where(Episode.number == 4))
    for path in (
        "/",
        "/saisons",
        "/api/v1/seasons",
        "/api/v1/seasons/1/episodes",
        "/recherche?q=séance",
        "/recherche?q=" + secret_title.split()[0],
    ):
        body = client.get(path).get_data(as_text=True)
        assert secret_title not in body, path
    season_page = client.get("/saisons/1").get_data(as_text=True)
    assert secret_title not in season_page
    # Upcoming, not secret: announced with its release date.
    assert upcoming_title in season_page
    assert "Prochainement" in season_page


def test_episode_page_follows_the_title_pattern_and_has_open_graph(client, pilot):
    html = client.get(f"/episodes/{pilot[2]}").get_data(as_text=True)
    assert (
        "<title>Les Experts de Nouvelle-Aquitaine / Saison 1 / Panique à Poitiers</title>" in html
    )
    assert '<meta property="og:title"' in html
    assert "Louis Garnier" in html
    assert 'rel="prev"' in html
    assert 'rel="next"' in html


def test_weekly_schedule_from_the_premiere(app_context, db, seeded):
    season = db.session.scalar(sa.select(Season).where(Season.number == 2))
    for number in range(1, 7):
        season.episodes.append(Episode(number=number, title=f"É{number}"))
    premiere = dt.datetime(2027, 1, 4, 17, tzinfo=dt.UTC)  # 18:00 in Paris, no clock change
    schedule_season(season, premiere)
    db.session.flush()
    dates = [e.publish_at for e in sorted(season.episodes, key=lambda e: e.number)]
    assert dates == [premiere + dt.timedelta(weeks=k) for k in range(6)]


def test_an_episode_released_a_second_ago_is_visible(client, app, pilot, db):
    with app.app_context():
        episode = db.session.get(Episode, pilot[4])
        episode.publish_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    assert client.get(f"/api/v1/episodes/{pilot[4]}").status_code == 200


def test_search_finds_released_episodes(client, seeded):
    html = client.get("/recherche?q=poitiers").get_data(as_text=True)
    assert "Panique à Poitiers" in html
    assert "1 résultat" in html


def test_an_unknown_season_is_a_404(client, seeded):
    assert client.get("/saisons/13").status_code == 404
    assert client.get("/api/v1/seasons/13/episodes").get_json()["error"] == "not_found"


def test_releases_keep_their_french_time_across_the_clock_change(app_context, db, seeded):
    from zoneinfo import ZoneInfo

    season = db.session.scalar(sa.select(Season).where(Season.number == 3))
    for number in range(1, 7):
        season.episodes.append(Episode(number=number, title=f"É{number}"))
    # 18:00 in Paris on 10 March 2027; clocks go forward on 28 March.
    premiere = dt.datetime(2027, 3, 10, 18, tzinfo=ZoneInfo("Europe/Paris"))
    schedule_season(season, premiere)
    paris = [e.publish_at.astimezone(ZoneInfo("Europe/Paris")) for e in season.episodes]
    assert {(t.hour, t.minute) for t in paris} == {(18, 0)}
    assert paris[0].utcoffset() != paris[-1].utcoffset()


def test_feed_and_sitemap_carry_released_episodes_only(client, pilot, db, make_user, make_token):
    released = db.session.scalar(sa.select(Episode.title).where(Episode.id == pilot[1]))
    unreleased = [
        db.session.scalar(sa.select(Episode.title).where(Episode.id == pilot[n])) for n in (4, 5, 6)
    ]
    headers = bearer(make_user, make_token, "editor")
    for path in ("/flux.atom", "/sitemap.xml"):
        for extra in ({}, headers):  # not even for editors: these are public documents
            body = client.get(path, headers=extra).get_data(as_text=True)
            for title in unreleased:
                assert title not in body
            for number in (4, 5, 6):
                assert f"/episodes/{pilot[number]}<" not in body
                assert f'/episodes/{pilot[number]}"' not in body
    feed = client.get("/flux.atom")
    assert feed.mimetype == "application/atom+xml"
    assert released in feed.get_data(as_text=True)
    assert f"/episodes/{pilot[1]}</loc>" in client.get("/sitemap.xml").get_data(as_text=True)


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_out_of_private_areas(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    for private in ("/edition", "/moderation", "/compte", "/api/", "/go/"):
        assert f"Disallow: {private}" in lines
    # The public pages stay open to them.
    assert not [line for line in lines if line in ("Disallow: /", "Disallow: /episodes")]


def test_extras_show_on_their_episode_once_out(client, pilot):
    second = client.get(f"/episodes/{pilot[2]}").get_data(as_text=True)
    assert "Coulisses : tourner au marché Notre-Dame" in second
    assert "Bêtisier : la 4D a gagné" in second  # a season extra shows on every episode
    first = client.get(f"/episodes/{pilot[1]}").get_data(as_text=True)
    assert "tourner au marché" not in first
    for path in ("/", "/saisons/1", f"/episodes/{pilot[3]}"):
        assert "Coulisses du final" not in client.get(path).get_data(as_text=True)
