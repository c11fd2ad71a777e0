"""The tips board's map in Chromium: the list or the map of the tips found (a marker per tip,
the point searched around and its radius), a keyboard way to a tip; on the new tip form, a pin
placed on the map fills the place and the tip lands there. Every request stays on 127.0.0.1."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import LOCAL_TILE_URL, SCREENSHOTS
from tests.e2e.pages import (
    assert_all_local,
    log_in,
    record_requests,
    settled,
    tab_to,
    watch_errors,
)

pytestmark = pytest.mark.e2e

#: Notre-Dame-la-Grande, Poitiers: 25 km around it, the market there and the Clain greenway
#: (7.7 km away), far enough apart to show as two markers on a phone.
POITIERS = "/bons-plans?near=46.5838,0.3458&radius_km=25"
CLAIN = "Les bords du Clain à vélo jusqu'au Futuroscope"
BARQUE = "Balade en barque dans la Venise verte"
TITLE = "La cabane du passeur, sur la carte"
MARKERS = ".leaflet-marker-pane .tm-marker"


def shot(page: Page, name: str, top: Locator | None = None) -> None:
    """A screenshot of the screen, scrolled to `top` if given."""
    if top is not None:
        top.evaluate("el => el.scrollIntoView({ block: 'start' })")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"tips-map-{name}.png"))


def listed(page: Page) -> int:
    """How many tips the page lists (and gives its script)."""
    count = page.locator("ol.tip-list > li").count()
    data: list[dict[str, Any]] = page.evaluate(
        "JSON.parse(document.getElementById('tips-data').textContent)"
    )
    assert len(data) == count > 0
    return count


def tiles_are_local(page: Page, live_server: str) -> None:
    tiles = page.locator("img.leaflet-tile")
    expect(tiles.first).to_have_class(re.compile(r"\bleaflet-tile-loaded\b"))
    sources = tiles.evaluate_all("ts => ts.map(t => t.src)")
    assert sources
    assert all(src == live_server + LOCAL_TILE_URL for src in sources), sources


def coordinates(page: Page) -> tuple[float, float]:
    lat = page.locator("input[name=lat]").input_value()
    lon = page.locator("input[name=lon]").input_value()
    return float(lat), float(lon)


def centre_of(box: Locator) -> tuple[float, float]:
    bounds = box.bounding_box()
    assert bounds is not None
    return bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"] / 2


def point_of(marker: Locator) -> tuple[float, float]:
    """Where the pin's shape points (the bottom corner of the turned square)."""
    bounds = marker.locator(".tm-shape").bounding_box()
    assert bounds is not None
    return bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"]


