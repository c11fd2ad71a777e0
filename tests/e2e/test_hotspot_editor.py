"""The hotspot editor in a real browser: keyboard-only authoring, preview, shot-change snapping.

One `experts serve` process serves the module, on a deployment whose pilot episodes carry the
demo media (24 s, 1280×720, 25 fps). Nothing here uses the mouse.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support.live import LiveEnvironment

pytestmark = pytest.mark.e2e
#: The deployment of this module (conftest `live`) has the demo media.
LIVE_WITH_MEDIA = True

EDITOR = "editrice@experts.example"
DEMO_PASSWORD = "demo-experts-2026"
VIDEO = "document.querySelector('[data-video]')"
#: Run in the deployment: give a pilot episode's media known shot changes, print its id.
SCENES_SNIPPET = """
from core.app import create_app
from core.db import db
from series.episodes import services

app = create_app()
with app.app_context():
    episode = services.get_episode(db.session, 1, {number})
    media = services.media_of(db.session, episode.id)
    media.scenes = {scenes!r}
    db.session.commit()
    print(episode.id)
"""


@pytest.fixture(scope="module")
def token(live: LiveEnvironment) -> str:
    """An API token of the demo editor."""
    return live.experts("users", "token", EDITOR).stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def pilot(live_server: str, token: str) -> dict[int, int]:
    """Pilot episode number -> id."""
    response = requests.get(
        f"{live_server}/api/v1/seasons/1/episodes",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return {int(e["number"]): int(e["id"]) for e in response.json()}


def api(live_server: str, token: str, path: str) -> Any:
    response = requests.get(
        live_server + path, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


def log_in(page: Page, live_server: str) -> None:
    page.goto(live_server + "/connexion")
    page.get_by_label("Adresse e-mail").fill(EDITOR)
    page.get_by_label("Mot de passe", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").last.press("Enter")
    page.wait_for_url(re.compile(r"/compte$"))


def open_editor(page: Page, live_server: str, episode_id: int) -> list[str]:
    """Log in, open the episode's hotspot editor once offers and video are ready."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live_server)
    page.goto(f"{live_server}/edition/episodes/{episode_id}/zones")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Zones interactives")
    page.wait_for_function("() => document.querySelector('#hs-offer').options.length > 1")
    page.wait_for_function(f"() => {VIDEO}.readyState >= 2")
    expect(page.locator("[data-list-wrap]")).to_be_visible()
    return errors


def now(page: Page) -> float:
    return float(page.evaluate(f"() => {VIDEO}.currentTime"))


def type_into(page: Page, selector: str, text: str) -> None:
    """Focus a field, select its content and type over it (keyboard only)."""
    page.locator(selector).focus()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)


