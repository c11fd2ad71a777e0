"""Posting and finding tips through the API and the pages: review for new accounts, limits
answering 429, flags hiding a tip, photos without EXIF, the seeded tips near the pilot's places,
the maps' tile server from config."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from community.models import CommunityMember, Tip, TipPhoto, TipStatus
from tests.conftest import csrf_token

#: The Marais poitevin, at the embarcadère of Coulon.
COULON = (46.3262, -0.5905)
BODY = "Une balade en barque dans les conches, avec un batelier qui raconte le marais."


def tip_body(**extra: Any) -> dict[str, Any]:
    lat, lon = COULON
    return {
        "title": "Barque à Coulon",
        "body": BODY,
        "category": "visite",
        "lat": lat,
        "lon": lon,
    } | extra


@pytest.fixture
def bearer(make_user: Callable[..., Any], make_token: Callable[[Any], str]) -> Callable[..., Any]:
    """Factory: the Authorization header of a new account (a trust level may be given)."""

    def headers(email: str, level: int = 0, role: str = "resident", **standing: Any) -> Any:
        user = make_user(email, role=role)
        if level or standing:
            from core.db import db

            db.session.add(CommunityMember(user_id=user.id, trust_level=level, **standing))
            db.session.commit()
        return {"Authorization": f"Bearer {make_token(user)}"}

    return headers


def test_a_new_accounts_tip_waits_for_review_and_a_trusted_ones_is_published(
    app: Flask, client: Any, bearer: Callable[..., Any], seeded: Any
):
    new = client.post("/api/v1/tips", json=tip_body(), headers=bearer("nouvelle@example.org"))
    assert new.status_code == 201, new.get_json()
    data = new.get_json()
    assert data["status"] == "pending_review"
    assert data["commune"] == "Coulon"
    assert data["departement"] == "79"
    # Not public: the list and the page don't show it to others.
    assert client.get(f"/api/v1/tips/{data['id']}").status_code == 404
    found = client.get("/api/v1/tips", query_string={"near": "46.3262,-0.5905"}).get_json()
    assert data["id"] not in [t["id"] for t in found]

    trusted = client.post(
        "/api/v1/tips",
        json=tip_body(title="Mogettes au bord de l'eau", category="restaurant"),
        headers=bearer("ancienne@example.org", level=2),
    )
    assert trusted.status_code == 201
    assert trusted.get_json()["status"] == "published"
    near = client.get(
        "/api/v1/tips", query_string={"near": "46.3262,-0.5905", "radius_km": 2}
    ).get_json()
    assert near[0]["id"] == trusted.get_json()["id"]
    assert near[0]["distance_m"] == 0
    assert all(a["distance_m"] <= b["distance_m"] for a, b in itertools.pairwise(near))


def test_limits_of_a_new_account_answer_429_and_bad_input_422(
    client: Any, bearer: Callable[..., Any], seeded: Any
):
    headers = bearer("pressee@example.org")
    assert client.post("/api/v1/tips", json=tip_body(), headers=headers).status_code == 201
    again = client.post("/api/v1/tips", json=tip_body(title="Encore un"), headers=headers)
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > 0
    assert again.get_json()["error"] == "rate_limited"

    other = bearer("liens@example.org")
    links = " ".join(f"https://exemple{i}.fr" for i in range(3))
    too_many = client.post("/api/v1/tips", json=tip_body(body=BODY + " " + links), headers=other)
    assert too_many.status_code == 422
    assert "liens" in too_many.get_json()["fields"]["body"]

    bad = client.post(
        "/api/v1/tips",
        json={"title": "x", "body": "court", "category": "zoo", "lat": 48.85, "lon": 2.35},
        headers=other,
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"title", "body", "category"}
    paris = client.post("/api/v1/tips", json=tip_body(lat=48.8566, lon=2.3522), headers=other)
    assert paris.status_code == 422
    assert "Nouvelle-Aquitaine" in paris.get_json()["fields"]["place"]
    anonymous = {"X-CSRFToken": csrf_token(client, "/bons-plans")}
    assert client.post("/api/v1/tips", json=tip_body(), headers=anonymous).status_code == 401


def test_three_trusted_flags_hide_a_tip(client: Any, bearer: Callable[..., Any], seeded: Any):
    author = bearer("autrice@example.org", level=2)
    tip = client.post("/api/v1/tips", json=tip_body(), headers=author).get_json()
    url = f"/api/v1/tips/{tip['id']}/flags"
    assert client.post(url, json={"reason": "spam"}, headers=author).status_code == 403
    assert (
        client.post(url, json={"reason": "nope"}, headers=bearer("x@example.org")).status_code
        == 422
    )
    for number in range(3):
        answer = client.post(
            url, json={"reason": "spam"}, headers=bearer(f"fiable{number}@example.org", level=2)
        ).get_json()
        assert answer["hidden"] is (number == 2)
    assert client.get(f"/api/v1/tips/{tip['id']}").status_code == 404
    log = unescape(client.get("/bons-plans/journal").get_data(as_text=True))
    assert "un bon plan retiré" in log
    assert "Barque à Coulon" not in log


def test_an_uploaded_photo_keeps_no_exif_and_is_served_to_all_once_published(
    app: Flask, client: Any, bearer: Callable[..., Any], seeded: Any
):
    image = Image.new("RGB", (2400, 1600), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (46.0, 19.0, 22.8), 3: "W", 4: (0.0, 35.0, 9.6)}  # GPSInfo
    raw = io.BytesIO()
    image.save(raw, "JPEG", exif=exif)
    assert b"PhoneMaker" in raw.getvalue()
    posted = client.post(
        "/api/v1/tips",
        data=tip_body()
        | {"alt0": "Barques amarrées", "photos": (io.BytesIO(raw.getvalue()), "a.jpg")},
        headers=bearer("photographe@example.org", level=1),
        content_type="multipart/form-data",
    )
    assert posted.status_code == 201, posted.get_json()
    photo = posted.get_json()["photos"][0]
    assert photo["alt"] == "Barques amarrées"
    assert (photo["width"], photo["height"]) == (1600, 1067)
    served = client.get(photo["url"])
    assert served.status_code == 200
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.mimetype == "image/jpeg"  # re-encoded: never the uploaded type
    data = served.get_data()
    served.close()
    assert b"PhoneMaker" not in data
    assert b"Exif" not in data
    decoded = Image.open(io.BytesIO(data))
    assert not decoded.getexif()
    assert decoded.size == (1600, 1067)
    with app.app_context():
        stored = seeded.session.scalars(sa.select(TipPhoto)).one()
        root = Path(app.config["MEDIA_ROOT"]) / "tips" / str(stored.tip_id)
        assert b"PhoneMaker" not in (root / stored.path).read_bytes()
        assert stored.path != "a.jpg"


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_written(
    app: Flask, client: Any, bearer: Callable[..., Any], seeded: Any
):
    before = seeded.session.scalar(sa.select(sa.func.count()).select_from(Tip))
    posted = client.post(
        "/api/v1/tips",
        data=tip_body() | {"photos": (io.BytesIO(b"<svg onload=alert(1)>"), "a.jpg")},
        headers=bearer("svg@example.org", level=1),
        content_type="multipart/form-data",
    )
    assert posted.status_code == 422
    assert "Photo 1" in posted.get_json()["fields"]["photos"]
    assert seeded.session.scalar(sa.select(sa.func.count()).select_from(Tip)) == before


def test_the_seeded_tips_surround_the_pilots_places_and_search_is_french(client: Any, seeded: Any):
    near = client.get(
        "/api/v1/tips", query_string={"near": "46.6692,0.3689", "radius_km": 30}
    ).get_json()
    titles = [t["title"] for t in near]
    assert "Le marché de Notre-Dame, le samedi matin" in titles
    assert "Un parking gratuit près du Futuroscope" not in titles  # pending review
    assert near == sorted(near, key=lambda t: t["distance_m"])
    chateaux = client.get("/api/v1/tips", query_string={"q": "chateau"}).get_json()
    assert [t["title"] for t in chateaux] == ["Les châteaux de la vallée de la Dordogne en canoë"]
    events = client.get("/api/v1/tips", query_string={"category": "evenement"}).get_json()
    assert [t["title"] for t in events] == ["Fête de la mogette"]
    stale = client.get("/api/v1/tips", query_string={"departement": "17"}).get_json()
    assert stale[0]["stale"] is True
    bad = client.get("/api/v1/tips", query_string={"near": "nowhere"})
    assert bad.status_code == 422
    assert (
        client.get("/api/v1/tips", query_string={"radius_km": 500, "near": "46,0"}).status_code
        == 422
    )


def test_the_pages_list_find_and_post_a_tip_without_script(
    client: Any, auth: Any, make_user: Callable[..., Any], seeded: Any
):
    page = unescape(client.get("/bons-plans", query_string={"ou": "Coulon"}).get_data(as_text=True))
    assert "Autour de : Coulon" in page
    assert "Balade en barque dans la Venise verte" in page
    assert "choix d'un ambassadeur" in page
    assert client.get("/bons-plans/nouveau").status_code == 302  # sign in first
    auth.login(make_user("forme@example.org", role="resident").email)
    token = csrf_token(client, "/bons-plans/nouveau")
    refused = client.post(
        "/bons-plans/nouveau",
        data={"csrf_token": token, "title": "Le lavoir", "body": "court", "address": "Coulon"},
    )
    assert refused.status_code == 422
    html = unescape(refused.get_data(as_text=True))
    assert "Un texte de 20 à 5000 caractères." in html
    assert 'value="Le lavoir"' in html  # nothing typed is lost
    done = client.post(
        "/bons-plans/nouveau",
        data={
            "csrf_token": token,
            "title": "Le lavoir de la Repentie",
            "body": BODY,
            "category": "visite",
            "address": "Coulon",
        },
        follow_redirects=True,
    )
    html = unescape(done.get_data(as_text=True))
    assert "sera publié après relecture" in html
    assert "En attente de relecture" in html


def test_a_moderator_approves_from_the_queue_and_the_author_sees_it_published(
    client: Any, auth: Any, make_user: Callable[..., Any], seeded: Any
):
    auth.login(make_user("modo@example.org", role="moderator").email)
    queue = unescape(client.get("/moderation/bons-plans").get_data(as_text=True))
    assert "Un parking gratuit près du Futuroscope" in queue
    tip_id = seeded.session.scalar(
        sa.select(Tip.id).where(Tip.title == "Un parking gratuit près du Futuroscope")
    )
    token = csrf_token(client, "/moderation/bons-plans")
    done = client.post(
        "/moderation/bons-plans/decision",
        data={"csrf_token": token, "action": "approve", "tip": tip_id},
        follow_redirects=True,
    )
    assert "Décision enregistrée." in unescape(done.get_data(as_text=True))
    again = client.post(
        "/moderation/bons-plans/decision",
        data={"csrf_token": token, "action": "approve", "tip": tip_id},
        follow_redirects=True,
    )
    assert "Décision enregistrée." not in unescape(again.get_data(as_text=True))
    auth.logout()
    assert client.get(f"/api/v1/tips/{tip_id}").get_json()["status"] == TipStatus.PUBLISHED
    log = unescape(client.get("/bons-plans/journal").get_data(as_text=True))
    assert "Un parking gratuit près du Futuroscope" in log
    assert "modo@example.org" not in log


class StartTags(HTMLParser):
    """The start tags of a page, with their attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def having(self, attribute: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if attribute in attrs]

    def sources(self, tag: str, attribute: str) -> list[str]:
        return [attrs.get(attribute) or "" for name, attrs in self.tags if name == tag]


