"""What many browser tests do: sign in as a demo account, collect a page's errors."""

from __future__ import annotations

import re

from playwright.sync_api import Page

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
