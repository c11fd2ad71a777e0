"""The clue game in real browsers: a click at the right moment finds a clue, live leaderboard.

One deployment with the demo media (24 s, 1280x720, 25 fps) serves the module. A guest
(browser B, no account) pauses the pilot's first episode at 8 s, turns on investigation mode
and clicks where the seeded clue "Un ticket de la nocturne" is at that moment (its box moves
from (70, 64) at 4 s to (76, 66) at 12 s, 12x14 % of the picture). The find shows in the
episode's panel, in the notebook and on the season's leaderboard, while browser A, opened on
that leaderboard before the find and never reloaded, gets the new row over Socket.IO.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from series.clues.seed import CLUES
from series.episodes.hotspots import box_at
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.pages import watch_errors
from tests.support.live import LiveEnvironment

pytestmark = pytest.mark.e2e
#: The deployment of this module (conftest `live`) has the demo media.
LIVE_WITH_MEDIA = True

VIDEO = "document.querySelector('[data-player] video')"
CLUE_TITLE = "Un ticket de la nocturne"
#: The seeded clue: (label, title, text, points, start, end, keyframes).
CLUE = next(c for c in CLUES[1] if c[1] == CLUE_TITLE)
CLUE_TEXT, CLUE_POINTS, CLUE_START, CLUE_END, CLUE_FRAMES = CLUE[2:]
#: The first finder gets the base points and a 50 % bonus (series.clues.scoring).
FIRST_FINDER_POINTS = CLUE_POINTS + CLUE_POINTS // 2
AT_S = 8.0
#: Live pushes are coalesced (one a second): the row must show within this (ms).
LIVE_TIMEOUT_MS = 5_000

#: Run in the deployment: the id of the pilot's first episode.
EPISODE_ID = r"""
import json
from core.app import create_app
from core.db import db
from series.episodes import services
app = create_app()
with app.app_context():
    print(json.dumps({"id": services.get_episode(db.session, 1, 1).id}))
"""


@pytest.fixture(scope="module")
def episode_id(live: LiveEnvironment) -> int:
    """The pilot's episode 1 (its clues are seeded)."""
    out = live.experts_python(EPISODE_ID).stdout
    return int(json.loads(out.strip().splitlines()[-1])["id"])


def seek_paused(page: Page, seconds: float) -> float:
    """Pause at a time, wait for 'seeked' and its frame; returns video.currentTime."""
    return float(
        page.evaluate(
            f"""async (at) => {{
                const v = {VIDEO};
                if (v.readyState < 1) await new Promise((ok) =>
                    v.addEventListener("loadedmetadata", ok, {{ once: true }}));
                v.pause();
                const seeked = new Promise((ok) =>
                    v.addEventListener("seeked", ok, {{ once: true }}));
                const frame = new Promise((ok) => {{
                    const wait = () => v.requestVideoFrameCallback((now, m) =>
                        Math.abs(m.mediaTime - at) > 0.05 ? wait() : ok(m.mediaTime));
                    wait();
                }});
                const late = new Promise((ok, fail) => setTimeout(() => fail(new Error(
                    `no frame at ${{at}}: ${{v.currentTime}} seeking=${{v.seeking}}`)), 5000));
                v.currentTime = at;
                await Promise.race([Promise.all([seeked, frame]), late]);
                return v.currentTime;
            }}""",
            seconds,
        )
    )


def picture_rect(page: Page) -> dict[str, float]:
    """Where the picture is on screen (CSS px): the video element less any letterbox bars."""
    r = page.evaluate(
        f"""() => {{
            const v = {VIDEO};
            const b = v.getBoundingClientRect();
            return {{ left: b.left, top: b.top, width: b.width, height: b.height,
                      vw: v.videoWidth, vh: v.videoHeight }};
        }}"""
    )
    assert (r["vw"], r["vh"]) == (1280, 720), r
    scale = min(r["width"] / r["vw"], r["height"] / r["vh"])
    width, height = r["vw"] * scale, r["vh"] * scale
    return {
        "left": r["left"] + (r["width"] - width) / 2,
        "top": r["top"] + (r["height"] - height) / 2,
        "width": width,
        "height": height,
    }


def on_screen(page: Page, x_pct: float, y_pct: float) -> tuple[float, float]:
    """Viewport coordinates of a point given in % of the picture."""
    rect = picture_rect(page)
    return rect["left"] + rect["width"] * x_pct / 100, rect["top"] + rect["height"] * y_pct / 100


def click_picture(page: Page, x_pct: float, y_pct: float) -> None:
    """A real mouse click at a point of the picture, checked to land on the clue layer."""
    page.evaluate(f"() => {VIDEO}.scrollIntoView({{ block: 'center' }})")
    x, y = on_screen(page, x_pct, y_pct)
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.matches('[data-clue-layer]') ?? false",
        [x, y],
    )
    assert hit, f"({x_pct} %, {y_pct} %) -> ({x}, {y}) px is not on the clue layer"
    page.mouse.click(x, y)