def test_the_tips_map_takes_the_tile_server_from_config_and_needs_one(
    app: Flask, client: Any, auth: Any, make_user: Callable[..., Any], seeded: Any
):
    tiles = "https://tiles.example.org/{z}/{x}/{y}.png"
    app.config |= {"PASSPORT_TILE_URL": tiles, "PASSPORT_TILE_ATTRIBUTION": "© Tiles"}
    html = client.get("/bons-plans?near=46.5838,0.3458&radius_km=25").get_data(as_text=True)
    page = StartTags(html)
    [views] = page.having("data-views")
    [panel] = page.having("data-map-view")
    [listed] = page.having("data-list-view")
    # Without script, the list is the page: the choice and the map wait for tips-map.js.
    assert "hidden" in views
    assert "hidden" in panel
    assert "hidden" not in listed
    assert [(b["data-view"], b["aria-pressed"]) for b in page.having("data-view")] == [
        ("list", "true"),
        ("map", "false"),
    ]
    assert (panel["data-tile-url"], panel["data-tile-attribution"]) == (tiles, "© Tiles")
    assert (panel["data-near"], panel["data-radius-m"]) == ("46.5838,0.3458", "25000")
    assert urlsplit(panel["data-leaflet-js"]).path == "/static/vendor/leaflet/leaflet.js"
    # Leaflet only when the map is chosen; no inline script (a strict CSP).
    assert not [href for href in page.sources("link", "href") if "leaflet" in href]
    scripts = [attrs for name, attrs in page.tags if name == "script"]
    assert all(s.get("src") or s.get("type") == "application/json" for s in scripts), scripts
    assert "/static/js/tips-map.js" in {urlsplit(s).path for s in page.sources("script", "src")}
    data = json.loads(html.split('id="tips-data">')[1].split("</script>")[0])
    assert [(t["title"], t["category_name"]) for t in data] == [
        ("Le marché de Notre-Dame, le samedi matin", "Produit local"),
        ("Les bords du Clain à vélo jusqu'au Futuroscope", "Nature"),
    ]
    auth.login(make_user("carte@example.org", role="resident").email)
    form = StartTags(client.get("/bons-plans/nouveau").get_data(as_text=True))
    [place_map] = form.having("data-place-map")
    assert place_map["data-tile-url"] == tiles
    assert "hidden" in form.having("data-place-map-open")[0]

    # No tile server: the list only, and the address or the position to place a tip.
    app.config["PASSPORT_TILE_URL"] = ""
    html = client.get("/bons-plans?near=46.5838,0.3458&radius_km=25").get_data(as_text=True)
    page = StartTags(html)
    assert page.having("data-views") == page.having("data-map-view") == []
    assert "Le marché de Notre-Dame, le samedi matin" in unescape(html)
    assert "/static/js/tips-map.js" not in {urlsplit(s).path for s in page.sources("script", "src")}
    form = StartTags(client.get("/bons-plans/nouveau").get_data(as_text=True))
    assert form.having("data-place-map") == form.having("data-place-map-open") == []
    assert form.having("data-use-position")