def press(page: Page, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def test_keyboard_only_authoring_of_a_moving_product_hotspot(
    page: Page, live_server: str, pilot: dict[int, int], token: str
) -> None:
    episode_id = pilot[3]
    errors = open_editor(page, live_server, episode_id)
    offers = api(live_server, token, "/api/v1/offers")
    broye = next(o for o in offers if o["title"] == "Broyé du Poitou")

    # Focus the video (visible focus ring), play and pause with K.
    page.locator("[data-video]").focus()
    outline = page.evaluate(
        "() => getComputedStyle(document.querySelector('[data-stage]')).outlineStyle"
    )
    assert outline == "solid"
    page.keyboard.press("k")
    page.wait_for_function(f"() => !{VIDEO}.paused && {VIDEO}.currentTime > 0.3")
    page.keyboard.press("k")
    page.wait_for_function(f"() => {VIDEO}.paused")
    expect(page.locator("[data-play-text]")).to_have_text("Lecture")

    # Back to the first frame with the position slider, then 25 frames forward with ".".
    page.locator("#hs-seek").focus()
    page.keyboard.press("Home")
    assert now(page) == 0
    page.locator("[data-video]").focus()
    press(page, ".", 25)
    assert now(page) == pytest.approx(1.0, abs=0.002)
    expect(page.locator("[data-clock]")).to_contain_text("image 25")
    press(page, ",")
    expect(page.locator("[data-clock]")).to_contain_text("image 24")
    press(page, ".")

    # Start at the current time (the button, with Enter).
    page.get_by_role("button", name="Début à l'instant courant").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#hs-start")).to_have_value("1")

    # The box through the numeric fields, then the first keyframe (Enter on the video).
    for name, value in (("x", "10"), ("y", "20"), ("w", "30"), ("h", "40")):
        type_into(page, f"#hs-{name}", value)
    page.keyboard.press("Tab")
    box = page.locator("[data-box]")
    expect(box).to_be_visible()
    assert page.evaluate("() => document.querySelector('[data-box]').style.left") == "10%"
    page.locator("[data-video]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-status]")).to_contain_text("Image clé ajoutée à 1,000 s")
    expect(page.locator("[data-keyframes] tr")).to_have_count(1)

    # Two seconds later: arrows move the box, Shift+arrows resize it; Enter keeps it.
    press(page, ".", 50)
    assert now(page) == pytest.approx(3.0, abs=0.002)
    press(page, "ArrowRight", 5)
    press(page, "Shift+ArrowDown", 3)
    expect(page.locator("#hs-x")).to_have_value("15")
    expect(page.locator("#hs-h")).to_have_value("43")
    expect(page.locator("[data-box-state]")).to_contain_text("ajoutez une image clé")
    page.keyboard.press("Enter")
    expect(page.locator("[data-keyframes] tr")).to_have_count(2)

    # End one second later with the O shortcut.
    press(page, ".", 25)
    page.keyboard.press("o")
    expect(page.locator("#hs-end")).to_have_value("4")

    # Kind, offer, labels, pause-on-show: typed into the controls.
    page.locator("#hs-kind").focus()
    page.keyboard.type("Lieu")
    expect(page.locator("#hs-kind")).to_have_value("place")
    place_offers = page.evaluate(
        "() => [...document.querySelector('#hs-offer').options].slice(1).map((o) => o.text)"
    )
    assert place_offers
    assert all("(lieu)" in text for text in place_offers)
    press(page, "ArrowUp", 2)  # Lieu -> Recette -> Produit
    expect(page.locator("#hs-kind")).to_have_value("product")
    page.locator("#hs-offer").focus()
    page.keyboard.type("Broyé")
    expect(page.locator("#hs-offer")).to_have_value(str(broye["id"]))
    type_into(page, "#hs-label", "Le broyé qui glisse")
    type_into(page, "#hs-accessible-label", "Un broyé du Poitou glisse sur la table")
    page.locator("#hs-pause").focus()
    page.keyboard.press("Space")
    expect(page.locator("#hs-pause")).to_be_checked()

    page.get_by_role("button", name="Enregistrer la zone").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-status]")).to_contain_text("créée")
    expect(page.locator("[data-list]")).to_contain_text("Le broyé qui glisse")

    saved = next(
        h
        for h in api(live_server, token, f"/api/v1/episodes/{episode_id}/hotspots")
        if h["label"] == "Le broyé qui glisse"
    )
    assert saved["kind"] == "product"
    assert saved["start"] == pytest.approx(1.0)
    assert saved["end"] == pytest.approx(4.0)
    assert saved["offer_id"] == broye["id"]
    assert saved["pause_on_show"] is True
    assert saved["accessible_label"] == "Un broyé du Poitou glisse sur la table"
    assert saved["keyframes"] == [
        {"t": 1.0, "x": 10, "y": 20, "w": 30, "h": 40},
        {"t": 3.0, "x": 15, "y": 20, "w": 30, "h": 43},
    ]
    # Public: the visitors' API lists it too.
    public = api(live_server, token, f"/api/v1/episodes/{episode_id}")["hotspots"]
    assert saved["id"] in {h["id"] for h in public}

    # Preview: the box moves between the keyframes while the zone plays, then stops at its end.
    page.get_by_role("button", name="Aperçu de la zone").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        """() => {
            const left = parseFloat(document.querySelector('[data-box]').style.left);
            return left > 10.5 && left < 14.5;
        }"""
    )
    page.wait_for_function(f"() => {VIDEO}.paused", timeout=15_000)
    assert now(page) == pytest.approx(4.0, abs=0.3)

    # Back to 2 s for the screenshot: the box is half-way between its keyframes.
    page.locator("[data-video]").focus()
    press(page, ",", round((now(page) - 2.0) * 25))
    expect(page.locator("#hs-x")).to_have_value("12.5")
    page.evaluate("() => window.scrollTo(0, 0)")
    assert errors == []


