"""The foundation in a real browser: phone layout, keyboard use, languages, accounts, catalogue.

One `experts serve` process (demo-seeded) serves the whole module; see conftest.py.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support.live import REPO_ROOT, LiveEnvironment

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "demo-experts-2026"  # every seeded demo account
EN_CATALOGUE = REPO_ROOT / "core" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
#: French msgid -> the English text expected in the header once the catalogue translates it.
EXPECTED_ENGLISH = {"Saisons": "Seasons", "Rechercher": "Search", "Se connecter": "Log in"}


@pytest.fixture(scope="module")
def pilot(live: LiveEnvironment, live_server: str) -> dict[int, dict[str, Any]]:
    """Episode number -> API representation of the pilot season's episodes, seen by an editor
    (who also sees the unreleased ones)."""
    token = live.experts("users", "token", "editrice@experts.example").stdout.strip()
    response = requests.get(
        f"{live_server}/api/v1/seasons/1/episodes",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    episodes = {int(e["number"]): e for e in response.json()}
    assert sorted(episodes) == [1, 2, 3, 4, 5, 6]
    return episodes


def active(page: Page) -> dict[str, Any]:
    """What has the keyboard focus: tag, id, text, href and its computed outline."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || "").trim(),
                href: el.getAttribute("href"), outlineStyle: style.outlineStyle,
                outlineWidth: style.outlineWidth,
            };
        }"""
    )


def assert_focus_visible(page: Page) -> None:
    focused = active(page)
    assert focused["outlineStyle"] != "none", f"no focus indicator on {focused}"
    assert focused["outlineWidth"] != "0px", f"no focus indicator on {focused}"


def tab_until(page: Page, predicate: Any, *, key: str = "Tab", limit: int = 20) -> dict[str, Any]:
    """Press Tab (or Shift+Tab) until the focused element matches; returns it."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        focused = active(page)
        seen.append(focused["text"] or focused["id"] or focused["tag"])
        if predicate(focused):
            return focused
    raise AssertionError(f"never reached by {key}: focus went through {seen}")


def test_home_on_a_phone_fits_and_stays_on_the_site(phone_page: Page, live_server: str) -> None:
    requested: list[str] = []
    console_errors: list[str] = []
    phone_page.on("request", lambda request: requested.append(request.url))
    phone_page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    phone_page.on("pageerror", lambda error: console_errors.append(str(error)))

    response = phone_page.goto(live_server + "/")
    phone_page.wait_for_load_state("networkidle")

    assert response is not None
    assert response.status == 200
    expect(phone_page).to_have_title(re.compile("Les Experts de Nouvelle-Aquitaine"))
    label = phone_page.locator("label[for=q]")
    expect(label).to_be_visible()
    expect(label).to_have_text("Rechercher un épisode, un lieu, un bon plan")
    search = phone_page.get_by_label("Rechercher un épisode, un lieu, un bon plan")
    expect(search).to_be_visible()
    expect(search).to_be_in_viewport()
    expect(search).to_be_editable()
    box = search.bounding_box()
    assert box is not None
    assert box["height"] >= 44, "touch target smaller than 44 CSS pixels"
    expect(
        phone_page.get_by_role("heading", level=2, name=re.compile("Meurtre au Futuroscope"))
    ).to_be_visible()
    expect(phone_page.locator(".season-grid li")).to_have_count(12)

    widths = phone_page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["inner"] == 390
    assert widths["scroll"] <= widths["inner"], f"horizontal scroll on a phone: {widths}"

    assert console_errors == []
    origin = live_server.rstrip("/")
    assert requested, "no request recorded"
    outside = [
        url for url in requested if f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != origin
    ]
    assert outside == [], f"requests leaving the site: {outside}"


def test_keyboard_only_skip_link_and_login(page: Page, live_server: str) -> None:
    page.goto(live_server + "/")

    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["text"] == "Aller au contenu"
    assert focused["href"] == "#contenu"
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport(ratio=1)
    assert_focus_visible(page)

    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    # The next Tab goes into the content (the search field), past the header.
    page.keyboard.press("Tab")
    expect(page.locator("#q")).to_be_focused()
    assert_focus_visible(page)

    # Back up through the header to the login link.
    focused = tab_until(page, lambda f: f["text"] == "Se connecter", key="Shift+Tab", limit=8)
    assert focused["href"] == "/connexion"
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/connexion$"))

    tab_until(page, lambda f: f["id"] == "email")
    assert_focus_visible(page)
    page.keyboard.type("camille@experts.example")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/compte$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    expect(page.locator("main")).to_contain_text("camille@experts.example")
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


