"""What many browser tests do: sign in as a demo account, collect a page's errors and requests,
wait for a map, move the focus with Tab."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from core.seed import DEMO_PASSWORD


def log_in(page: Page, live_server: str, email: str) -> None:
    """Sign in through the real form, as a demo account."""
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").last.click()
    page.wait_for_url(re.compile(r"/compte$"))


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of a page, as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def record_requests(page: Page) -> list[str]:
    """Every URL the browser asks for (the page's and its service worker's)."""
    urls: list[str] = []
    page.context.on("request", lambda request: urls.append(request.url))
    return urls


def assert_all_local(urls: list[str], live_server: str) -> None:
    outside = [url for url in urls if not url.startswith(live_server + "/")]
    assert outside == [], outside


def settled(page: Page) -> None:
    """Wait until the map's tiles are in and its popup, if any, has faded in."""
    page.wait_for_function(
        """() => {
          const tiles = [...document.querySelectorAll("img.leaflet-tile")];
          const popup = document.querySelector(".leaflet-popup");
          return tiles.length > 0 && tiles.every((t) => t.classList.contains("leaflet-tile-loaded"))
            && (!popup || getComputedStyle(popup).opacity === "1");
        }"""
    )


def tab_to(page: Page, target: Locator, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until the target has the focus."""
    for _ in range(60):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press(key)
    expect(target).to_be_focused()
