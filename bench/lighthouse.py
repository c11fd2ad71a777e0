"""Page speed at launch: Lighthouse's mobile profile over five pages of the demo site.

Usage: python bench/lighthouse.py [--runs 1] [--out DIR] [--base URL]

A throw-away deployment (SQLite in a temporary instance, `experts db upgrade`, `experts seed
demo` with its media) is served by `experts serve` on a free port, and Lighthouse (npm,
node_modules/.bin/lighthouse) audits, in Debian's Chromium (CHROME_PATH, /usr/bin/chromium by
default), the home page, a released episode of the pilot, the passport, the open poll and the
tips (bons plans), as an anonymous visitor; each page is fetched twice before, as a deployed
server would have its templates compiled. The profile is Lighthouse's default: a mobile form
factor (Moto G Power screen) with simulated throttling (slow 4G, 4x CPU slowdown).

For each page: the performance, accessibility, best-practices and SEO scores (0-100) and the
JavaScript weight: the bytes of every script on the wire (the `network-requests` audit's
transferSize: gzip bodies when the server compresses, plus response headers), and their size
once unpacked. With --runs N every page is audited N times and the median of each figure is
shown. The JSON reports go to test-artifacts/lighthouse/ (git-ignored).

Goal: performance >= 95, accessibility 100, JavaScript <= 150 KB gzip per page. The figures
vary with the machine's load (Lighthouse simulates the network and CPU from what it observes):
on a shared 2-core machine, take the median of a few runs. The exit code is 0 whatever the
scores; non-zero only when Lighthouse itself fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.live import REPO_ROOT, live_environment

LIGHTHOUSE = REPO_ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-dev-shm-usage"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
#: Goals: a score at least this (per category), JavaScript at most this many KB on the wire.
GOALS = {"performance": 95, "accessibility": 100}
JS_GOAL_KB = 150.0
#: The metrics behind the performance score, shown in the detail lines.
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI",
}


@dataclass
class Audit:
    """One page's figures over its runs."""

    name: str
    path: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(run[key] for run in self.runs))


def pages(base: str) -> list[tuple[str, str]]:
    """(name, path) of the audited pages; the episode and poll are found through the API."""
    episodes = requests.get(f"{base}/api/v1/seasons/1/episodes", timeout=10).json()
    episode = next(e for e in episodes if e["released"])
    polls = requests.get(f"{base}/api/v1/polls", params={"state": "open"}, timeout=10).json()
    if not polls:
        raise RuntimeError("the demo has no open poll")
    return [
        ("home", "/"),
        ("episode", f"/episodes/{episode['id']}"),
        ("passport", "/passeport"),
        ("poll", f"/sondages/{polls[0]['id']}"),
        ("tips", "/bons-plans"),
    ]