def test_start_and_end_snap_to_shot_changes_unless_turned_off(
    page: Page, live: LiveEnvironment, live_server: str, token: str
) -> None:
    scene = 4.0
    episode_id = int(
        live.experts_python(SCENES_SNIPPET.format(number=2, scenes=[scene, 12.0]))
        .stdout.strip()
        .splitlines()[-1]
    )
    errors = open_editor(page, live_server, episode_id)
    snap = page.get_by_label("Caler sur les changements de plan")
    expect(snap).to_be_visible()
    expect(snap).to_be_checked()

    # Typed 0.3 s after the shot change: snapped, and said so.
    type_into(page, "#hs-start", "4.3")
    page.keyboard.press("Tab")
    expect(page.locator("#hs-start")).to_have_value("4")
    expect(page.locator("[data-status]")).to_contain_text("calé sur le changement de plan")
    type_into(page, "#hs-end", "11.7")
    page.keyboard.press("Tab")
    expect(page.locator("#hs-end")).to_have_value("12")
    # Further than 0.5 s: left alone.
    type_into(page, "#hs-end", "12.6")
    page.keyboard.press("Tab")
    expect(page.locator("#hs-end")).to_have_value("12.6")

    # From the current time: the shot-change list, then 7 frames forward (4.28 s).
    page.locator(".hs-scenes summary").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Aller à 4,000 s").focus()
    page.keyboard.press("Enter")
    page.locator("[data-video]").focus()
    press(page, ".", 7)
    assert now(page) == pytest.approx(scene + 0.28, abs=0.002)
    start_button = page.get_by_role("button", name="Début à l'instant courant")
    start_button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#hs-start")).to_have_value("4")

    # Toggle off: the same gestures keep the exact times.
    snap.focus()
    page.keyboard.press("Space")
    expect(snap).not_to_be_checked()
    start_button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#hs-start")).to_have_value("4.28")
    type_into(page, "#hs-start", "4.3")
    page.keyboard.press("Tab")
    expect(page.locator("#hs-start")).to_have_value("4.3")

    # Back on: the times already set are aligned; saved, the API has the shot-change time.
    snap.focus()
    page.keyboard.press("Space")
    expect(page.locator("#hs-start")).to_have_value("4")
    type_into(page, "#hs-end", "11.8")
    page.keyboard.press("Tab")
    page.locator("#hs-kind").focus()
    page.keyboard.type("Lieu")
    page.locator("#hs-offer").focus()
    page.keyboard.type("Cit")  # Cité médiévale de Chauvigny
    expect(page.locator("#hs-offer option:checked")).to_contain_text("Chauvigny")
    type_into(page, "#hs-label", "Le porche au changement de plan")
    page.get_by_role("button", name="Enregistrer la zone").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-status]")).to_contain_text("créée")
    saved = next(
        h
        for h in api(live_server, token, f"/api/v1/episodes/{episode_id}/hotspots")
        if h["label"] == "Le porche au changement de plan"
    )
    assert saved["start"] == scene
    assert saved["end"] == 12.0
    assert [k["t"] for k in saved["keyframes"]] == [scene]
    assert errors == []