def leaderboard_events(frames: list[str]) -> list[Any]:
    """The `leaderboard` Socket.IO events among websocket frames ('42["leaderboard",{…}]')."""
    events = []
    for frame in frames:
        if frame.startswith("42"):
            name, *args = json.loads(frame[2:])
            if name == "leaderboard":
                events.extend(args)
    return events


def test_a_click_at_the_right_moment_finds_the_clue_and_the_leaderboard_follows_live(
    page: Page, browser: Any, live_server: str, episode_id: int
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # ---- Browser A: the season's leaderboard, opened before anything is found ----
    board_errors = watch_errors(page)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    page.goto(f"{live_server}/enquete/classement?saison=1")
    expect(page.get_by_role("heading", level=2, name="Saison 1")).to_be_visible()
    board = page.locator("[data-leaderboard]")
    expect(board.locator("[data-rows] tr[data-player]")).to_have_count(0)
    expect(board.locator("[data-empty]")).to_contain_text("Personne n'a encore trouvé d'indice")
    # Joined the season's room: the current (empty) top came over the websocket.
    deadline = time.monotonic() + 10
    while not leaderboard_events(frames):
        assert time.monotonic() < deadline, f"no leaderboard event on joining: {frames}"
        page.wait_for_timeout(100)
    assert leaderboard_events(frames) == [{"scope": "season", "season": 1, "entries": []}]
    page.evaluate("() => { window.__notReloaded = true; }")

    # ---- Browser B: a guest, on the pilot's first episode ----
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    try:
        guest = context.new_page()
        errors = watch_errors(guest)
        guest.goto(f"{live_server}/episodes/{episode_id}")
        guest.wait_for_function(f"() => {VIDEO}.closest('[data-player]').dataset.engine")
        panel = guest.locator(f'[data-clue-panel="{episode_id}"]')
        expect(panel).to_contain_text("2 indices sont cachés dans cet épisode.")
        expect(panel.locator("[data-clue-found-count]")).to_have_text("0")
        layer = guest.locator("[data-clue-layer]")
        expect(layer).to_be_hidden()

        shown = seek_paused(guest, AT_S)
        assert shown == pytest.approx(AT_S, abs=0.05)
        assert CLUE_START < shown < CLUE_END
        box = box_at(CLUE_FRAMES, shown)
        centre = (box["x"] + box["w"] / 2, box["y"] + box["h"] / 2)
        # Half-way between the keyframes: x 73 → centre 79 %, y 65 → centre 72 %.
        assert centre == pytest.approx((79.0, 72.0), abs=0.1)

        mode = panel.get_by_role("button", name="Mode enquête")
        mode.click()
        expect(mode).to_have_attribute("aria-pressed", "true")
        expect(layer).to_be_visible()
        status = panel.locator("[data-clue-status]")
        expect(status).to_have_text(re.compile("^Mode enquête activé"))

        # Outside the box at that moment (and away from every other clue): nothing.
        click_picture(guest, 30.0, 35.0)
        expect(status).to_have_text("Rien de suspect ici.")
        expect(panel.locator("[data-clue-found-count]")).to_have_text("0")

        # On the box's centre: found.
        assert guest.evaluate(f"() => {VIDEO}.paused && {VIDEO}.currentTime") == shown
        with guest.expect_response(f"**/api/v1/episodes/{episode_id}/clue-claims") as claimed:
            click_picture(guest, *centre)
        sent = json.loads(claimed.value.request.post_data or "{}")
        assert sent["t"] == pytest.approx(shown)
        assert sent["x"] == pytest.approx(centre[0], abs=0.5)
        assert sent["y"] == pytest.approx(centre[1], abs=0.5)
        expect(status).to_have_text(
            f"Indice trouvé : {CLUE_TITLE} (+{FIRST_FINDER_POINTS} points)."
        )
        found = panel.locator("[data-clue-found]")
        expect(found).to_be_visible()
        expect(found.locator("li")).to_have_count(1)
        expect(found.locator("li strong")).to_have_text(CLUE_TITLE)
        expect(found).to_contain_text(CLUE_TEXT)
        expect(found).to_contain_text(f"(00:08, +{FIRST_FINDER_POINTS})")
        expect(panel.locator("[data-clue-found-count]")).to_have_text("1")
        guest.screenshot(path=str(SCREENSHOTS / "clues-episode-found.png"), full_page=True)

        # ---- Browser A, not reloaded, gets the row live ----
        row = board.locator("[data-rows] tr[data-player]")
        expect(board.locator("[data-empty]")).to_be_hidden(timeout=LIVE_TIMEOUT_MS)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(str(FIRST_FINDER_POINTS))
        live_name = row.locator("th").inner_text().strip()
        assert live_name, "a player's public name"
        assert [c.strip() for c in row.locator("td").all_inner_texts()] == [
            "1",
            str(FIRST_FINDER_POINTS),
            "1",
        ]
        expect(page.locator("[data-board-live]")).to_have_text(
            f"Classement mis à jour : en tête, {live_name} avec {FIRST_FINDER_POINTS} points."
        )
        assert page.evaluate("() => window.__notReloaded === true"), "the page was reloaded"

        # ---- Browser B: the notebook, same player ----
        guest.goto(f"{live_server}/enquete/carnet")
        expect(guest.get_by_role("heading", level=1)).to_have_text("Mon carnet d'enquête")
        expect(guest.locator(".lead")).to_have_text(f"Enquêteur·rice : {live_name}")
        expect(guest.locator("main, body").first).to_contain_text("Vous jouez en invité·e")
        find = guest.locator("li.find")
        expect(find).to_have_count(1)
        expect(find.get_by_role("heading", level=4)).to_have_text(CLUE_TITLE)
        expect(find).to_contain_text(CLUE_TEXT)
        expect(find).to_contain_text("Trouvé à 00:08 de l'épisode")
        expect(find).to_contain_text("premier à le trouver")
        expect(find).to_contain_text(f"{FIRST_FINDER_POINTS} points")
        frame = find.locator("img.find-frame")
        frame.scroll_into_view_if_needed()
        guest.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=frame.element_handle()
        )
        guest.screenshot(path=str(SCREENSHOTS / "clues-notebook.png"), full_page=True)

        # ---- Browser B: the leaderboard page, same player, own standing ----
        guest.goto(f"{live_server}/enquete/classement?saison=1")
        mine = guest.locator("[data-leaderboard] [data-rows] tr[data-player]")
        expect(mine).to_have_count(1)
        expect(mine.locator("th")).to_have_text(live_name)
        expect(guest.locator("[data-me]")).to_have_text(
            f"Vous êtes 1 sur 1 avec {FIRST_FINDER_POINTS} points."
        )
        assert errors == [], errors
    finally:
        context.close()

    page.screenshot(path=str(SCREENSHOTS / "clues-leaderboard-live.png"), full_page=True)
    assert board_errors == [], board_errors


