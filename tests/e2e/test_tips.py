"""A resident posts a tip with a photo on a phone, a moderator approves it, a visitor finds it
near a filming location (the Coulon place of the passport) and sees the photo."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.pages import log_in, watch_errors

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
#: Next to the Coulon embarcadère (a filming location of the pilot).
COULON = {"latitude": 46.3252, "longitude": -0.5872, "accuracy": 20}
TITLE = "Le lavoir des conches, à l'ombre"


def context(browser: Any, **options: Any) -> Any:
    made = browser.new_context(
        locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True, **options
    )
    made.set_default_timeout(10_000)
    return made


def photo_with_gps(path: Path) -> Path:
    image = Image.new("RGB", (1800, 1200), (40, 110, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (46.0, 19.0, 30.7), 3: "W", 4: (0.0, 35.0, 13.9)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"tips-{name}.png"), full_page=True)


def test_a_resident_posts_a_moderator_approves_a_visitor_finds_it(
    browser: Any, live_server: str, tmp_path: Path
):
    # ---- The resident, on a phone, at the place ----
    resident = context(browser, geolocation=COULON, permissions=["geolocation"])
    page = resident.new_page()
    errors = watch_errors(page)
    log_in(page, live_server, "lea@experts.example")
    page.goto(live_server + "/bons-plans/nouveau")
    expect(page.get_by_role("heading", level=1)).to_have_text("Partager un bon plan")
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Catégorie").select_option("visite")
    page.get_by_label("Votre bon plan").fill(
        "Un vieux lavoir au bord de la conche, **frais même en août**. Bancs pour pique-niquer."
    )
    page.get_by_role("button", name="Utiliser ma position").click()
    expect(page.locator("[data-position-status]")).to_contain_text("Position retenue")
    page.get_by_label("Choisir des photos").set_input_files(str(photo_with_gps(tmp_path / "l.jpg")))
    page.get_by_label(re.compile("^Description de la première photo")).fill(
        "Le lavoir de pierre au bord de l'eau"
    )
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "new-form")
    page.get_by_role("button", name="Publier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".flash")).to_contain_text("sera publié après relecture")
    expect(page.get_by_text("En attente de relecture")).to_be_visible()
    tip_url = page.url
    shot(page, "pending")
    assert errors == [], errors
    resident.close()

    # ---- Not public yet ----
    visitor = context(browser)
    seen = visitor.new_page()
    assert seen.goto(tip_url).status == 404
    visitor.close()

    # ---- The moderator approves it from the queue ----
    moderator = context(browser)
    page = moderator.new_page()
    errors = watch_errors(page)
    log_in(page, live_server, "moderateur@experts.example")
    page.goto(live_server + "/moderation/bons-plans")
    item = page.locator("article.moderation-item").filter(has_text=TITLE)
    expect(item).to_contain_text("Nouveau bon plan")
    item.get_by_role("button", name=re.compile("^Publier")).click()
    expect(page.locator(".flash")).to_have_text("Décision enregistrée.")
    expect(page.locator("article.moderation-item").filter(has_text=TITLE)).to_have_count(0)
    shot(page, "queue")
    assert errors == [], errors
    moderator.close()

    # ---- A visitor finds it next to the Coulon filming location, with its photo ----
    visitor = context(browser)
    page = visitor.new_page()
    errors = watch_errors(page)
    page.goto(live_server + "/passeport")
    coulon = page.locator("li[data-place]").filter(
        has=page.get_by_role("heading", name=re.compile("Coulon"))
    )
    near = coulon.locator(".near-tips")
    expect(near).to_contain_text("Bons plans des habitants à proximité")
    near.get_by_role("link", name=re.compile("^Tous les bons plans autour de Coulon")).click()
    results = page.locator("ol.tip-list > li")
    expect(results.filter(has_text=TITLE)).to_have_count(1)
    distances = [
        float(t.split("à ")[-1].replace(",", ".").replace(" km", "e3").replace(" m", ""))
        for t in results.locator(".tip-distance").all_inner_texts()
    ]
    assert distances == sorted(distances), distances  # nearest first
    shot(page, "near-coulon")
    results.filter(has_text=TITLE).get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".tip-body strong")).to_have_text("frais même en août")
    image = page.get_by_role("img", name="Le lavoir de pierre au bord de l'eau")
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()  # a lazy image loads once near the screen
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    photo = page.request.get(image.evaluate("img => img.closest('a').href"))
    assert photo.status == 200
    assert b"PhoneMaker" not in photo.body()
    shot(page, "found")
    assert errors == [], errors
    visitor.close()
