"""Browser fixtures: one live server per module, one headless Chromium per session.

Playwright's own browser download does not work everywhere: Debian's Chromium is launched
instead (CHROMIUM_PATH overrides it). A screenshot of every test is saved under
test-artifacts/screenshots/ (git-ignored), named after the test, with `-failed` on failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.support.live import REPO_ROOT, LiveEnvironment, live_environment

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
#: The passport map's tiles in every browser test: one local image (no URL template is needed),
#: so no test asks a tile server on the internet.
LOCAL_TILE_URL = "/static/img/test-map-tile.png"


def _chromium_missing(why: str) -> None:
    if IN_CI:
        pytest.fail(f"Chromium is required in CI (CI=true): {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveEnvironment]:
    """A migrated, demo-seeded deployment on this run's backend (SQLite or PostgreSQL), one per
    module; with the demo media (made once per machine, then copied) when the module sets
    `LIVE_WITH_MEDIA = True`."""
    with live_environment(
        tmp_path_factory.mktemp("e2e"),
        os.environ.get("REDIS_URL") or None,
        os.environ.get("DATABASE_URL") or None,
        media=bool(getattr(request.module, "LIVE_WITH_MEDIA", False)),
    ) as environment:
        environment.env["PASSPORT_TILE_URL"] = LOCAL_TILE_URL
        yield environment


@pytest.fixture(scope="module")
def live_server(live: LiveEnvironment) -> str:
    """Base URL (http://127.0.0.1:port) of a real `experts serve` process."""
    return live.serve()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - dev dependency
        _chromium_missing("playwright is not installed")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _chromium_missing(f"no Chromium at {CHROMIUM}")
    chromium = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's outcome on the item, for the screenshot on failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _screenshot_name(request: pytest.FixtureRequest, suffix: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}{suffix}.png"


def _open_page(browser: Any, request: pytest.FixtureRequest, **options: Any) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        call = getattr(request.node, "report_call", None)
        failed = call is None or call.failed
        try:
            page.screenshot(
                path=str(_screenshot_name(request, "-failed" if failed else "")), full_page=True
            )
        finally:
            context.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) in French, desktop size."""
    yield from _open_page(browser, request, viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context the size of a phone (390×844, touch, 2× pixels), in French."""
    yield from _open_page(
        browser,
        request,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
