"""How late does a hotspot box appear after its start time? Frame callbacks against timeupdate.

Usage: python bench/overlay_timing.py [--episode 1] [--runs 1] [--verbose]

A throw-away deployment with the demo media (24 s, 1280x720, 25 fps) is started, odd-timed
hotspots are added to a released pilot episode next to the seeded ones, and headless Chromium
plays the episode from the start at normal speed (muted autoplay) once per overlay mode:

- rvfc: the overlay draws from video.requestVideoFrameCallback (the default);
- raf: timeupdate + requestAnimationFrame, the fallback of browsers without it;
- timeupdate: from timeupdate events only (every 250 ms in Chromium), the naive way.

For each hotspot the delay is the mediaTime (rVFC metadata) of the first frame shown with its
box, minus its start: 0 ≤ delay < 1 frame (40 ms at 25 fps) means frame-accurate; below 0,
the box was shown on a frame before its start. "Frames off the ideal" counts frames between
the frame the box came with and the first frame at or after the start (0: exact).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.live import REPO_ROOT, live_environment

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FRAME_S = 1 / 25
MODES = ("rvfc", "raf", "timeupdate")
#: Starts that fall between frames (none is a multiple of 40 ms), 1.5 s each, some moving.
ODD_STARTS = [0.53, 1.37, 3.11, 4.67, 5.93, 7.21, 8.83, 11.41, 13.07, 14.59, 17.23, 19.93]

ADD_HOTSPOTS = r"""
import json, sys
import sqlalchemy as sa
from core.app import create_app
from core.db import db
from series.episodes import services
from series.episodes.hotspot_models import Offer
from series.episodes.hotspots import create_hotspot, public_hotspots

number, starts = int(sys.argv[1]), json.loads(sys.argv[2])
app = create_app()
with app.app_context():
    episode = services.get_episode(db.session, 1, number)
    offer = db.session.scalar(sa.select(Offer).where(Offer.kind == "product").limit(1))
    for i, start in enumerate(starts):
        end = round(start + 1.5, 3)
        create_hotspot(db.session, episode, {
            "kind": "product", "start": start, "end": end, "offer": offer.id,
            "label": f"Repère {i + 1}", "shape": "ellipse" if i % 2 else "rect",
            "keyframes": [
                {"t": start, "x": 5 + 6 * i, "y": 20, "w": 12, "h": 15},
                {"t": end, "x": 10 + 6 * i, "y": 30, "w": 12, "h": 15},
            ],
        })
    db.session.commit()
    print(json.dumps({"episode": episode.id, "hotspots": [
        {"id": h.id, "start": h.start_s} for h in public_hotspots(db.session, episode.id)
    ]}))