def tab_to(page: Page, selector: str, text: str | None = None, presses: int = 80) -> None:
    """Press Tab until the element matching the selector (and text) has the focus."""
    check = """([s, text]) => {
        const el = document.activeElement;
        return !!el?.matches(s) && (text === null || el.textContent.trim() === text);
    }"""
    for _ in range(presses):
        if page.evaluate(check, [selector, text]):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector} {text or ''}")


def test_a_keyboard_player_finds_a_clue_by_examining_the_scene(
    browser: Any, live_server: str, episode_id: int
) -> None:
    """No mouse: the player's shortcut moves to 00:10, the examine list names the regions of
    that frame, and choosing the right one finds the clue (the list never says which)."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"{live_server}/episodes/{episode_id}")
        page.wait_for_function(f"{VIDEO}.readyState >= 1")
        tab_to(page, "[data-player] video")
        page.keyboard.press("l")  # forward 10 s: the ticket is on screen from 4 to 12 s
        page.wait_for_function(f"Math.abs({VIDEO}.currentTime - 10) < 0.5")
        tab_to(page, "[data-clue-examine]")
        page.keyboard.press("Enter")
        title = page.locator("[data-clue-regions-title]")
        expect(title).to_have_text("Régions de l'image à 00:10")
        expect(title).to_be_focused()
        regions = page.locator("[data-clue-regions-list] button")
        labels = regions.all_inner_texts()
        assert "Le sol près du fauteuil" in labels  # the clue, under its neutral label…
        assert {"La porte", "Le visage de Margaux"} <= set(labels)  # …among the scenery
        assert labels[-9:][0] == "En haut à gauche"  # and the nine zones of the picture
        assert labels[0] == "La façade de Notre-Dame"  # a public hotspot, in alphabetical order
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the first region, the façade: nothing hidden there
        expect(page.locator("[data-clue-status]")).to_have_text("Rien de suspect ici.")
        tab_to(page, "[data-clue-regions-list] button", "Le sol près du fauteuil")
        page.keyboard.press("Enter")
        expect(page.locator("[data-clue-status]")).to_contain_text(f"Indice trouvé : {CLUE_TITLE}")
        expect(page.locator("[data-clue-found]")).to_contain_text(CLUE_TEXT)
        page.screenshot(path=str(SCREENSHOTS / "clues-examine-keyboard.png"), full_page=True)
        assert errors == [], errors
    finally:
        context.close()
