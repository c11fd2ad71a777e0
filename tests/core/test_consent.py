"""Audience-measurement consent: the banner, the choice page and the signed cookie."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from flask import Response

from core import consent
from core.consent import CONSENT_COOKIE, CONSENT_MAX_AGE, _serializer
from tests.conftest import csrf_token

PAGE = "/confidentialite/mesure-d-audience"
BANNER = re.compile(r'<section class="consent-banner".*?</section>', re.S)


def html_text(markup: str, keep_links: bool = False) -> str:
    """The text of some HTML, entities decoded (links kept as `<a HREF>` when asked)."""
    if keep_links:
        markup = re.sub(r'<a href="([^"]*)"[^>]*>', r" &lt;a \1&gt; ", markup)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def banner(html: str) -> str | None:
    match = BANNER.search(html)
    return match.group(0) if match else None


def choose(client: Any, answer: str, next_url: str = "/") -> Any:
    return client.post(
        PAGE, data={"audience": answer, "csrf_token": csrf_token(client), "next": next_url}
    )


def cookie_data(client: Any) -> dict[str, Any]:
    cookie = client.get_cookie(CONSENT_COOKIE)
    assert cookie is not None
    with client.application.test_request_context():
        return _serializer().loads(cookie.value, max_age=CONSENT_MAX_AGE)


def test_the_banner_shows_on_every_page_until_a_choice_is_made(client, seeded):
    for path in ("/", "/saisons", "/connexion", "/page-qui-n-existe-pas"):
        html = client.get(path).get_data(as_text=True)
        assert banner(html) is not None, path
    response = choose(client, "refuse", "/saisons")
    assert response.status_code == 302
    for path in ("/", "/saisons", "/connexion"):
        assert banner(client.get(path).get_data(as_text=True)) is None, path


def test_the_banner_is_a_plain_form_with_two_equal_buttons(client, seeded):
    html = client.get("/saisons?page=2").get_data(as_text=True)
    section = banner(html)
    assert section is not None
    # Right after the skip link, before the header.
    assert html.index("skip-link") < html.index("consent-banner") < html.index("site-header")
    assert f'<form method="post" action="{PAGE}"' in section
    assert 'name="csrf_token"' in section
    assert 'name="next" value="/saisons?page=2"' in section
    buttons = re.findall(r"<button ([^>]*)>([^<]*)</button>", section)
    assert [label for _attrs, label in buttons] == ["Accepter", "Refuser"]
    attributes = [re.sub(r'value="\w+"', "", attrs) for attrs, _label in buttons]
    assert attributes[0] == attributes[1], "refusing must be as easy and visible as accepting"
    assert 'value="accept"' in buttons[0][0]
    assert 'value="refuse"' in buttons[1][0]
    assert f'href="{PAGE}"' in section
    assert "<script" not in section
    assert " on" not in re.sub(r'"[^"]*"', '""', section), "no inline event handler"


def test_accepting_stores_a_signed_cookie_with_a_pseudonymous_id(client, seeded):
    response = choose(client, "accept", "/saisons")
    assert response.status_code == 302
    assert response.headers["Location"] == "/saisons"
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{CONSENT_COOKIE}=")
    assert f"Max-Age={CONSENT_MAX_AGE}" in header
    assert CONSENT_MAX_AGE <= 13 * 31 * 24 * 3600
    assert "SameSite=Lax" in header
    assert "HttpOnly" in header
    assert "Path=/" in header
    assert "Secure" not in header  # not in tests; see the production test below
    data = cookie_data(client)
    assert data["audience"] is True
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,40}", data["visitor"])
    assert data["at"].startswith("20")
    with client.application.test_request_context(
        headers={"Cookie": f"{CONSENT_COOKIE}={client.get_cookie(CONSENT_COOKIE).value}"}
    ):
        assert consent.audience_consent() == data["visitor"]
    html = client.get("/").get_data(as_text=True)
    assert "Mesure d&#39;audience acceptée" in html or "Mesure d'audience acceptée" in html


def test_refusing_keeps_no_identifier(client, seeded):
    choose(client, "refuse")
    data = cookie_data(client)
    assert data["audience"] is False
    assert "visitor" not in data
    with client.application.test_request_context(
        headers={"Cookie": f"{CONSENT_COOKIE}={client.get_cookie(CONSENT_COOKIE).value}"}
    ):
        assert consent.audience_consent() is None


def test_the_choice_can_be_changed_at_any_time(client, seeded):
    choose(client, "accept")
    html = client.get(PAGE).get_data(as_text=True)
    assert "Vous avez accepté la mesure d" in html
    assert 'value="refuse"' in html
    choose(client, "refuse", PAGE)
    html = client.get(PAGE).get_data(as_text=True)
    assert "Vous avez refusé la mesure d" in html
    assert cookie_data(client)["audience"] is False
    choose(client, "accept", PAGE)
    assert cookie_data(client)["audience"] is True


def test_the_page_works_before_any_choice_and_hides_the_banner(client, seeded):
    html = client.get(PAGE).get_data(as_text=True)
    assert "pas encore fait de choix" in html
    assert banner(html) is None  # the page has the form itself
    assert html.count('name="audience"') == 2


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:x"]
)
def test_going_back_never_leaves_the_site(client, seeded, target):
    response = choose(client, "refuse", target)
    assert response.status_code == 302
    assert response.headers["Location"] == PAGE


def test_an_unknown_answer_is_refused(client, seeded):
    response = client.post(
        PAGE, data={"audience": "peut-etre", "csrf_token": csrf_token(client), "next": "/"}
    )
    assert response.status_code == 422
    assert "Choisissez « Accepter » ou « Refuser »." in response.get_data(as_text=True)
    assert client.get_cookie(CONSENT_COOKIE) is None


def test_the_choice_needs_the_csrf_token(client, seeded):
    response = client.post(PAGE, data={"audience": "accept", "next": "/"})
    assert response.status_code == 400
    assert client.get_cookie(CONSENT_COOKIE) is None


def test_forged_or_expired_cookies_count_as_no_choice(client, seeded, monkeypatch):
    client.set_cookie(CONSENT_COOKIE, '{"audience": true, "visitor": "x"}', domain="localhost")
    assert banner(client.get("/").get_data(as_text=True)) is not None
    with client.application.test_request_context():
        # Signed 14 months ago: older than the 13 months a choice is kept.
        monkeypatch.setattr(
            "itsdangerous.timed.time.time", lambda: time.time_ns() / 1e9 - 14 * 31 * 86400
        )
        old = _serializer().dumps({"audience": True, "visitor": "a" * 24, "at": "2025-01-01"})
        monkeypatch.undo()
    client.set_cookie(CONSENT_COOKIE, old, domain="localhost")
    assert banner(client.get("/").get_data(as_text=True)) is not None
    with client.application.test_request_context(headers={"Cookie": f"{CONSENT_COOKIE}={old}"}):
        assert consent.audience_consent() is None


def test_the_cookie_is_secure_in_production(app):
    app.config["EXPERTS_ENV"] = "production"
    with app.test_request_context("/"):
        response = Response()
        choice = consent.store_choice(response, True)
        header = response.headers["Set-Cookie"]
    assert "Secure" in header
    assert choice.visitor
    assert choice.audience is True


def test_the_banner_names_both_purposes_and_the_history_its_text_version(client, seeded):
    section = banner(client.get("/").get_data(as_text=True))
    assert section is not None
    text = html_text(section)
    assert "Mesure d'audience et attribution" in text
    assert "mesurer l'audience" in text
    assert "attribuer à nos partenaires les clics vers leurs offres" in text
    assert "ni votre compte, ni votre adresse IP" in text
    assert "Modifiable à tout moment" in text
    assert consent.TEXT_VERSIONS[consent.AUDIENCE] == "2026-12-02"


def test_changing_ones_choice_is_one_footer_link_away_on_every_page(client):
    choose(client, "accept")  # the banner is gone: the footer link remains
    for path in ("/", "/saisons", "/connexion", "/bons-plans", "/nulle-part"):
        html = client.get(path).get_data(as_text=True)
        footer = html_text(html[html.index('<footer class="site-footer">') :], keep_links=True)
        assert f"<a {PAGE}> Mesure d'audience : modifier mon choix" in footer, path


def test_a_changed_choice_is_honoured_at_the_next_click(client, db, pilot):
    """Accept from the banner, click an offer (attributed); refuse, click: no identifier."""
    import sqlalchemy as sa

    from series.episodes.hotspot_models import Hotspot, HotspotEvent

    hotspot_id = db.session.scalars(
        sa.select(Hotspot.id)
        .where(Hotspot.episode_id == pilot[1], Hotspot.offer_id.is_not(None))
        .where(Hotspot.kind == "product")
        .order_by(Hotspot.id)
    ).first()
    episode_page = f"/episodes/{pilot[1]}"
    assert choose(client, "accept", episode_page).headers["Location"] == episode_page
    visitor = cookie_data(client)["visitor"]
    assert client.get(f"/go/{hotspot_id}").status_code == 302
    assert choose(client, "refuse", episode_page).status_code == 302
    assert client.get(f"/go/{hotspot_id}").status_code == 302
    identified = db.session.execute(sa.select(HotspotEvent.kind, HotspotEvent.visitor)).all()
    assert identified == [("click", visitor)], "the click after refusing stores no identifier"
