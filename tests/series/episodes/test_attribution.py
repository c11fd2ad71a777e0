"""Attribution: the click redirect, impressions, per-day totals and consent honoured."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from core.db import _configure_sqlite, create_engine
from series.episodes import attribution
from series.episodes.hotspot_models import (
    Hotspot,
    HotspotDailyStat,
    HotspotEvent,
    Offer,
    Partner,
)
from series.models import Episode, Season
from tests.conftest import csrf_token
from tests.support.databases import migrated_database

SHOP = "https://shop.example/fromages/chabichou?ref=abc&lang=fr#acheter"


# ---------------------------------------------------------------- helpers


def hotspot_of(db: Any, episode_id: int, kind: str | None = None) -> Hotspot:
    query = sa.select(Hotspot).where(Hotspot.episode_id == episode_id, Hotspot.kind != "clue")
    if kind:
        query = query.where(Hotspot.kind == kind)
    hotspot = db.session.scalars(query.order_by(Hotspot.id)).first()
    assert hotspot is not None
    return hotspot


def figures(db: Any, hotspot_id: int) -> tuple[int, int]:
    """(impressions, clicks) summed over every day."""
    row = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(HotspotDailyStat.impressions), 0),
            sa.func.coalesce(sa.func.sum(HotspotDailyStat.clicks), 0),
        ).where(HotspotDailyStat.hotspot_id == hotspot_id)
    ).one()
    return int(row[0]), int(row[1])


def events(db: Any) -> list[HotspotEvent]:
    return list(db.session.scalars(sa.select(HotspotEvent).order_by(HotspotEvent.id)))


def set_offer_url(app: Any, db: Any, hotspot_id: int, url: str | None) -> None:
    with app.app_context():
        hotspot = db.session.get(Hotspot, hotspot_id)
        assert hotspot.offer is not None
        hotspot.offer.url = url
        db.session.commit()


def impression(client: Any, hotspot_id: int, visible_ms: Any = 1500, token: str = "") -> Any:
    return client.post(
        f"/api/v1/hotspots/{hotspot_id}/impressions",
        json={"visible_ms": visible_ms},
        headers={"X-CSRFToken": token},
    )


@pytest.fixture
def released(pilot, db) -> Hotspot:
    """A public product hotspot of episode 1 (released), its offer pointing at SHOP."""
    return hotspot_of(db, pilot[1], "product")


@pytest.fixture
def shop(app, db, released) -> Hotspot:
    set_offer_url(app, db, released.id, SHOP)
    return released


@pytest.fixture
def clue(app, db, pilot) -> Hotspot:
    """A clue of episode 1, even pointing at an offer with a URL: never public."""
    with app.app_context():
        offer = db.session.scalars(sa.select(Offer).where(Offer.url.is_not(None))).first()
        hotspot = Hotspot(
            episode_id=pilot[1],
            kind="clue",
            start_s=1.0,
            end_s=4.0,
            keyframes=[{"t": 1.0, "x": 10, "y": 10, "w": 10, "h": 10}],
            label="La tasse ébréchée",
            action="card",
            offer_id=offer.id,
            data={"text": "secret"},
        )
        db.session.add(hotspot)
        db.session.commit()
        return hotspot


@pytest.fixture
def token(client, seeded) -> str:
    return csrf_token(client)


# ---------------------------------------------------------------- outbound URL


def test_outbound_url_adds_utm_and_keeps_query_and_fragment(app_context, db, shop):
    hotspot = db.session.get(Hotspot, shop.id)
    url = attribution.outbound_url(hotspot.offer, hotspot)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "shop.example",
        "/fromages/chabichou",
    )
    assert parts.fragment == "acheter"
    assert parse_qs(parts.query) == {
        "ref": ["abc"],
        "lang": ["fr"],
        "utm_source": ["experts-na"],
        "utm_medium": ["video"],
        "utm_campaign": [f"saison-{hotspot.episode.season.number}"],
        "utm_content": [f"hotspot-{hotspot.id}"],
    }
    assert url.startswith("https://shop.example/fromages/chabichou?ref=abc&lang=fr&utm_source=")


def test_outbound_url_replaces_the_offers_own_utm(app_context, db, released):
    hotspot = db.session.get(Hotspot, released.id)
    hotspot.offer.url = "http://shop.example/?utm_source=old&utm_campaign=old&x=1"
    query = parse_qs(urlsplit(attribution.outbound_url(hotspot.offer, hotspot)).query)
    assert query["utm_source"] == ["experts-na"]
    assert query["utm_campaign"] == ["saison-1"]
    assert query["x"] == ["1"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "//evil.example",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/x",
        "https:\\\\evil.example",
        "https:///no-host",
        " https://evil.example",
        "https://evil.example/\r\nSet-Cookie:x=1",
        "evil.example",
        "https://shop.example:99999/",
        "",
        None,
    ],
)
def test_unsafe_registered_urls_have_no_outbound_url(app_context, db, released, url):
    hotspot = db.session.get(Hotspot, released.id)
    hotspot.offer.url = url
    assert attribution.outbound_url(hotspot.offer, hotspot) is None


# ---------------------------------------------------------------- the click redirect


def test_the_redirect_counts_a_click_and_lands_on_the_registered_url(client, db, shop):
    response = client.get(f"/go/{shop.id}")
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "shop.example",
        "/fromages/chabichou",
    )
    query = parse_qs(parts.query)
    assert query["ref"] == ["abc"]
    assert query["lang"] == ["fr"]
    assert query["utm_source"] == ["experts-na"]
    assert query["utm_medium"] == ["video"]
    assert query["utm_campaign"] == ["saison-1"]
    assert query["utm_content"] == [f"hotspot-{shop.id}"]
    assert parts.fragment == "acheter"
    assert response.headers["Cache-Control"] == "no-store"
    assert figures(db, shop.id) == (0, 1)
    client.get(f"/go/{shop.id}")
    assert figures(db, shop.id) == (0, 2)


@pytest.mark.parametrize(
    "query",
    [
        "?next=https://evil.example",
        "?url=https://evil.example",
        "?url=//evil.example",
        "?to=javascript:alert(1)",
        "?redirect=%2F%2Fevil.example&next=%2F%2Fevil.example",
    ],
)
def test_request_parameters_never_change_the_target(client, shop, query):
    response = client.get(f"/go/{shop.id}{query}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).netloc == "shop.example"
    assert "evil" not in location
    assert "javascript" not in location


@pytest.mark.parametrize(
    "path", ["/go//evil.example", "/go/%2F%2Fevil.example", "/go/evil.example"]
)
def test_path_tricks_never_leave_the_site(client, seeded, path):
    response = client.get(path)
    assert response.status_code in (404, 308)
    location = response.headers.get("Location", "")
    assert urlsplit(location).netloc in ("", "localhost")


@pytest.mark.parametrize(
    "stored",
    ["javascript:alert(1)", "//evil.example", "data:text/html,x", "ftp://evil.example/", "x"],
)
def test_an_unsafe_stored_url_is_never_redirected_to(app, client, db, released, stored):
    # Inserted directly, as a bad migration or a manual SQL fix could do.
    with app.app_context():
        offer_id = db.session.get(Hotspot, released.id).offer_id
        db.session.execute(sa.update(Offer).where(Offer.id == offer_id).values(url=stored))
        db.session.commit()
    response = client.get(f"/go/{released.id}")
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert figures(db, released.id) == (0, 0)


def test_offers_without_url_and_hotspots_without_offer_are_404(app, client, db, pilot):
    first = hotspot_of(db, pilot[1], "product")
    set_offer_url(app, db, first.id, None)
    assert client.get(f"/go/{first.id}").status_code == 404
    other = hotspot_of(db, pilot[1], "place")
    with app.app_context():
        db.session.get(Hotspot, other.id).offer_id = None
        db.session.commit()
    assert client.get(f"/go/{other.id}").status_code == 404
    assert client.get("/go/99999999").status_code == 404
    assert figures(db, first.id) == (0, 0)


def test_clue_hotspots_are_404_and_never_counted(client, db, clue, token):
    assert client.get(f"/go/{clue.id}").status_code == 404
    response = impression(client, clue.id, token=token)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert figures(db, clue.id) == (0, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HotspotDailyStat)) == 0


def test_unreleased_episode_hotspots_are_404_for_visitors(app, client, db, pilot, auth, make_user):
    unreleased = hotspot_of(db, pilot[4])
    assert client.get(f"/go/{unreleased.id}").status_code == 404
    assert impression(client, unreleased.id, token=csrf_token(client)).status_code == 404
    viewer = make_user(role="viewer")
    auth.login(viewer.email)
    assert client.get(f"/go/{unreleased.id}").status_code == 404
    assert impression(client, unreleased.id, token=csrf_token(client)).status_code == 404
    assert figures(db, unreleased.id) == (0, 0)


def test_editors_preview_unreleased_hotspots_without_counting(client, db, pilot, auth, make_user):
    unreleased = hotspot_of(db, pilot[4])
    editor = make_user(role="editor")
    auth.login(editor.email)
    response = client.get(f"/go/{unreleased.id}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc == "visit-poitiers.fr"
    response = impression(client, unreleased.id, token=csrf_token(client))
    assert response.status_code == 202
    assert response.get_json() == {"counted": False}
    assert figures(db, unreleased.id) == (0, 0)


def test_link_previewers_are_redirected_but_not_counted(client, db, shop):
    response = client.get(f"/go/{shop.id}", headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    assert response.status_code == 302
    assert client.head(f"/go/{shop.id}").status_code == 302
    assert figures(db, shop.id) == (0, 0)


def test_clicks_over_the_per_minute_budget_redirect_without_counting(app, client, db, shop):
    app.config["CLICK_COUNT_LIMIT"] = 3
    for _ in range(5):
        assert client.get(f"/go/{shop.id}").status_code == 302
    assert figures(db, shop.id) == (0, 3)


# ---------------------------------------------------------------- impressions


def test_an_impression_of_one_second_is_counted(client, db, released, token):
    response = impression(client, released.id, 1000, token)
    assert response.status_code == 202
    assert response.get_json() == {"counted": True}
    assert impression(client, released.id, 64000.5, token).status_code == 202
    assert figures(db, released.id) == (2, 0)


def test_an_impression_under_one_second_is_refused(client, db, released, token):
    response = impression(client, released.id, 999, token)
    assert response.status_code == 422
    assert response.get_json()["error"] == "too_short"
    assert response.get_json()["field"] == "visible_ms"
    assert figures(db, released.id) == (0, 0)


@pytest.mark.parametrize("value", ["1500", True, None, -5, [1500]])
def test_an_impression_needs_a_duration(client, db, released, token, value):
    response = impression(client, released.id, value, token)
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_visible_ms"
    response = client.post(
        f"/api/v1/hotspots/{released.id}/impressions",
        data="not json",
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert figures(db, released.id) == (0, 0)


def test_an_impression_without_csrf_token_is_refused(client, db, released):
    response = client.post(f"/api/v1/hotspots/{released.id}/impressions", json={"visible_ms": 1500})
    assert response.status_code == 400
    assert figures(db, released.id) == (0, 0)


def test_unknown_hotspot_impression_is_404(client, seeded, token):
    response = impression(client, 99999999, token=token)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_impressions_are_rate_limited_per_client(client, db, released, token):
    for _ in range(120):
        assert impression(client, released.id, 1200, token).status_code == 202
    response = impression(client, released.id, 1200, token)
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert "Retry-After" in response.headers
    assert figures(db, released.id) == (120, 0)
    # Another client has its own allowance.
    other = client.application.test_client()
    reply = other.post(
        f"/api/v1/hotspots/{released.id}/impressions",
        json={"visible_ms": 1200},
        headers={"X-CSRFToken": csrf_token(other)},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert reply.status_code == 202


def test_the_impressions_api_is_documented(client, seeded):
    document = client.get("/api/openapi.json").get_json()
    operation = document["paths"]["/api/v1/hotspots/{hotspot_id}/impressions"]["post"]
    assert {"202", "404", "422", "429"} <= set(operation["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "visible_ms"
    ]


# ---------------------------------------------------------------- per-day totals


def test_totals_are_kept_per_day_in_paris_time(app, client, db, released, token):
    paris = ZoneInfo("Europe/Paris")
    day = dt.datetime.now(paris).date() + dt.timedelta(days=30)
    late = dt.datetime.combine(day, dt.time(23, 30), tzinfo=paris)
    # 00:30 in Paris is still the day before in UTC: the Paris day counts.
    early = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 30), tzinfo=paris)
    assert early.astimezone(dt.UTC).date() == day
    moment = late
    app.config["CLOCK"] = lambda: moment
    assert impression(client, released.id, 1500, token).status_code == 202
    assert client.get(f"/go/{released.id}").status_code == 302
    moment = early
    assert impression(client, released.id, 1500, token).status_code == 202
    rows = db.session.execute(
        sa.select(HotspotDailyStat.day, HotspotDailyStat.impressions, HotspotDailyStat.clicks)
        .where(HotspotDailyStat.hotspot_id == released.id)
        .order_by(HotspotDailyStat.day)
    ).all()
    assert [tuple(r) for r in rows] == [(day, 1, 1), (day + dt.timedelta(days=1), 1, 0)]


def test_the_upsert_adds_to_the_existing_row(app_context, db, released):
    day = dt.date(2027, 5, 4)
    attribution.bump_daily(db.session, released.id, day, impressions=2)
    attribution.bump_daily(db.session, released.id, day, impressions=3, clicks=1)
    attribution._bump_portable(db.session, released.id, day, 1, 1)
    attribution._bump_portable(db.session, released.id, dt.date(2027, 5, 5), 1, 0)
    rows = db.session.execute(
        sa.select(HotspotDailyStat.day, HotspotDailyStat.impressions, HotspotDailyStat.clicks)
        .where(HotspotDailyStat.hotspot_id == released.id)
        .order_by(HotspotDailyStat.day)
    ).all()
    assert [tuple(r) for r in rows] == [(day, 6, 2), (dt.date(2027, 5, 5), 1, 0)]


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request, tmp_path) -> Iterator[str]:
    """A migrated database of its own (the test fixture's single connection cannot be shared
    between threads): a SQLite file, or a PostgreSQL schema."""
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with migrated_database(tmp_path, postgres) as url:
        yield url


def thread_engine(url: str) -> sa.Engine:
    """An engine with a connection for each of 20 threads (SQLite's default pool has 15)."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url)


def test_twenty_concurrent_impressions_add_up(own_database):
    engine = thread_engine(own_database)
    try:
        with Session(engine) as session:
            season = Season(number=1, departement_code="86", title="Vienne")
            episode = Episode(
                season=season,
                number=1,
                title="Pilote",
                publish_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
            partner = Partner(name="Épicerie")
            offer = Offer(partner=partner, kind="product", title="Broyé", url="https://x.example/")
            hotspot = Hotspot(
                episode=episode,
                kind="product",
                start_s=0,
                end_s=5,
                keyframes=[{"t": 0, "x": 1, "y": 1, "w": 5, "h": 5}],
                label="Broyé",
                offer=offer,
            )
            session.add(hotspot)
            session.commit()
            hotspot_id = hotspot.id
        start = threading.Barrier(20)
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                with Session(engine) as session:
                    start.wait(timeout=30)
                    # The request's path: the service's atomic upsert, then the commit.
                    attribution.bump_daily(
                        session, hotspot_id, dt.date(2027, 6, 1), impressions=1, clicks=index % 2
                    )
                    session.commit()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with Session(engine) as session:
            rows = session.execute(
                sa.select(HotspotDailyStat.impressions, HotspotDailyStat.clicks).where(
                    HotspotDailyStat.hotspot_id == hotspot_id
                )
            ).all()
        assert [tuple(r) for r in rows] == [(20, 10)]
    finally:
        engine.dispose()


def test_twenty_concurrent_requests_through_the_service(own_database):
    """record_impression in 20 threads that all read their hotspot first, as the views do."""
    engine = thread_engine(own_database)
    try:
        with Session(engine) as session:
            season = Season(number=2, departement_code="17", title="Charente-Maritime")
            episode = Episode(
                season=season,
                number=1,
                title="Pilote",
                publish_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
            hotspot = Hotspot(
                episode=episode,
                kind="info",
                start_s=0,
                end_s=5,
                keyframes=[{"t": 0, "x": 1, "y": 1, "w": 5, "h": 5}],
                label="Info",
            )
            session.add(hotspot)
            session.commit()
            hotspot_id = hotspot.id
        start = threading.Barrier(20)
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                start.wait(timeout=30)  # all threads race from here
                with Session(engine, expire_on_commit=False) as session:  # as the app's
                    found = session.get(Hotspot, hotspot_id)
                    assert found is not None
                    assert attribution.is_counted(found)
                    visitor = f"visitor-{index:02d}-abcdefghij" if index % 4 == 0 else None
                    session.commit()  # as the view does: the count's transaction starts writing
                    assert attribution.record_impression(session, found, visitor)
                    session.commit()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with Session(engine) as session:
            total = session.scalar(
                sa.select(sa.func.sum(HotspotDailyStat.impressions)).where(
                    HotspotDailyStat.hotspot_id == hotspot_id
                )
            )
            identified = session.scalar(sa.select(sa.func.count()).select_from(HotspotEvent))
        assert total == 20
        assert identified == 5
    finally:
        engine.dispose()


# ---------------------------------------------------------------- consent honoured


def consent(client: Any, answer: str) -> Any:
    return client.post(
        "/confidentialite/mesure-d-audience",
        data={"audience": answer, "csrf_token": csrf_token(client), "next": "/"},
    )


def every_value(db: Any) -> list[str]:
    """Every value of every row of every table, as text."""
    from core.models import metadata

    values = []
    for table in metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            values += [str(v) for v in row if v is not None]
    return values


def test_anonymous_activity_stores_no_identifier_anywhere(
    client, db, app, released, make_user, auth
):
    address = "203.0.113.77"
    agent = "Mozilla/5.0 (Marqueur-unique-9f3c)"
    client.environ_base.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    user = make_user(role="viewer", display_name="Marqueur Utilisateur")
    # Nobody consented: an anonymous visitor, then a signed-in one.
    token = csrf_token(client)
    assert impression(client, released.id, 1500, token).status_code == 202
    assert client.get(f"/go/{released.id}").status_code == 302
    auth.login(user.email)
    token = csrf_token(client)
    assert impression(client, released.id, 1500, token).status_code == 202
    assert client.get(f"/go/{released.id}").status_code == 302

    assert figures(db, released.id) == (2, 2)
    assert events(db) == []
    stat_columns = {c.name for c in HotspotDailyStat.__table__.columns}
    assert stat_columns == {"id", "hotspot_id", "day", "impressions", "clicks"}
    values = every_value(db)
    assert not [v for v in values if address in v or "Marqueur-unique" in v]
    # The user's own row exists, but no audience row refers to them.
    stats = db.session.execute(sa.select(HotspotDailyStat)).scalars().all()
    assert all((s.hotspot_id, s.impressions, s.clicks) == (released.id, 2, 2) for s in stats), (
        "one anonymous row, holding counts only"
    )


def test_consent_adds_one_identified_event_per_impression_and_click(client, db, released):
    assert consent(client, "accept").status_code == 302
    visitor = _visitor_from_cookie(client)
    token = csrf_token(client)
    assert impression(client, released.id, 1500, token).status_code == 202
    assert client.get(f"/go/{released.id}").status_code == 302
    assert impression(client, released.id, 2500, token).status_code == 202
    found = events(db)
    assert [(e.hotspot_id, e.kind, e.visitor) for e in found] == [
        (released.id, "impression", visitor),
        (released.id, "click", visitor),
        (released.id, "impression", visitor),
    ]
    assert figures(db, released.id) == (2, 1)
    # No IP nor anything else than the pseudonymous id.
    assert {c.name for c in HotspotEvent.__table__.columns} == {
        "id",
        "hotspot_id",
        "kind",
        "visitor",
        "at",
    }


def test_refusing_after_accepting_stops_identified_events(client, db, released):
    consent(client, "accept")
    first = _visitor_from_cookie(client)
    token = csrf_token(client)
    impression(client, released.id, 1500, token)
    consent(client, "refuse")
    assert _visitor_from_cookie(client) is None
    token = csrf_token(client)
    assert impression(client, released.id, 1500, token).status_code == 202
    assert client.get(f"/go/{released.id}").status_code == 302
    assert len(events(db)) == 1
    assert figures(db, released.id) == (2, 1)
    # Accepting again starts a new pseudonym: the old one is not linked to the new one.
    consent(client, "accept")
    second = _visitor_from_cookie(client)
    assert second
    assert second != first
    client.get(f"/go/{released.id}")
    assert [e.visitor for e in events(db)] == [first, second]


def test_a_forged_consent_cookie_is_ignored(client, db, released):
    client.set_cookie(
        "consent", '{"audience": true, "visitor": "forged-visitor-id-0001"}', domain="localhost"
    )
    token = csrf_token(client)
    assert impression(client, released.id, 1500, token).status_code == 202
    assert events(db) == []


def _visitor_from_cookie(client: Any) -> str | None:
    from core.consent import CONSENT_MAX_AGE, _serializer

    cookie = client.get_cookie("consent")
    assert cookie is not None
    with client.application.test_request_context():
        data = _serializer().loads(cookie.value, max_age=CONSENT_MAX_AGE)
    return data.get("visitor")
