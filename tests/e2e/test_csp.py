"""The content security policy in a real browser: every feature of the main pages works under
it, and no page breaks it (no `securitypolicyviolation` event, no console error).

One deployment with the demo media serves the module. Its map tiles come from a second local
server on another port, as a tile host named in PASSPORT_TILE_URL would: the policy lets the
maps load them, and that server is sent the site's origin only (Referrer-Policy).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LOCAL_TILE_URL
from tests.e2e.pages import log_in, settled
from tests.support.live import REPO_ROOT, LiveEnvironment

pytestmark = pytest.mark.e2e
#: The deployment of this module (conftest `live`) has the demo media.
LIVE_WITH_MEDIA = True

VIDEO = "document.querySelector('[data-player] video')"
#: Run in every document before its own scripts: keep the policy's violations for the test.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || ""}:${event.lineNumber}`);
});
"""
#: Chromium plays HLS natively; without it hls.js takes over through MSE (blob: media).
NO_NATIVE_HLS = """(() => {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
  };
})();"""
#: Slow enough for a second zoom to catch tiles still loading.
TILE_DELAY_S = 0.3
TILE = (REPO_ROOT / "static" / LOCAL_TILE_URL.removeprefix("/static/")).read_bytes()


class TileServer(ThreadingHTTPServer):
    """Answers every path with the test tile and remembers the Referer of each request."""

    def __init__(self) -> None:
        self.referers: list[str | None] = []
        super().__init__(("127.0.0.1", 0), TileHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class TileHandler(BaseHTTPRequestHandler):
    server: TileServer

    def do_GET(self) -> None:
        self.server.referers.append(self.headers.get("Referer"))
        time.sleep(TILE_DELAY_S)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(TILE)))
        self.end_headers()
        self.wfile.write(TILE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tile_server() -> Iterator[TileServer]:
    server = TileServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def live_server(live: LiveEnvironment, tile_server: TileServer) -> str:
    """This module's server, its map tiles on the other origin."""
    live.env["PASSPORT_TILE_URL"] = tile_server.url + "/{z}/{x}/{y}.png"
    return live.serve()


#: Run in the deployment: the id of the pilot's first episode (demo media and hotspots).
EPISODE_ID = r"""
from core.app import create_app
from core.db import db
from series.episodes import services
app = create_app()
with app.app_context():
    print(services.get_episode(db.session, 1, 1).id)
"""


@pytest.fixture(scope="module")
def episode(live: LiveEnvironment) -> int:
    return int(live.experts_python(EPISODE_ID).stdout.split()[-1])


@pytest.fixture
def watched(page: Page) -> Iterator[dict[str, list[str]]]:
    """The page, with its policy violations, console errors and WebSockets recorded; at the
    end of the test there must be no violation and no error."""
    seen: dict[str, list[str]] = {"errors": [], "sockets": []}
    page.context.add_init_script(COLLECT_VIOLATIONS)
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("websocket", lambda socket: seen["sockets"].append(socket.url))
    yield seen
    assert seen["errors"] == []


def wait_for_socket(page: Page, seen: dict[str, list[str]]) -> None:
    for _ in range(50):
        if seen["sockets"]:
            return
        page.wait_for_timeout(100)
    raise AssertionError("no WebSocket opened")


def no_violation(page: Page) -> None:
    """The current document reported no violation of its policy."""
    assert page.evaluate("() => window.__csp") == []


def policy_of(page: Page, url: str) -> str:
    response = page.goto(url)
    assert response is not None
    assert response.ok, url
    return str(response.headers["content-security-policy"])


def test_the_policy_is_strict_and_names_the_tile_server(
    page: Page, watched: dict[str, list[str]], live_server: str, tile_server: TileServer
) -> None:
    csp = policy_of(page, live_server + "/")
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert f"img-src 'self' data: {tile_server.url};" in csp
    assert "unsafe" not in csp
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    no_violation(page)


def test_the_player_plays_the_demo_clip_with_its_hotspots_and_live_presence(
    page: Page, watched: dict[str, list[str]], live_server: str, episode: int
) -> None:
    for native in (True, False):
        if not native:
            page.context.add_init_script(NO_NATIVE_HLS)
        page.goto(f"{live_server}/episodes/{episode}")
        page.wait_for_function(f"() => {VIDEO}.closest('[data-player]').dataset.engine")
        engine = page.evaluate(f"() => {VIDEO}.closest('[data-player]').dataset.engine")
        start = page.evaluate(
            f"async () => {{ const v = {VIDEO}; v.muted = true; await v.play(); "
            "return v.currentTime; }"
        )
        page.wait_for_function(f"(t0) => {VIDEO}.currentTime > t0 + 1.5", arg=start)
        if not native:
            assert engine == "hls.js"
            assert page.evaluate(f"() => {VIDEO}.currentSrc").startswith("blob:")
        # The overlay's boxes are placed by script (element.style, which the policy allows).
        page.evaluate(
            f"""async () => {{
                const episode = await (await fetch("/api/v1/episodes/{episode}")).json();
                {VIDEO}.currentTime = Math.min(...episode.hotspots.map((h) => h.start)) + 0.3;
            }}"""
        )
        placed = "[...document.querySelectorAll('.hotspot-box')].map((b) => b.style.left)"
        page.wait_for_function(f"() => {placed}.some(Boolean)")
        assert any(re.fullmatch(r"[\d.]+%", left) for left in page.evaluate(placed))
        # "N personnes regardent" comes over the Socket.IO WebSocket ('self' in connect-src).
        expect(page.locator("[data-presence]")).to_be_visible()
        no_violation(page)
    wait_for_socket(page, watched)
    assert all(url.startswith(live_server.replace("http", "ws")) for url in watched["sockets"])


def test_the_clue_notebook_and_a_live_poll(
    page: Page, watched: dict[str, list[str]], live_server: str
) -> None:
    page.goto(live_server + "/enquete/carnet")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    no_violation(page)
    log_in(page, live_server, "camille@experts.example")
    page.goto(live_server + "/sondages")
    page.locator("a[href^='/sondages/']").first.click()
    expect(page.locator("[data-poll]")).to_be_visible()
    wait_for_socket(page, watched)  # the live tallies ('self' in connect-src)
    for value in page.locator("meter[data-fill]").evaluate_all("ms => ms.map(m => m.value)"):
        assert 0 <= value <= 100
    no_violation(page)


def test_the_passport_map_loads_the_tile_server_s_tiles(
    page: Page, watched: dict[str, list[str]], live_server: str, tile_server: TileServer
) -> None:
    page.goto(live_server + "/passeport")
    page.get_by_role("button", name="Carte", exact=True).click()
    expect(page.locator(".leaflet-marker-pane .pm-marker").first).to_be_visible()
    page.get_by_role("region", name="Carte des lieux de tournage").scroll_into_view_if_needed()
    settled(page)
    sources = page.locator("img.leaflet-tile").evaluate_all("ts => ts.map(t => t.src)")
    assert sources
    assert all(src.startswith(tile_server.url + "/") for src in sources)
    # Zooming again before the new tiles are in drops them: Leaflet blanks an image still
    # loading with a data: GIF (allowed in img-src), which the policy must let through.
    zoom_in = page.get_by_role("button", name="Zoomer", exact=True)
    zoom_in.click()
    zoom_in.click()
    settled(page)
    no_violation(page)
    # The tile server is told the site, never the page (strict-origin-when-cross-origin).
    assert tile_server.referers
    assert set(tile_server.referers) == {live_server + "/"}


def test_the_tips_list_map_and_the_new_tip_form_with_its_pin(
    page: Page, watched: dict[str, list[str]], live_server: str
) -> None:
    page.goto(live_server + "/bons-plans")
    page.get_by_role("button", name="Carte", exact=True).click()
    expect(page.get_by_role("region", name="Carte des bons plans trouvés")).to_be_visible()
    settled(page)
    no_violation(page)
    log_in(page, live_server, "habitante@experts.example")
    page.goto(live_server + "/bons-plans/nouveau")
    page.get_by_role("button", name="Placer sur la carte").click()
    canvas = page.get_by_role("region", name="Carte pour placer le bon plan")
    expect(canvas).to_be_visible()
    canvas.focus()
    page.keyboard.press("Enter")  # the pin at the map's centre
    expect(page.locator(".leaflet-marker-pane .tm-pin")).to_have_count(1)
    settled(page)
    no_violation(page)


def test_the_share_page_and_the_hotspot_editor(
    page: Page, watched: dict[str, list[str]], live_server: str, episode: int
) -> None:
    page.goto(live_server + "/passeport/partage")
    image = page.locator("[data-share-image]")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('[data-share-image]').complete")
    assert image.evaluate("i => i.naturalWidth") == 1200
    expect(page.get_by_role("button", name="Partager")).to_be_visible()  # shown by its script
    no_violation(page)
    log_in(page, live_server, "editrice@experts.example")
    # The hotspot editor: its stage sized by script, the episode's hotspots listed.
    page.goto(f"{live_server}/edition/episodes/{episode}/zones")
    page.wait_for_function("() => document.querySelector('[data-stage]').style.aspectRatio")
    expect(page.locator("[data-list-wrap]")).to_be_visible()
    no_violation(page)
    # The episode's media page, with the demo's renditions (each with its size and bitrate).
    response = page.goto(f"{live_server}/edition/episodes/{episode}")
    assert response is not None
    assert response.status == 200
    expect(page.locator("td", has_text="kbit/s").first).to_be_visible()
    no_violation(page)