def _catalogue_strings() -> dict[str, str]:
    """French msgid -> English msgstr of the catalogue, for the strings this test expects."""
    if not EN_CATALOGUE.exists():
        return {}
    from babel.messages.pofile import read_po

    with EN_CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    found = {}
    for msgid in EXPECTED_ENGLISH:
        message = catalogue.get(msgid)
        if message is not None and message.string and not message.fuzzy:
            found[msgid] = str(message.string)
    return found


def test_language_switch_to_english(page: Page, live_server: str) -> None:
    page.goto(live_server + "/saisons")
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    page.get_by_role("link", name="English").click()

    page.wait_for_url(re.compile(r"/saisons$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.get_by_role("navigation").first
    # The link back is the same whatever the catalogue holds.
    expect(nav.get_by_role("link", name="Français")).to_be_visible()
    expect(nav.get_by_role("link", name="English")).to_have_count(0)
    # The chosen language sticks (cookie) on the next page.
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    translated = _catalogue_strings()
    for msgid, english in EXPECTED_ENGLISH.items():
        if translated.get(msgid) != english:
            continue  # not in the English catalogue yet (or worded differently)
        expect(nav.get_by_text(english, exact=True)).to_be_visible()
        expect(nav.get_by_text(msgid, exact=True)).to_have_count(0)


def test_sign_up_then_log_out_on_a_phone(phone_page: Page, live_server: str) -> None:
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.org"
    phone_page.goto(live_server + "/inscription")
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Créer un compte")

    phone_page.get_by_label("Adresse e-mail").fill(email)
    phone_page.get_by_label("Nom affiché").fill("Enquêtrice du dimanche")
    phone_page.get_by_label("Mot de passe", exact=True).fill("une longue phrase secrète")
    phone_page.get_by_label("Confirmez le mot de passe").fill("une longue phrase secrète")
    phone_page.get_by_role("button", name="Créer mon compte").tap()

    phone_page.wait_for_url(re.compile(r"/compte$"))
    expect(phone_page.locator(".flashes")).to_contain_text("Votre compte est créé")
    expect(phone_page.locator("main")).to_contain_text(email)
    widths = phone_page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["inner"], f"horizontal scroll on /compte: {widths}"

    logout = phone_page.get_by_role("button", name="Se déconnecter")
    expect(logout).to_be_visible()
    logout.tap()
    phone_page.wait_for_url(live_server + "/")
    expect(phone_page.locator(".flashes")).to_contain_text("Vous êtes déconnecté.")
    expect(phone_page.get_by_role("link", name="Se connecter")).to_be_visible()

    phone_page.goto(live_server + "/compte")
    assert urlsplit(phone_page.url).path == "/connexion"
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("Se connecter")


def test_form_errors_are_announced_and_linked(page: Page, live_server: str) -> None:
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse e-mail").fill("habitante@experts.example")
    page.get_by_label("Mot de passe", exact=True).fill("pas le bon mot de passe")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Se connecter").last.click()
    assert posted.value.status == 401

    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Le formulaire contient des erreurs")
    expect(summary).to_contain_text("Adresse e-mail ou mot de passe incorrect.")
    expect(summary.get_by_role("link")).to_have_attribute("href", "#password")
    password = page.locator("#password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", "password-err")
    expect(page.locator("#password-err")).to_have_text("Adresse e-mail ou mot de passe incorrect.")
    expect(page.locator("#email")).not_to_have_attribute("aria-invalid", "true")
    # The typed e-mail is kept, the password is not.
    expect(page.locator("#email")).to_have_value("habitante@experts.example")
    expect(password).to_have_value("")

    page.goto(live_server + "/inscription")
    page.get_by_label("Adresse e-mail").fill(f"e2e-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_label("Nom affiché").fill("Témoin distrait")
    page.get_by_label("Mot de passe", exact=True).fill("une longue phrase secrète")
    page.get_by_label("Confirmez le mot de passe").fill("une autre phrase secrète")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Créer mon compte").click()
    assert posted.value.status == 422

    expect(page.get_by_role("alert")).to_contain_text("Les mots de passe diffèrent.")
    confirm = page.locator("#confirm")
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(confirm).to_have_attribute("aria-describedby", "confirm-err")
    error = page.locator("#confirm-err")
    expect(error).to_be_visible()
    expect(error).to_have_text("Les mots de passe diffèrent.")
    # "Next to the field": in the same field group, right below the input.
    expect(page.locator(".field.has-error", has=confirm).locator(".error")).to_have_count(1)
    field_box, error_box = confirm.bounding_box(), error.bounding_box()
    assert field_box is not None
    assert error_box is not None
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
    # Accessible description as assistive technology computes it.
    expect(confirm).to_have_accessible_description("Les mots de passe diffèrent.")
    # The password hint is still linked to its field, without an error.
    expect(page.locator("#password")).to_have_attribute("aria-describedby", "password-hint")


def test_unreleased_episode_is_a_404_in_the_site_style(
    page: Page, live_server: str, pilot: dict[int, dict[str, Any]]
) -> None:
    assert pilot[6]["released"] is False
    # A released episode of the same season opens normally...
    response = page.goto(f"{live_server}/episodes/{pilot[1]['id']}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(pilot[1]["title"])

    # ...the unreleased one is "not found", exactly like a missing one.
    response = page.goto(f"{live_server}/episodes/{pilot[6]['id']}")

    assert response is not None
    assert response.status == 404
    assert "text/html" in response.headers["content-type"]
    expect(page.locator("header.site-header")).to_be_visible()
    expect(page.get_by_role("navigation", name="Navigation principale")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Épisode introuvable.")
    home = page.get_by_role("link", name="Retour à l'accueil")
    expect(home).to_be_visible()
    expect(home).to_have_attribute("href", "/")
    html = page.content()
    assert pilot[6]["title"] not in html
    assert pilot[6]["synopsis"] not in html


def test_season_page_hides_the_secret_title(
    page: Page, live_server: str, pilot: dict[int, dict[str, Any]]
) -> None:
    page.goto(live_server + "/saisons/1")

    expect(page.get_by_role("heading", level=1)).to_have_text("Meurtre au Futuroscope")
    released = page.locator("ol.cards > li")
    expect(released).to_have_count(3)
    for index, number in enumerate((1, 2, 3)):
        card = released.nth(index)
        expect(card.locator(".card-title")).to_have_text(pilot[number]["title"])
        expect(card.get_by_role("link")).to_have_attribute(
            "href", f"/episodes/{pilot[number]['id']}"
        )

    expect(page.get_by_role("heading", level=2, name="Prochainement")).to_be_visible()
    upcoming = page.locator("ul.upcoming > li")
    expect(upcoming).to_have_count(3)
    for index, number in enumerate((4, 5)):
        expect(upcoming.nth(index)).to_contain_text(f"Épisode {number} : {pilot[number]['title']}")
    # Number and date only: "Épisode 6 — sortie le …", no " : title".
    expect(upcoming.nth(2)).to_have_text(re.compile(r"^\s*Épisode 6\s+— sortie le "))
    for item in upcoming.all():
        expect(item.locator("time[datetime]")).to_have_count(1)
    # Nowhere in the page, not even in a link or an attribute.
    assert pilot[6]["title"] not in page.content()
    assert f"/episodes/{pilot[4]['id']}" not in page.content()


def test_episode_page_shows_live_presence_over_socketio(browser, live_server):
    """Two viewers on the same episode see each other through the vendored socket.io-client."""
    import json
    from urllib.request import urlopen

    with urlopen(f"{live_server}/api/v1/seasons/1/episodes") as response:
        episode_id = json.load(response)[0]["id"]
    first = browser.new_context(locale="fr-FR")
    second = browser.new_context(locale="fr-FR")
    try:
        page_one, page_two = first.new_page(), second.new_page()
        page_one.goto(f"{live_server}/episodes/{episode_id}")
        presence = page_one.locator("[data-presence]")
        presence.wait_for(state="visible", timeout=10_000)
        assert "1 personne regarde" in presence.inner_text()
        page_two.goto(f"{live_server}/episodes/{episode_id}")
        page_one.wait_for_function(
            # A function, not an expression: Playwright evals expressions, which the CSP forbids.
            "() => document.querySelector('[data-presence]').textContent.startsWith('2 personnes')",
            timeout=10_000,
        )
    finally:
        first.close()
        second.close()


def test_the_consent_banner_leaves_a_small_phones_first_screen_to_the_page(
    phone_page: Page, live_server: str
) -> None:
    """360×640: the banner takes at most 40 % of the screen; the page's heading stays in view."""
    phone_page.set_viewport_size({"width": 360, "height": 640})
    for path in ("/", "/saisons", "/bons-plans"):
        phone_page.goto(f"{live_server}{path}")
        banner = phone_page.locator(".consent-banner")
        expect(banner).to_be_visible()
        box = banner.bounding_box()
        assert box is not None
        assert box["height"] <= 0.4 * 640, f"{path}: banner {box['height']:.0f}px of 640"
        expect(phone_page.locator("h1").first).to_be_in_viewport()
        expect(banner.get_by_role("button", name="Refuser")).to_be_in_viewport()
    # Answered: gone; the footer link brings the choice back, to change it.
    phone_page.locator(".consent-banner").get_by_role("button", name="Refuser").click()
    expect(phone_page.locator(".consent-banner")).to_have_count(0)
    expect(phone_page).to_have_url(f"{live_server}/bons-plans")
    phone_page.get_by_role("link", name="Mesure d'audience : modifier mon choix").click()
    expect(phone_page.get_by_role("status")).to_contain_text("Vous avez refusé")