def run_lighthouse(url: str, report: Path) -> dict[str, Any]:
    """Audit one URL with the mobile profile; the report's JSON (also written to `report`)."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--chrome-flags={CHROME_FLAGS}",
        f"--only-categories={','.join(CATEGORIES)}",
    ]
    env = {**os.environ, "CHROME_PATH": CHROME}
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0 or not report.exists():
        raise RuntimeError(f"lighthouse failed on {url}: {result.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(report.read_text())
    if data.get("runtimeError"):
        raise RuntimeError(f"lighthouse failed on {url}: {data['runtimeError']}")
    return data


def figures(data: dict[str, Any]) -> dict[str, Any]:
    """Scores, JavaScript bytes (wire and unpacked), metrics and failed audits of a report."""
    found: dict[str, Any] = {}
    for category in CATEGORIES:
        score = data["categories"][category]["score"]
        found[category] = round(100 * score) if score is not None else -1
    requests_ = data["audits"]["network-requests"]["details"]["items"]
    scripts = [r for r in requests_ if r.get("resourceType") == "Script"]
    found["js_wire_kb"] = sum(r.get("transferSize", 0) for r in scripts) / 1024
    found["js_raw_kb"] = sum(r.get("resourceSize", 0) for r in scripts) / 1024
    found["scripts"] = [r["url"] for r in scripts]
    for audit, label in METRICS.items():
        found[label] = data["audits"][audit].get("numericValue", 0.0)
    found["failed"] = sorted(
        f"{category}:{ref['id']}"
        for category in CATEGORIES
        for ref in data["categories"][category]["auditRefs"]
        if ref.get("weight", 0) > 0
        and data["audits"][ref["id"]].get("score") is not None
        and data["audits"][ref["id"]]["score"] < (0.9 if category == "performance" else 1)
    )
    return found


def verdict(audit: Audit) -> str:
    """PASS or FAIL against the three goals."""
    met = (
        audit.median("performance") >= GOALS["performance"]
        and audit.median("accessibility") >= GOALS["accessibility"]
        and audit.median("js_wire_kb") <= JS_GOAL_KB
    )
    return "PASS" if met else "FAIL"


def print_table(audits: list[Audit], runs: int) -> None:
    print()
    print(f"Lighthouse {version()}, mobile profile (simulated slow 4G, 4x CPU), median of {runs}")
    header = (
        f"{'page':9} {'URL':14} {'perf':>5} {'a11y':>5} {'b-p':>5} {'SEO':>5} "
        f"{'JS KB gz':>9} {'JS KB raw':>10} {'goal':>5}"
    )
    print(header)
    print("-" * len(header))
    for audit in audits:
        print(
            f"{audit.name:9} {audit.path:14} {audit.median('performance'):5.0f} "
            f"{audit.median('accessibility'):5.0f} {audit.median('best-practices'):5.0f} "
            f"{audit.median('seo'):5.0f} {audit.median('js_wire_kb'):9.1f} "
            f"{audit.median('js_raw_kb'):10.1f} {verdict(audit):>5}"
        )
    print("-" * len(header))
    print(
        f"{'goal':24} {GOALS['performance']:>5} {GOALS['accessibility']:>5} {'':>5} {'':>5} "
        f"{JS_GOAL_KB:9.0f}"
    )
    print()
    print("metrics (median, ms; CLS unitless) and audits below par in the last run:")
    for audit in audits:
        metrics = "  ".join(
            f"{label} {audit.median(label):.3f}"
            if label == "CLS"
            else f"{label} {audit.median(label):.0f}"
            for label in METRICS.values()
        )
        last = audit.runs[-1]
        gzipped = gzip_encoded(last["scripts"])
        print(
            f"  {audit.name:9} {metrics}  {len(last['scripts'])} scripts, "
            f"{gzipped} sent gzip-encoded"
        )
        if last["failed"]:
            print(f"  {'':9} below par: {', '.join(last['failed'])}")


def gzip_encoded(urls: list[str]) -> int:
    """How many of these URLs the server sends gzip-encoded to a browser that takes it."""
    count = 0
    for url in urls:
        with requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10) as r:
            count += r.headers.get("Content-Encoding") == "gzip"
    return count


def version() -> str:
    result = subprocess.run(
        [str(LIGHTHOUSE), "--version"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="audits per page (median shown)")
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "test-artifacts" / "lighthouse",
        help="where the JSON reports go",
    )  # fmt: skip
    parser.add_argument("--base", help="audit this running site instead of a new deployment")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print(f"{LIGHTHOUSE} is missing: run scripts/setup", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        started = time.monotonic()
        base = args.base
        if base is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="lighthouse-bench-"))
            live = stack.enter_context(live_environment(Path(tmp), None, None, media=True))
            base = live.serve()
            print(f"deployment ready in {time.monotonic() - started:.0f} s at {base}")
        audits = [Audit(name, path) for name, path in pages(base)]
        # A deployed server has its templates compiled: the first hit of each page is not
        # what a visitor waits for.
        for audit in audits:
            for _ in range(2):
                requests.get(base + audit.path, timeout=30).raise_for_status()
        for run in range(args.runs):
            for audit in audits:
                began = time.monotonic()
                report = args.out / f"{audit.name}-{run + 1}.json"
                try:
                    found = figures(run_lighthouse(base + audit.path, report))
                except RuntimeError as error:
                    print(error, file=sys.stderr)
                    return 1
                audit.runs.append(found)
                print(
                    f"run {run + 1} {audit.name:9} perf {found['performance']:3} "
                    f"a11y {found['accessibility']:3} bp {found['best-practices']:3} "
                    f"seo {found['seo']:3} JS {found['js_wire_kb']:.1f} KB "
                    f"({time.monotonic() - began:.0f} s)",
                    flush=True,
                )
        print_table(audits, args.runs)
        print(f"\nreports in {args.out}; total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
