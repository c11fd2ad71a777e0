"""The episode player in a real browser: HLS engines, subtitles, deep links, keyboard, resume.

One `experts serve` process serves the module; episode 1 of the pilot (released) and episode 6
(unreleased) get real media from the pipeline, with French and English subtitles and chapters.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from series.episodes.media import make_test_source
from tests.support.live import REPO_ROOT, LiveEnvironment

pytestmark = pytest.mark.e2e

#: Run in the deployment (its environment): attach text tracks, print the episodes' media.
TRACKS_SNIPPET = r"""
import json
from core.app import create_app
from core.db import db
from series.episodes import services
from series.episodes.media_views import media_urls
from series.episodes.models import TrackKind


def vtt(cues):
    lines = ["WEBVTT", ""]
    for start, end, text in cues:
        lines += [f"00:00:{start:06.3f} --> 00:00:{end:06.3f}", text, ""]
    return "\n".join(lines)


FR = vtt([(0, 5, "Bonjour, inspectrice."), (5, 10, "On a un corps au Futuroscope.")])
EN = vtt([(0, 5, "Hello, inspector."), (5, 10, "We have a body at the Futuroscope.")])
CHAPTERS = vtt([(0, 4, "Le corps"), (4, 7, "L'indice"), (7, 10, "Le suspect")])

app = create_app()
out = {}
with app.app_context(), app.test_request_context():
    for number in (1, 6):
        episode = services.get_episode(db.session, 1, number)
        services.attach_track(db.session, episode, TrackKind.SUBTITLES, "fr", "Français", FR)
        services.attach_track(db.session, episode, TrackKind.SUBTITLES, "en", "English", EN)
        services.attach_track(db.session, episode, TrackKind.CHAPTERS, "fr", "Chapitres", CHAPTERS)
        db.session.commit()
        media = services.media_of(db.session, episode.id)
        out[number] = {
            "id": episode.id,
            "media": media_urls(media, services.tracks_of(db.session, episode.id)),
        }