def test_pointer_drawing_handles_refusals_by_field_and_deletion(
    page: Page, live_server: str, pilot: dict[int, int], token: str
) -> None:
    episode_id = pilot[1]
    errors = open_editor(page, live_server, episode_id)
    page.locator("[data-overlay]").scroll_into_view_if_needed()
    area = page.locator("[data-overlay]").bounding_box()
    assert area is not None

    def drag(start: tuple[float, float], end: tuple[float, float]) -> None:
        """Drag between two points given in % of the picture."""
        page.mouse.move(
            area["x"] + area["width"] * start[0] / 100, area["y"] + area["height"] * start[1] / 100
        )
        page.mouse.down()
        page.mouse.move(
            area["x"] + area["width"] * end[0] / 100,
            area["y"] + area["height"] * end[1] / 100,
            steps=6,
        )
        page.mouse.up()

    def box() -> dict[str, float]:
        return {
            name: float(page.locator(f"#hs-{name}").input_value()) for name in ("x", "y", "w", "h")
        }

    drag((20, 30), (50, 60))  # draw on an empty part of the picture
    assert box() == pytest.approx({"x": 20, "y": 30, "w": 30, "h": 30}, abs=0.5)
    handle = page.locator(".hs-handle-se").bounding_box()
    assert handle is not None
    drag((50, 60), (60, 75))  # the south-east handle: bigger
    assert box() == pytest.approx({"x": 20, "y": 30, "w": 40, "h": 45}, abs=0.5)
    drag((40, 50), (45, 45))  # the middle of the box: moved
    assert box() == pytest.approx({"x": 25, "y": 25, "w": 40, "h": 45}, abs=0.5)
    drag((40, 50), (95, 50))  # pushed against the right edge: stays inside the picture
    assert box()["x"] + box()["w"] == pytest.approx(100, abs=0.01)

    # Refusals land next to the field the API names, which gets the focus.
    page.get_by_role("button", name="Enregistrer la zone").click()
    label_error = page.locator("#hs-label-err")
    expect(label_error).to_be_visible()
    expect(label_error).to_contain_text("libellé")
    expect(page.locator("#hs-label")).to_be_focused()
    expect(page.locator("#hs-label")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-status]")).to_contain_text("Zone refusée")
    page.keyboard.type("Zone dessinée à la souris")
    page.get_by_role("button", name="Enregistrer la zone").click()
    expect(page.locator("#hs-offer-err")).to_contain_text("offre")
    expect(page.locator("#hs-offer")).to_be_focused()
    expect(label_error).to_be_hidden()
    page.locator("#hs-offer").select_option(index=1)
    page.get_by_role("button", name="Enregistrer la zone").click()
    expect(page.locator("[data-status]")).to_contain_text("créée")
    expect(page.locator("#hs-offer-err")).to_be_hidden()
    listed = api(live_server, token, f"/api/v1/episodes/{episode_id}/hotspots")
    saved = next(h for h in listed if h["label"] == "Zone dessinée à la souris")
    assert len(saved["keyframes"]) == 1
    assert saved["keyframes"][0]["x"] + saved["keyframes"][0]["w"] == pytest.approx(100)

    # A seeded hotspot loads into the form; saving it again replaces it (PUT).
    page.get_by_role("button", name="Nouvelle zone").click()
    expect(page.locator("[data-form-title]")).to_have_text("Nouvelle zone")
    page.get_by_role("button", name="Modifier la zone « Le broyé sur la table »").click()
    expect(page.locator("[data-form-title]")).to_be_focused()
    expect(page.locator("[data-form-title]")).to_contain_text("Le broyé sur la table")
    expect(page.locator("#hs-start")).to_have_value("2")
    expect(page.locator("#hs-end")).to_have_value("8")
    expect(page.locator("[data-keyframes] tr")).to_have_count(2)
    expect(page.locator("#hs-offer option:checked")).to_contain_text("Broyé du Poitou")
    assert now(page) == pytest.approx(2.0, abs=0.01)
    type_into(page, "#hs-label", "Le broyé sur la nappe")
    page.get_by_role("button", name="Enregistrer la zone").click()
    expect(page.locator("[data-status]")).to_contain_text("enregistrée")
    listed = api(live_server, token, f"/api/v1/episodes/{episode_id}/hotspots")
    assert "Le broyé sur la nappe" in {h["label"] for h in listed}
    assert len(listed) == len({h["id"] for h in listed})

    # Deleted from the list, after the confirmation.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Supprimer la zone « Zone dessinée à la souris »").click()
    expect(page.locator("[data-status]")).to_contain_text("supprimée")
    expect(page.locator("[data-list]")).not_to_contain_text("Zone dessinée à la souris")
    listed = api(live_server, token, f"/api/v1/episodes/{episode_id}/hotspots")
    assert saved["id"] not in {h["id"] for h in listed}
    # The browser logs the two refused saves (422) as failed loads; nothing else went wrong.
    assert [e for e in errors if "status of 422" not in e] == []