def test_on_a_phone_the_map_shows_the_tips_found_and_the_search_area(
    phone_page: Page, live_server: str
) -> None:
    page = phone_page
    urls = record_requests(page)
    errors = watch_errors(page)
    page.goto(live_server + POITIERS)
    count = listed(page)
    list_button = page.get_by_role("button", name="Liste", exact=True)
    map_button = page.get_by_role("button", name="Carte", exact=True)
    expect(list_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tips-list")).to_be_visible()
    assert not [url for url in urls if "leaflet" in url]  # the list costs no map
    shot(page, "phone-list", top=page.locator("#resultats"))

    map_button.click()
    expect(map_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tips-list")).to_be_hidden()
    expect(page.get_by_role("region", name="Carte des bons plans trouvés")).to_be_visible()
    expect(page.locator(MARKERS)).to_have_count(count)
    expect(page.locator(".leaflet-overlay-pane path")).to_have_count(2)  # the radius, the point
    clain = page.get_by_role("button", name=f"{CLAIN} — Nature")
    expect(clain).to_have_count(1)
    tiles_are_local(page, live_server)
    # The market is where the search was made: its pin points at the dot in the circle.
    market = page.get_by_role(
        "button", name="Le marché de Notre-Dame, le samedi matin — Produit local"
    )
    dot_x, dot_y = centre_of(page.locator(".leaflet-overlay-pane path").nth(1))
    pin_x, pin_y = point_of(market)
    assert abs(pin_x - dot_x) <= 2
    assert abs(pin_y - dot_y) <= 3
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    expect(page.get_by_text("Zone de recherche : 25 km autour du point choisi")).to_be_visible()
    # Every marker is a 44 px target; the map fits the phone, without sideways scrolling.
    sizes = page.locator(MARKERS).evaluate_all(
        "ms => ms.map(m => [m.getBoundingClientRect().width, m.getBoundingClientRect().height])"
    )
    assert all(w >= 44 and h >= 44 for w, h in sizes), sizes
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.get_by_role("region", name="Carte des bons plans trouvés").scroll_into_view_if_needed()
    settled(page)
    shot(page, "phone-map")

    # A tap on a marker: the tip's title, a link to it, its category and distance.
    clain.click()
    popup = page.locator(".leaflet-popup")
    expect(popup).to_contain_text("Nature · Chasseneuil-du-Poitou")
    expect(popup).to_contain_text(re.compile(r"À 7,\d km"))
    settled(page)
    shot(page, "phone-popup")
    popup.get_by_role("link", name=CLAIN).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CLAIN)

    # Back on the board, the map is still the choice on this device.
    page.goto(live_server + POITIERS)
    expect(map_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(MARKERS)).to_have_count(count)
    assert_all_local(urls, live_server)
    assert errors == [], errors


def test_the_keyboard_reaches_every_tip_on_the_map_and_opens_one(
    page: Page, live_server: str
) -> None:
    urls = record_requests(page)
    errors = watch_errors(page)
    page.goto(live_server + "/bons-plans")
    count = listed(page)
    map_button = page.get_by_role("button", name="Carte", exact=True)
    list_button = page.get_by_role("button", name="Liste", exact=True)
    tab_to(page, map_button)
    page.keyboard.press("Enter")
    expect(map_button).to_have_attribute("aria-pressed", "true")
    expect(map_button).to_be_focused()
    expect(page.locator(MARKERS)).to_have_count(count)  # a marker per tip listed
    expect(page.locator(".leaflet-overlay-pane path")).to_have_count(0)  # no point searched

    tab_to(page, page.get_by_role("region", name="Carte des bons plans trouvés"))
    barque = page.get_by_role("button", name=f"{BARQUE} — Visite")
    tab_to(page, barque)
    page.keyboard.press("Enter")
    link = page.locator(".leaflet-popup").get_by_role("link", name=BARQUE)
    expect(link).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    expect(barque).to_be_focused()
    page.keyboard.press("Enter")
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(BARQUE)

    # The list again, remembered.
    page.go_back()
    tab_to(page, list_button, "Shift+Tab")
    page.keyboard.press("Space")
    expect(list_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tips-list")).to_be_visible()
    page.reload()
    expect(list_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tips-map")).to_be_hidden()
    assert_all_local(urls, live_server)
    assert errors == [], errors


def test_a_pin_placed_on_the_map_is_where_the_new_tip_lands(
    phone_page: Page, live_server: str
) -> None:
    # camille, not lea: a new account posts one tip per 2 minutes, and test_tips.py posts as lea.
    page = phone_page
    urls = record_requests(page)
    errors = watch_errors(page)
    log_in(page, live_server, "camille@experts.example")
    page.goto(live_server + "/bons-plans/nouveau")
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Catégorie").select_option("visite")
    page.get_by_label("Votre bon plan").fill(
        "Une cabane de passeur au bord de l'eau, on y voit les hérons au lever du jour."
    )
    assert not [url for url in urls if "leaflet" in url]  # the form stays light
    place_map = page.get_by_role("button", name="Placer sur la carte")
    expect(place_map).to_have_attribute("aria-expanded", "false")
    place_map.click()
    expect(place_map).to_have_attribute("aria-expanded", "true")
    canvas = page.get_by_role("region", name="Carte pour placer le bon plan")
    expect(canvas).to_be_visible()
    tiles_are_local(page, live_server)
    assert page.locator("input[name=lat]").input_value() == ""

    # From the keyboard: Enter on the map puts the pin at its centre, in Nouvelle-Aquitaine.
    tab_to(page, canvas)
    page.keyboard.press("Enter")
    status = page.locator("[data-position-status]")
    expect(status).to_have_text("Position choisie sur la carte.")
    lat, lon = coordinates(page)
    assert 44.0 < lat < 46.0, lat
    assert 0.0 < lon < 1.0, lon
    expect(page.locator(".leaflet-marker-pane .tm-pin")).to_have_count(1)

    # A tap moves it: to the north-east of the centre.
    x, y = centre_of(canvas)
    page.mouse.click(x + 40, y - 30)
    expect(page.locator("input[name=lat]")).not_to_have_value(f"{lat:.6f}")
    north, east = coordinates(page)
    assert north > lat
    assert east > lon
    lat, lon = north, east
    pin_x, pin_y = point_of(page.locator(".leaflet-marker-pane .tm-pin"))
    assert abs(pin_x - (x + 40)) <= 2  # the pin's point is where the finger was
    assert abs(pin_y - (y - 30)) <= 3
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    canvas.scroll_into_view_if_needed()
    settled(page)
    shot(page, "phone-new-pin")

    page.get_by_role("button", name="Publier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    where = page.get_by_role("link", name="Voir sur une carte").get_attribute("href")
    assert where is not None
    query = parse_qs(urlsplit(where).query)
    assert float(query["mlat"][0]) == pytest.approx(lat, abs=1e-6)
    assert float(query["mlon"][0]) == pytest.approx(lon, abs=1e-6)
    shot(page, "phone-posted", top=page.locator(".breadcrumb"))
    assert_all_local(urls, live_server)
    assert errors == [], errors


def test_the_map_opens_on_the_place_already_chosen_and_the_arrows_move_it(
    page: Page, live_server: str
) -> None:
    errors = watch_errors(page)
    log_in(page, live_server, "hugo@experts.example")
    page.goto(live_server + "/bons-plans/nouveau?lat=46.3252&lon=-0.5872")  # Coulon
    expect(page.locator("[data-position-status]")).to_have_text("Position retenue.")
    page.get_by_role("button", name="Placer sur la carte").click()
    canvas = page.get_by_role("region", name="Carte pour placer le bon plan")
    pin = page.locator(".leaflet-marker-pane .tm-pin")
    expect(pin).to_have_count(1)
    x, y = centre_of(canvas)
    pin_x, pin_y = point_of(pin)
    assert abs(pin_x - x) <= 2  # centred on the place
    assert abs(pin_y - y) <= 3
    settled(page)
    shot(page, "new-centred", top=page.locator("#f-place"))

    # The arrows move the map under the crosshair (80 px a press); the button puts the pin at
    # its centre.
    canvas.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('#place-map .leaflet-map-pane').style.transform"
        ".startsWith('translate3d(-80px, 0px')"
    )
    page.get_by_role("button", name="Placer le repère au centre").click()
    expect(page.locator("[data-position-status]")).to_have_text("Position choisie sur la carte.")
    lat, lon = coordinates(page)
    assert lat == pytest.approx(46.3252, abs=1e-4)
    assert lon > -0.5872 + 1e-3
    x, y = centre_of(canvas)  # the page has scrolled to the button
    pin_x, pin_y = point_of(pin)
    assert abs(pin_x - x) <= 2
    assert abs(pin_y - y) <= 3
    # Closed and opened again, the same map.
    place_map = page.get_by_role("button", name="Placer sur la carte")
    place_map.click()
    expect(canvas).to_be_hidden()
    place_map.click()
    expect(pin).to_have_count(1)

    # "Utiliser ma position": the pin follows and the map centres on it.
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 46.323, "longitude": -0.586, "accuracy": 20})
    page.get_by_role("button", name="Utiliser ma position").click()
    expect(page.locator("input[name=lat]")).to_have_value("46.323000")
    page.wait_for_function(
        """() => {
          const box = (selector) => document.querySelector(selector).getBoundingClientRect();
          const map = box("#place-map [data-map]");
          const pin = box("#place-map .tm-pin .tm-shape");
          return Math.abs(pin.left + pin.width / 2 - (map.left + map.width / 2)) <= 2
            && Math.abs(pin.bottom - (map.top + map.height / 2)) <= 3;
        }"""
    )
    assert errors == [], errors


def test_in_english_the_board_map_speaks_english(page: Page, live_server: str) -> None:
    errors = watch_errors(page)
    page.goto(live_server + "/bons-plans?lang=en")
    page.get_by_role("button", name="Map", exact=True).click()
    expect(page.get_by_role("region", name="Map of the tips found")).to_be_visible()
    expect(page.get_by_role("button", name=f"{BARQUE} — Visit")).to_have_count(1)
    expect(page.get_by_role("button", name="Zoom in")).to_be_visible()
    page.get_by_role("button", name="List", exact=True).click()
    expect(page.locator("#tips-list")).to_be_visible()
    assert errors == [], errors


def test_a_remembered_map_that_cannot_load_leaves_the_list(page: Page, live_server: str) -> None:
    errors = watch_errors(page)
    page.goto(live_server + "/bons-plans")
    page.evaluate("localStorage.setItem('tips-view', 'map')")
    page.route("**/vendor/leaflet/**", lambda route: route.abort())
    page.reload()
    expect(page.get_by_role("button", name="Liste", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("#tips-list")).to_be_visible()
    page.get_by_role("button", name="Carte", exact=True).click()
    expect(page.locator("#tips-map [data-map-status]")).to_have_text(
        "La carte n'a pas pu être chargée (réseau ?). "
        "La liste des bons plans reste disponible : choisissez « Liste »."
    )
    expect(page.get_by_role("region", name="Carte des bons plans trouvés")).to_be_hidden()
    assert all("leaflet" in e or "Failed to load resource" in e for e in errors), errors