"""

PLAY = """async () => {
  const v = document.querySelector("[data-player] video");
  await new Promise((ok) => v.readyState >= 1 ? ok() : v.addEventListener("loadedmetadata", ok,
    { once: true }));
  v.muted = true;
  v.currentTime = 0;
  await v.play();
}"""

#: mediaTime of the frame shown after a seek, against currentTime: are they one timeline?
CLOCKS = """async (at) => {
  const v = document.querySelector("[data-player] video");
  v.pause();
  const frame = new Promise((ok) => v.requestVideoFrameCallback((now, m) => ok(m.mediaTime)));
  v.currentTime = at;
  return { mediaTime: await frame, currentTime: v.currentTime };
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(page: Any, url: str, mode: str, hotspots: list[dict[str, Any]]) -> dict[str, Any]:
    """Play the episode once in one overlay mode; delays (s) of the hotspots drawn."""
    page.evaluate("localStorage.clear()")  # no resume prompt: every play starts at 0
    page.goto(f"{url}?overlay={mode}")
    page.wait_for_function(
        "() => document.querySelector('[data-player]').dataset.overlayMode"
        " && document.querySelector('[data-hotspot-layer] .hotspot-box')"
    )
    assert page.evaluate("document.querySelector('[data-player]').dataset.overlayMode") == mode
    engine = page.evaluate("document.querySelector('[data-player]').dataset.engine")
    page.evaluate(PLAY)
    last = max(h["start"] for h in hotspots)
    page.wait_for_function(
        f"() => document.querySelector('[data-player] video').currentTime > {last + 0.6}",
        timeout=60_000,
        polling=200,
    )
    drawn = page.evaluate("window.__overlayFirstDrawn")
    frames = page.evaluate(
        "() => document.querySelector('[data-player] video').getVideoPlaybackQuality()"
        ".droppedVideoFrames"
    )
    delays = {}
    for h in hotspots:
        record = drawn.get(str(h["id"]))
        if record:
            delays[h["id"]] = (h["start"], record["mediaTime"])
    return {"engine": engine, "delays": delays, "dropped": frames, "records": drawn}


def summary(mode: str, samples: list[tuple[float, float]]) -> str:
    """Delays of (start, mediaTime of the first frame drawn) pairs, and frames late against
    the ideal: the first frame at or after the start."""
    ms = [(shown - start) * 1000 for start, shown in samples]
    late = [round((shown - math.ceil(start / FRAME_S - 1e-6) * FRAME_S) / FRAME_S)
            for start, shown in samples]  # fmt: skip
    # A negative delay: the box was on screen a frame before its start (currentTime runs
    # ahead of the frame being shown).
    within = sum(1 for d in ms if 0 <= d < FRAME_S * 1000 + 0.5)
    return (
        f"{mode:<11} n={len(ms):<3} median={statistics.median(ms):6.1f} ms  "
        f"p90={percentile(ms, 0.9):6.1f} ms  max={max(ms):6.1f} ms  min={min(ms):6.1f} ms  "
        f"in [0, 1 frame]: {within}/{len(ms)}  frames off the ideal: {min(late)}..{max(late)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episode", type=int, default=1, help="pilot episode (1-3: released)")
    parser.add_argument("--runs", type=int, default=1, help="plays per mode")
    parser.add_argument("--verbose", action="store_true", help="print every measurement")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="overlay-bench-") as tmp,
        live_environment(Path(tmp), None, None, media=True) as live,
    ):
        started = time.monotonic()
        added = json.loads(add_hotspots(live, args.episode))
        base = live.serve()
        url = f"{base}/episodes/{added['episode']}"
        hotspots = added["hotspots"]
        print(
            f"deployment ready in {time.monotonic() - started:.0f} s; episode {added['episode']}, "
            f"{len(hotspots)} hotspots; each mode plays it {args.runs}x at normal speed"
        )
        results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(url)
            page.wait_for_function("() => document.querySelector('[data-player]').dataset.engine")
            clocks = [page.evaluate(CLOCKS, at) for at in (5.0, 12.34)]
            print(
                "clock check (seek, then the frame shown): "
                + ", ".join(
                    f"currentTime {c['currentTime']:.3f} -> mediaTime {c['mediaTime']:.3f}"
                    for c in clocks
                )
            )
            for run in range(args.runs):
                for mode in MODES:
                    result = measure(page, url, mode, hotspots)
                    results[mode] += result["delays"].values()
                    missing = len(hotspots) - len(result["delays"])
                    print(
                        f"run {run + 1} {mode:<10} engine={result['engine']} "
                        f"dropped frames={result['dropped']}"
                        + (f" ({missing} hotspots never drawn)" if missing else "")
                    )
                    if args.verbose:
                        for ident, (start, shown) in sorted(result["delays"].items()):
                            record = result["records"][str(ident)]
                            delay = shown - start
                            print(
                                f"    hotspot {ident:>3} start {record['start']:7.3f} "
                                f"frame {record['mediaTime']:7.3f} "
                                f"overlay time {record['overlayTime']:7.3f} "
                                f"delay {delay * 1000:6.1f} ms"
                            )
            browser.close()
        print()
        print("delay from a hotspot's start to the first frame shown with its box:")
        for mode in MODES:
            if results[mode]:
                print("  " + summary(mode, results[mode]))
        print("goal: max ≤ 40 ms (1 frame at 25 fps)")


def add_hotspots(live: Any, episode: int) -> str:
    """Add the odd-timed hotspots in the deployment; JSON of the episode's public hotspots."""
    result = subprocess.run(
        [sys.executable, "-c", ADD_HOTSPOTS, str(episode), json.dumps(ODD_STARTS)],
        env=live.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()[-1]


if __name__ == "__main__":
    main()
