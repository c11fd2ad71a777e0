"""A tourist without an account stamps on a phone, then signs up: the stamp is in the new
account's passport."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Geolocation, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.pages import watch_errors

pytestmark = pytest.mark.e2e

#: ~15 m from the Pont-canal d'Agen (44.2078, 0.6053).
AGEN: Geolocation = {"latitude": 44.2079, "longitude": 0.6054, "accuracy": 15}


def test_a_guest_stamps_then_signs_up_and_keeps_the_stamp(browser: Any, live_server: str):
    context = browser.new_context(
        locale="fr-FR",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=AGEN,
        permissions=["geolocation"],
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        page.goto(live_server + "/passeport")
        expect(page.locator("[data-guest-notice]")).to_contain_text("gardé sur cet appareil")
        page.get_by_role("button", name="Utiliser ma position").click()
        agen = page.locator("li[data-place]").filter(
            has=page.get_by_role("heading", name="Pont-canal d'Agen")
        )
        stamp = agen.get_by_role("button", name="Tamponner ici")
        with page.expect_response(lambda r: r.url.endswith("/api/v1/passport/stamps")) as sent:
            stamp.click()
        assert sent.value.status == 201, sent.value.text()
        expect(agen).to_have_class(re.compile(r"\bis-stamped\b"))
        page.reload()
        expect(page.locator("[data-summary]")).to_contain_text("1 lieu tamponné sur 14")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "passport-guest.png"), full_page=True)

        page.locator("[data-guest-notice]").get_by_role("link", name="Créer un compte").click()
        page.get_by_label("Adresse e-mail").fill("voyageuse@example.org")
        page.get_by_label("Nom affiché").fill("Voyageuse")
        page.get_by_label("Mot de passe", exact=True).fill("correct horse battery")
        page.get_by_label(re.compile("^Confirm")).fill("correct horse battery")
        page.get_by_role("button", name="Créer mon compte").click()
        expect(page).to_have_url(re.compile(r"/passeport$"))
        expect(page.locator("[data-guest-notice]")).to_have_count(0)
        expect(page.locator("[data-summary]")).to_contain_text("1 lieu tamponné sur 14")
        expect(agen.locator(".stamp-done")).to_contain_text("Tamponné le")
        assert not [c for c in context.cookies() if c["name"] == "passeport"]
        assert errors == [], errors
    finally:
        context.close()
