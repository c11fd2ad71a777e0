"""The passport's map and list views, server side: the tile server from config reaches the page,
no tile server means the list only, and without script the list is the page."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.config import OSM_ATTRIBUTION, OSM_TILE_URL, load_config

TILES = "https://tiles.example.org/{z}/{x}/{y}.png"
ATTRIBUTION = '© <a href="https://tiles.example.org/">Tiles</a> & co'


class Tags(HTMLParser):
    """Start tags of a page, in order, with their attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def having(self, attribute: str) -> list[dict[str, str | None]]:
        return [attrs for _, attrs in self.tags if attribute in attrs]

    def one(self, attribute: str) -> dict[str, str | None]:
        found = self.having(attribute)
        assert len(found) == 1, f"{len(found)} tags with {attribute} in the page"
        return found[0]

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture
def tile_url() -> str:
    return TILES


@pytest.fixture
def app_config(app_config: dict[str, Any], tile_url: str) -> dict[str, Any]:
    return app_config | {"PASSPORT_TILE_URL": tile_url, "PASSPORT_TILE_ATTRIBUTION": ATTRIBUTION}


def passport_page(client: Any) -> Tags:
    response = client.get("/passeport")
    assert response.status_code == 200
    return Tags(response.get_data(as_text=True))


def test_the_tile_server_and_its_attribution_come_from_config(
    client: Any, places: dict[str, int]
) -> None:
    page = passport_page(client)
    panel = page.one("data-map-view")
    assert panel["data-tile-url"] == TILES
    assert panel["data-tile-attribution"] == ATTRIBUTION  # HTML, unescaped by the browser
    # Leaflet is the platform's own copy, fetched by the script only when the map is chosen.
    assert urlsplit(panel["data-leaflet-js"]).path == "/static/vendor/leaflet/leaflet.js"
    assert urlsplit(panel["data-leaflet-css"]).path == "/static/vendor/leaflet/leaflet.css"
    assert not [link for link in page.all("link") if "leaflet" in (link.get("href") or "")]
    assert not [s for s in page.all("script") if "leaflet" in (s.get("src") or "")]
    canvas = page.one("data-map")
    assert canvas["role"] == "region"
    assert canvas["aria-label"] == "Carte des lieux de tournage"
    buttons = page.having("data-view")
    assert [(b["data-view"], b["aria-pressed"]) for b in buttons] == [
        ("map", "false"),
        ("list", "true"),
    ]


def test_without_script_the_list_is_the_page(client: Any, places: dict[str, int]) -> None:
    page = passport_page(client)
    # The choice and the map wait for the script; the list is shown, every place in it.
    assert "hidden" in page.one("data-views")
    assert "hidden" in page.one("data-map-view")
    assert "hidden" not in page.one("data-list-view")
    listed = {tag["id"] for tag in page.having("data-place")}
    assert listed == {f"lieu-{place}" for place in places.values()}
    assert len([f for f in page.all("form") if f.get("class") == "code-form"]) == len(places)
    # The nearest-first list needs a position: hidden until the script has one.
    assert "hidden" in page.one("data-nearest")
    # No inline script (a strict CSP): modules from static/js, data in a JSON block.
    scripts = page.all("script")
    assert all(s.get("src") or s.get("type") == "application/json" for s in scripts), scripts
    sources = {urlsplit(s.get("src") or "").path for s in scripts}
    assert {"/static/js/passport.js", "/static/js/passport-map.js"} <= sources


@pytest.mark.parametrize("tile_url", [""])
def test_without_a_tile_server_the_page_is_the_list_only(
    client: Any, places: dict[str, int]
) -> None:
    page = passport_page(client)
    assert page.having("data-views") == []
    assert page.having("data-map-view") == []
    assert "hidden" not in page.one("data-list-view")
    assert len(page.having("data-place")) == len(places)
    assert "hidden" in page.one("data-nearest")  # the nearest places first need no map


def test_the_tile_server_is_read_from_the_environment(tmp_path: Path) -> None:
    env = {"SECRET_KEY": "x", "EXPERTS_INSTANCE_PATH": str(tmp_path)}
    default = load_config(env)
    assert OSM_TILE_URL == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert default["PASSPORT_TILE_URL"] == OSM_TILE_URL
    assert default["PASSPORT_TILE_ATTRIBUTION"] == OSM_ATTRIBUTION
    assert "OpenStreetMap" in OSM_ATTRIBUTION
    assert 'href="https://www.openstreetmap.org/copyright"' in OSM_ATTRIBUTION
    own = load_config(env | {"PASSPORT_TILE_URL": TILES, "PASSPORT_TILE_ATTRIBUTION": "© X"})
    assert (own["PASSPORT_TILE_URL"], own["PASSPORT_TILE_ATTRIBUTION"]) == (TILES, "© X")
    assert load_config(env | {"PASSPORT_TILE_URL": ""})["PASSPORT_TILE_URL"] == ""  # list only


def test_the_browser_tests_tile_is_a_static_image(client: Any) -> None:
    tile = client.get("/static/img/test-map-tile.png")
    assert tile.status_code == 200
    assert tile.mimetype == "image/png"
    tile.close()
