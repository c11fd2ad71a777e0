"""The passport's map and list views in Chromium: the map loads Leaflet and the tiles from the
platform only when chosen, a marker per place, a keyboard way in and out; with a position, the
visitor on the map and the nearest places first in the list. Every request stays on 127.0.0.1.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Geolocation, Page, expect

from tests.e2e.conftest import LOCAL_TILE_URL, SCREENSHOTS
from tests.e2e.pages import assert_all_local, record_requests, settled, tab_to, watch_errors

pytestmark = pytest.mark.e2e

#: ~3 km south of the Futuroscope, the nearest place; ~40 m from it; ~15 m from the Rocher de
#: la Vierge, Biarritz (as in test_passport.py).
FAR: Geolocation = {"latitude": 46.6422, "longitude": 0.3689, "accuracy": 30}
NEAR: Geolocation = {"latitude": 46.6695, "longitude": 0.3692, "accuracy": 20}
BIARRITZ: Geolocation = {"latitude": 43.4843, "longitude": -1.5702, "accuracy": 15}


def shot(page: Page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"passport-map-{name}.png"), full_page=full_page)


def open_passport(page: Page, live_server: str) -> int:
    """The passport page as a guest; returns how many places it lists."""
    page.goto(live_server + "/passeport")
    expect(page.get_by_role("heading", level=1)).to_have_text("Passeport des lieux de tournage")
    count: int = page.evaluate(
        "JSON.parse(document.getElementById('passport-places').textContent).length"
    )
    assert count > 1
    return count


def test_on_a_phone_the_map_shows_every_place_on_local_tiles(
    phone_page: Page, live_server: str
) -> None:
    page = phone_page
    urls = record_requests(page)
    errors = watch_errors(page)
    count = open_passport(page, live_server)
    map_button = page.get_by_role("button", name="Carte", exact=True)
    list_button = page.get_by_role("button", name="Liste", exact=True)
    expect(list_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#passport-list")).to_be_visible()
    assert not [url for url in urls if "leaflet" in url]  # the list costs no map
    shot(page, "phone-list-before", full_page=False)

    map_button.click()
    expect(map_button).to_have_attribute("aria-pressed", "true")
    expect(list_button).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_role("region", name="Carte des lieux de tournage")).to_be_visible()
    expect(page.locator("#passport-list")).to_be_hidden()
    markers = page.locator(".leaflet-marker-pane .pm-marker")
    expect(markers).to_have_count(count)
    expect(page.get_by_role("button", name="Futuroscope — À tamponner")).to_have_count(1)
    oradour = page.get_by_role("button", name=re.compile(r"Oradour.* — Lieu de mémoire$"))
    expect(oradour).to_have_count(1)
    expect(page.locator(".leaflet-overlay-pane path")).to_have_count(1)  # the dune's outline
    tiles = page.locator("img.leaflet-tile")
    expect(tiles.first).to_have_class(re.compile(r"\bleaflet-tile-loaded\b"))
    sources = tiles.evaluate_all("ts => ts.map(t => [t.src, t.naturalWidth])")
    assert sources
    assert all(src == live_server + LOCAL_TILE_URL and width == 256 for src, width in sources)
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    leaflet = live_server + "/static/vendor/leaflet/leaflet.js"
    assert any(u.split("?")[0] == leaflet for u in urls), urls  # ?v=: the file's hash
    # The map fits on the phone's screen, without sideways scrolling.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.get_by_role("region", name="Carte des lieux de tournage").scroll_into_view_if_needed()
    settled(page)
    shot(page, "phone-map", full_page=False)

    # A tap on a marker names the place and leads to it in the list.
    page.get_by_role("button", name="Futuroscope — À tamponner").click()
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text("Futuroscope")
    expect(popup).to_contain_text("À tamponner")
    settled(page)
    shot(page, "phone-popup", full_page=False)
    popup.get_by_role("link", name="Voir dans la liste pour tamponner").click()
    futuroscope = page.locator("li[data-place]").filter(
        has=page.get_by_role("heading", name="Futuroscope")
    )
    expect(futuroscope).to_be_focused()
    expect(page.locator("#passport-list")).to_be_visible()
    expect(list_button).to_have_attribute("aria-pressed", "true")
    assert re.search(r"#lieu-\d+$", page.url)
    assert_all_local(urls, live_server)
    assert errors == [], errors


def test_the_keyboard_opens_the_map_reads_a_place_and_comes_back_to_the_list(
    page: Page, live_server: str
) -> None:
    urls = record_requests(page)
    errors = watch_errors(page)
    open_passport(page, live_server)
    map_button = page.get_by_role("button", name="Carte", exact=True)
    list_button = page.get_by_role("button", name="Liste", exact=True)

    tab_to(page, map_button)
    page.keyboard.press("Enter")
    expect(map_button).to_have_attribute("aria-pressed", "true")
    expect(map_button).to_be_focused()  # a toggle keeps the focus
    expect(page.locator(".leaflet-marker-pane .pm-marker").first).to_be_visible()

    # The map itself, then its places, one Tab each; Enter opens a place's popup.
    canvas = page.get_by_role("region", name="Carte des lieux de tournage")
    tab_to(page, canvas)
    futuroscope = page.get_by_role("button", name="Futuroscope — À tamponner")
    tab_to(page, futuroscope)
    page.keyboard.press("Enter")
    link = page.locator(".leaflet-popup").get_by_role("link", name="Voir dans la liste")
    expect(link).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    expect(futuroscope).to_be_focused()
    expect(page.locator(".leaflet-popup-close-button")).to_have_count(0)

    tab_to(page, list_button, "Shift+Tab")
    page.keyboard.press("Space")
    expect(list_button).to_have_attribute("aria-pressed", "true")
    expect(list_button).to_be_focused()
    expect(page.locator("#passport-list")).to_be_visible()
    expect(page.locator("#passport-map")).to_be_hidden()

    # The choice is remembered on this device.
    page.reload()
    expect(list_button).to_have_attribute("aria-pressed", "true")
    map_button.click()
    page.reload()
    expect(map_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".leaflet-marker-pane .pm-marker").first).to_be_visible()
    assert_all_local(urls, live_server)
    assert errors == [], errors


def test_with_a_position_the_nearest_places_come_first_and_the_map_shows_the_visitor(
    phone_page: Page, live_server: str
) -> None:
    page = phone_page
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation(FAR)
    urls = record_requests(page)
    errors = watch_errors(page)
    count = open_passport(page, live_server)
    nearest = page.locator("[data-nearest]")
    expect(nearest).to_be_hidden()

    page.get_by_role("button", name="Utiliser ma position").click()
    expect(nearest).to_be_visible()
    expect(page.get_by_role("heading", name="Les plus proches d'abord")).to_be_visible()
    rows = nearest.locator("[data-nearest-list] > li")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text(re.compile(r"^Futuroscope À (2,9|3,0|3,1) km\s*$"))
    expect(nearest.locator("summary")).to_have_text(f"Les {count - 5} autres lieux, par distance")
    status = page.locator("[data-nearest-status]")
    expect(status).to_have_text(re.compile(r"^Lieu le plus proche : Futuroscope, à \d,\d km\.$"))
    announced = status.inner_text()
    distances = rows.locator(".passport-nearest-distance").all_inner_texts()
    km = [float(re.sub(r"[^0-9,]", "", d).replace(",", ".")) for d in distances[1:]]
    assert km == sorted(km), distances
    nearest.scroll_into_view_if_needed()
    shot(page, "phone-nearest", full_page=False)

    # Walking in: the distance follows, the announcement does not repeat for the same place.
    page.context.set_geolocation(NEAR)
    expect(rows.first).to_contain_text("Vous êtes sur place")
    expect(status).to_have_text(announced)
    rows.first.get_by_role("link", name="Futuroscope").click()
    futuroscope = page.locator("li[data-place]").filter(
        has=page.get_by_role("heading", name="Futuroscope")
    )
    expect(futuroscope).to_be_focused()
    # Stamped from the list: the nearest-first list and the map say so (a mark, not a colour).
    futuroscope.get_by_role("button", name="Tamponner ici").click()
    expect(futuroscope.locator("[data-distance]")).to_have_text("Tamponné ! Bravo.")
    expect(rows.first).to_contain_text("· tamponné")

    # On the map: the visitor's accuracy circle and dot, the distance in the popup.
    page.get_by_role("button", name="Carte", exact=True).click()
    expect(page.locator(".leaflet-marker-pane .pm-marker")).to_have_count(count)
    expect(page.locator(".leaflet-overlay-pane path")).to_have_count(3)  # dune, circle, dot
    page.get_by_role("region", name="Carte des lieux de tournage").scroll_into_view_if_needed()
    settled(page)
    shot(page, "phone-map-position", full_page=False)
    page.get_by_role("button", name="Futuroscope — Tamponné").click()
    expect(page.locator(".leaflet-popup")).to_contain_text(
        re.compile(r"Vous êtes sur place \(à \d+ m\)\.")
    )
    expect(page.locator(".leaflet-popup")).to_contain_text("Tamponné")
    settled(page)
    shot(page, "phone-map-stamped", full_page=False)

    # Far away, another place becomes the nearest: that is announced.
    page.context.set_geolocation(BIARRITZ)
    expect(status).to_have_text(
        re.compile(r"^Lieu le plus proche : Rocher de la Vierge.*, vous êtes sur place")
    )
    page.get_by_role("button", name="Liste", exact=True).click()
    expect(rows.first).to_contain_text("Rocher de la Vierge")
    assert_all_local(urls, live_server)
    assert errors == [], errors


def test_in_english_the_views_and_the_map_speak_english(page: Page, live_server: str) -> None:
    errors = watch_errors(page)
    page.goto(live_server + "/passeport?lang=en")
    page.get_by_role("button", name="Map", exact=True).click()
    expect(page.get_by_role("region", name="Map of the filming locations")).to_be_visible()
    expect(page.get_by_role("button", name="Futuroscope — To stamp")).to_have_count(1)
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    page.get_by_role("button", name="List", exact=True).click()
    expect(page.locator("#passport-list")).to_be_visible()
    assert errors == [], errors


def test_a_remembered_map_that_cannot_load_leaves_the_list(page: Page, live_server: str) -> None:
    """Offline or on a failing network, a map chosen last time must not leave an empty page."""
    errors = watch_errors(page)
    open_passport(page, live_server)
    page.evaluate("localStorage.setItem('passport-view', 'map')")
    page.route("**/vendor/leaflet/**", lambda route: route.abort())
    page.reload()
    list_button = page.get_by_role("button", name="Liste", exact=True)
    expect(list_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#passport-list")).to_be_visible()
    # Chosen now, the map says why it is missing and the list is one press away.
    page.get_by_role("button", name="Carte", exact=True).click()
    expect(page.locator("[data-map-status]")).to_have_text(
        "La carte n'a pas pu être chargée (réseau ?). "
        "La liste des lieux reste disponible : choisissez « Liste »."
    )
    expect(page.get_by_role("region", name="Carte des lieux de tournage")).to_be_hidden()
    assert all("leaflet" in e or "Failed to load resource" in e for e in errors), errors