print(json.dumps(out))
"""

#: Pretend the browser has no native HLS (Chromium has it): hls.js takes over.
NO_NATIVE_HLS = """(() => {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
  };
})();"""
#: …and no Media Source Extensions either: only the MP4 <source> is left.
MP4_ONLY = NO_NATIVE_HLS + "window.MediaSource = undefined; window.ManagedMediaSource = undefined;"

VIDEO = "document.querySelector('[data-player] video')"


@pytest.fixture(scope="module")
def episodes(live: LiveEnvironment, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    """Pilot episodes 1 (released) and 6 (unreleased) with media and tracks: number ->
    {"id", "media": media URLs}."""
    source = make_test_source(tmp_path_factory.mktemp("player") / "master.mp4", 10, 640, 360)
    for number in ("1", "6"):
        live.experts("episodes", "ingest", str(source), "--season", "1", "--number", number)
    result = subprocess.run(
        [sys.executable, "-c", TRACKS_SNIPPET],
        env=live.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {int(k): v for k, v in json.loads(result.stdout.splitlines()[-1]).items()}


def watch(page: Page) -> dict[str, list[str]]:
    """Console errors and requested URLs of a page, recorded from now on."""
    seen: dict[str, list[str]] = {"errors": [], "requests": []}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("request", lambda request: seen["requests"].append(request.url))
    return seen


def video_state(page: Page) -> dict[str, Any]:
    return page.evaluate(
        f"""() => {{
            const v = {VIDEO};
            return {{
                engine: v.closest("[data-player]").dataset.engine || null,
                src: v.currentSrc, t: v.currentTime, paused: v.paused, muted: v.muted,
                duration: v.duration,
                tracks: [...v.textTracks].map((t) => ({{
                    kind: t.kind, lang: t.language, mode: t.mode,
                    active: t.activeCues ? [...t.activeCues].map((c) => c.text) : null,
                }})),
                status: document.querySelector("[data-player-status]").textContent,
            }};
        }}"""
    )


def wait_engine(page: Page) -> str:
    page.wait_for_function(f"() => {VIDEO}.closest('[data-player]').dataset.engine")
    return str(video_state(page)["engine"])


def play_muted(page: Page) -> float:
    """Start playback (muted, which any autoplay policy allows); returns where it started."""
    start = page.evaluate(
        f"async () => {{ const v = {VIDEO}; v.muted = true; await v.play(); "
        "return v.currentTime; }"
    )
    page.wait_for_function(f"(t0) => {VIDEO}.currentTime > t0 + 1", arg=start)
    return float(start)


def hls_light_requested(seen: dict[str, list[str]]) -> bool:
    return any("hls.light" in url for url in seen["requests"])


def test_plays_with_english_subtitles_on_in_the_english_interface(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    seen = watch(page)
    episode = episodes[1]["id"]
    page.goto(f"{live_server}/langue/en?next=/episodes/{episode}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # Chromium plays HLS itself: no hls.js download on this path.
    assert wait_engine(page) == "native"
    play_muted(page)
    page.wait_for_function(
        f"""() => [...{VIDEO}.textTracks].some(
            (t) => t.language === "en" && t.mode === "showing" && t.activeCues
                && t.activeCues.length > 0)"""
    )
    state = video_state(page)
    assert "/hls/master.m3u8" in state["src"]
    subtitles = {t["lang"]: t for t in state["tracks"] if t["kind"] == "subtitles"}
    assert subtitles["fr"]["mode"] == "disabled"
    assert subtitles["en"]["active"][0] in (
        "Hello, inspector.",
        "We have a body at the Futuroscope.",
    )
    assert not hls_light_requested(seen)
    assert seen["errors"] == []


def test_french_interface_leaves_subtitles_off_and_lists_the_chapters(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    seen = watch(page)
    page.goto(f"{live_server}/episodes/{episodes[1]['id']}")
    wait_engine(page)
    chapters = page.get_by_role("navigation", name="Chapitres")
    expect(chapters.get_by_role("button")).to_have_count(3)
    expect(chapters.get_by_role("button").first).to_have_text("00:00Le corps")
    assert all(
        t["mode"] == "disabled" for t in video_state(page)["tracks"] if t["kind"] == "subtitles"
    )
    chapters.get_by_role("button", name="L'indice").click()
    page.wait_for_function(f"() => {VIDEO}.currentTime >= 4")
    expect(chapters.get_by_role("button", name="L'indice")).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("[data-player-status]")).to_have_text("Chapitre : L'indice, 00:04")
    assert seen["errors"] == []


def test_hls_js_takes_over_without_native_hls_and_falls_back_to_mp4(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    page.context.add_init_script(NO_NATIVE_HLS)
    seen = watch(page)
    url = f"{live_server}/episodes/{episodes[1]['id']}"
    page.goto(url)
    assert wait_engine(page) == "hls.js"
    play_muted(page)
    assert video_state(page)["src"].startswith("blob:"), "hls.js feeds the video through MSE"
    assert hls_light_requested(seen)
    assert any(u.endswith(".ts") for u in seen["requests"]), "segments come from HLS"
    assert seen["errors"] == []

    # The HLS files fail: hls.js gives up (a fatal error) and the MP4 plays instead.
    page.route("**/hls/**", lambda route: route.fulfill(status=404, body="gone"))
    page.goto(url + "?again")
    page.wait_for_function(f"() => {VIDEO}.closest('[data-player]').dataset.engine === 'mp4'")
    play_muted(page)
    assert video_state(page)["src"] == live_server + episodes[1]["media"]["mp4"]


def test_without_hls_or_mse_the_mp4_plays_and_hls_js_is_not_loaded(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    page.context.add_init_script(MP4_ONLY)
    seen = watch(page)
    page.goto(f"{live_server}/episodes/{episodes[1]['id']}")
    assert wait_engine(page) == "mp4"
    play_muted(page)
    assert video_state(page)["src"] == live_server + episodes[1]["media"]["mp4"]
    page.wait_for_load_state("networkidle")
    assert not hls_light_requested(seen)
    assert seen["errors"] == []


def test_deep_links_seek_on_load_and_on_hash_change(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    url = f"{live_server}/episodes/{episodes[1]['id']}"
    page.goto(url + "#t=3")
    page.wait_for_function(f"() => {VIDEO}.currentTime >= 3", timeout=5_000)
    assert video_state(page)["t"] < 4
    page.goto(url + "#t=0m6s")  # same document: a hashchange
    page.wait_for_function(f"() => {VIDEO}.currentTime >= 6", timeout=5_000)
    assert page.locator("[data-player-resume]").count() == 0


def test_keyboard_shortcuts_on_the_focused_player(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    seen = watch(page)
    page.goto(f"{live_server}/episodes/{episodes[1]['id']}")
    wait_engine(page)
    # Reached with Tab from the breadcrumb, with a visible focus ring.
    page.get_by_role("link", name="Saison 1 · Vienne").focus()
    page.keyboard.press("Tab")
    video = page.locator("[data-player] video")
    expect(video).to_be_focused()
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); "
        "return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none", outline
    assert outline[1] != "0px", outline
    status = page.locator("[data-player-status]")

    page.keyboard.press("k")
    page.wait_for_function(f"() => !{VIDEO}.paused && {VIDEO}.currentTime > 0.5")
    expect(status).to_have_text("Lecture")
    page.keyboard.press("k")
    page.wait_for_function(f"() => {VIDEO}.paused")
    expect(status).to_have_text("Pause")
    page.keyboard.press(" ")  # Space: once, not also by the browser's own handler
    page.wait_for_timeout(500)
    assert not video_state(page)["paused"]
    page.keyboard.press(" ")
    page.wait_for_timeout(300)
    assert video_state(page)["paused"]

    page.evaluate(f"() => {{ {VIDEO}.currentTime = 1; }}")
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 1) < 0.1")
    page.keyboard.press("l")
    page.wait_for_function(f"() => {VIDEO}.currentTime >= {VIDEO}.duration - 0.2")
    page.keyboard.press("j")
    page.wait_for_function(f"() => {VIDEO}.currentTime < 1")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => Math.abs({VIDEO}.currentTime - 5) < 1.1")
    expect(status).to_contain_text("Avance de 5 s")

    page.keyboard.press("m")
    assert video_state(page)["muted"]
    expect(status).to_have_text("Son coupé")
    page.keyboard.press("c")
    expect(status).to_have_text("Sous-titres activés : Français")
    shown = [t["lang"] for t in video_state(page)["tracks"] if t["mode"] == "showing"]
    assert shown == ["fr"]
    page.keyboard.press("c")
    expect(status).to_have_text("Sous-titres désactivés")
    assert seen["errors"] == []


def test_resumes_where_the_viewer_stopped_until_the_end(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    url = f"{live_server}/episodes/{episodes[1]['id']}"
    key = f"experts:position:{episodes[1]['id']}"
    page.goto(url)
    wait_engine(page)
    page.evaluate(f"() => {{ {VIDEO}.currentTime = 5.2; }}")
    page.wait_for_function("(k) => (JSON.parse(localStorage.getItem(k)) || {}).t >= 5", arg=key)

    page.goto(url + "?back")  # a new visit (pagehide saved it too)
    page.wait_for_function(f"() => {VIDEO}.currentTime >= 5")
    prompt = page.locator("[data-player-resume]")
    expect(prompt).to_contain_text("Reprise à 00:05")
    prompt.get_by_role("button", name="Recommencer").click()
    page.wait_for_function(f"() => {VIDEO}.currentTime < 0.5")
    expect(prompt).to_have_count(0)
    assert page.evaluate("(k) => localStorage.getItem(k)", key) is None

    # Watched to the end: nothing left to resume.
    page.evaluate(f"() => {{ {VIDEO}.currentTime = 5.5; }}")
    page.wait_for_function("(k) => localStorage.getItem(k) !== null", arg=key)
    page.evaluate(f"() => {{ const v = {VIDEO}; v.muted = true; v.currentTime = 9; v.play(); }}")
    page.wait_for_function(f"() => {VIDEO}.ended", timeout=8_000)
    assert page.evaluate("(k) => localStorage.getItem(k)", key) is None
    page.goto(url + "?later")
    wait_engine(page)
    page.wait_for_timeout(500)
    assert video_state(page)["t"] < 0.5
    expect(prompt).to_have_count(0)


def test_the_unreleased_episode_and_its_media_are_404_for_a_visitor(
    page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    secret = episodes[6]
    response = page.goto(f"{live_server}/episodes/{secret['id']}")
    assert response is not None
    assert response.status == 404
    assert page.locator("video").count() == 0
    media = secret["media"]
    urls = [media["hls"], media["mp4"], media["poster"], media["thumbnails"]]
    urls += [t["url"] for t in media["tracks"]]
    urls.append(media["hls"].replace("master.m3u8", "360p/index.m3u8"))
    statuses = page.evaluate(
        "async (urls) => Promise.all(urls.map((u) => fetch(u).then((r) => r.status)))", urls
    )
    assert statuses == [404] * len(urls), dict(zip(urls, statuses, strict=True))
    # The same files of a released episode do answer: the 404 is the release check.
    released = episodes[1]["media"]
    assert page.evaluate("async (u) => (await fetch(u)).status", released["poster"]) == 200


def test_the_player_fits_a_phone(
    phone_page: Page, live_server: str, episodes: dict[int, Any]
) -> None:
    seen = watch(phone_page)
    phone_page.goto(f"{live_server}/episodes/{episodes[1]['id']}")
    wait_engine(phone_page)
    expect(phone_page.get_by_role("navigation", name="Chapitres")).to_be_visible()
    phone_page.evaluate(
        f"""() => new Promise((done) => {{
            const v = {VIDEO};
            v.addEventListener("seeked", done, {{ once: true }});
            v.currentTime = 2;
        }})"""
    )
    phone_page.wait_for_function(f"() => {VIDEO}.readyState >= 3")
    phone_page.wait_for_timeout(500)  # a settled frame for the screenshot
    sizes = phone_page.evaluate(
        f"""() => {{
            const box = {VIDEO}.getBoundingClientRect();
            return {{
                scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                left: box.left, width: box.width, height: box.height,
                buttons: [...document.querySelectorAll(".player-chapters button")]
                    .map((b) => b.getBoundingClientRect().height),
            }};
        }}"""
    )
    assert sizes["scroll"] <= sizes["inner"], f"horizontal scroll: {sizes}"
    assert sizes["left"] == 0, "edge to edge on a phone"
    assert sizes["width"] == sizes["inner"], "edge to edge on a phone"
    assert abs(sizes["height"] - sizes["width"] * 9 / 16) < 2, sizes
    assert min(sizes["buttons"]) >= 44, "touch targets of at least 44 CSS pixels"
    assert seen["errors"] == []
