"""The whole viewer's path with the keyboard alone, in Chromium: sign in, watch the pilot with
captions, find a clue through the list of the scene's regions, vote, stamp the passport with the
place's code, post a tip.

Only the keyboard drives the pages (Tab, Shift+Tab, Enter, Space, arrows, letters typed into the
focused field): no click, no mouse, no `fill`. Going to a page by its address stands for typing
it in the address bar. The focus must be visible wherever it lands (the site's :focus-visible
ring); what each step did is checked on the server (the notebook, the poll's tally, the passport,
the tip's page), not only in the page that did it.

The deployment (conftest `live`) has the demo media: 24 s clips with French and English
subtitles, public hotspots and clues. The resident of the demo plays (an ambassador: her tips
are published without review).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from core.seed import DEMO_PASSWORD
from series.clues.seed import CLUES
from series.votes.seed import SITE_OPTIONS, SITE_QUESTION
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.pages import tab_to, watch_errors
from tests.support.live import LiveEnvironment

pytestmark = pytest.mark.e2e
#: The deployment of this module (conftest `live`) has the demo media.
LIVE_WITH_MEDIA = True

EMAIL = "habitante@experts.example"
VIDEO = "document.querySelector('[data-player] video')"
#: The pilot's first clue: on screen from 4 to 12 s, under a neutral label in the region list.
CLUE_LABEL, CLUE_TITLE, CLUE_TEXT = CLUES[1][0][:3]
#: A public hotspot of the pilot's first episode, on screen from 10 to 16 s.
HOTSPOT_LABEL = "La façade de Notre-Dame"
TIP_TITLE = "Le pique-nique des remparts"
TIP_BODY = "Une table en pierre au pied du donjon, vue sur la Vienne. Venir tôt le dimanche."

#: Run in the deployment: the pilot's first episode, the site poll, a filming location and
#: the code printed on its poster now (what the editors' poster page shows).
FACTS = r"""
import json
import sqlalchemy as sa
from core.app import create_app
from core.clock import now
from core.db import db
from passport import services as passport
from passport.models import FilmingLocation
from series.episodes import services as episodes
from series.votes.models import Poll
app = create_app()
with app.app_context():
    place = db.session.scalars(
        sa.select(FilmingLocation).where(FilmingLocation.remembrance.is_(False))
        .order_by(FilmingLocation.id)
    ).first()
    print(json.dumps({
        "episode": episodes.get_episode(db.session, 1, 1).id,
        "poll": db.session.scalar(sa.select(Poll.id).where(Poll.question == %r)),
        "place": place.id,
        "place_name": place.name,
        "code": passport.place_code(place, now()),
    }))
"""


@pytest.fixture(scope="module")
def facts(live: LiveEnvironment) -> dict[str, Any]:
    out = live.experts_python(FACTS % SITE_QUESTION).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"keyboard-journey-{name}.png"), full_page=True)


def assert_focus_visible(target: Locator) -> None:
    """The element has the focus and draws a ring for it (an outline or a box shadow)."""
    expect(target).to_be_focused()
    ring = target.evaluate(
        """(el) => {
            const s = getComputedStyle(el);
            return {
                visible: el.matches(":focus-visible"),
                outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0,
                shadow: s.boxShadow !== "none",
                style: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor} / ${s.boxShadow}`,
            };
        }"""
    )
    assert ring["visible"], ring
    assert ring["outline"] or ring["shadow"], ring


def type_into(page: Page, field: Locator, text: str) -> None:
    """Tab to a field and type, key by key."""
    tab_to(page, field)
    page.keyboard.type(text)


def video_state(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate(
            f"""() => {{
                const v = {VIDEO};
                return {{
                    paused: v.paused, t: v.currentTime,
                    showing: [...v.textTracks].filter((t) => t.mode === "showing").map(
                        (t) => ({{ kind: t.kind, lang: t.language, cues: t.cues?.length ?? 0 }})),
                }};
            }}"""
        )
    )


def log_in_by_keyboard(page: Page, live_server: str) -> None:
    page.goto(live_server + "/")
    # The skip link comes first, then the header's "Se connecter".
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    assert_focus_visible(skip)
    tab_to(page, page.locator(".main-nav").get_by_role("link", name="Se connecter"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/connexion"))
    email = page.get_by_label("Adresse e-mail")
    type_into(page, email, EMAIL)
    assert_focus_visible(email)
    page.keyboard.press("Tab")
    password = page.get_by_label("Mot de passe", exact=True)
    expect(password).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/compte$"))


def test_the_whole_path_with_the_keyboard_alone(
    page: Page, live_server: str, facts: dict[str, Any]
) -> None:
    errors = watch_errors(page)
    log_in_by_keyboard(page, live_server)

    # ---- Watch the pilot: Space plays, C turns the captions on ----
    page.goto(f"{live_server}/episodes/{facts['episode']}")
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1")
    video = page.locator("[data-player] video")
    tab_to(page, video)
    assert_focus_visible(video)
    page.keyboard.press("Space")
    page.wait_for_function(f"() => !{VIDEO}.paused && {VIDEO}.currentTime > 0.3")
    page.keyboard.press("c")
    page.wait_for_function(
        f"""() => [...{VIDEO}.textTracks].some((t) => t.mode === "showing" && t.cues?.length)"""
    )
    state = video_state(page)
    assert not state["paused"], state
    assert state["showing"] == [
        {"kind": "subtitles", "lang": "fr", "cues": state["showing"][0]["cues"]}
    ]
    expect(page.locator("[data-player-status]")).to_have_text("Sous-titres activés : Français")
    shot(page, "1-playing-with-captions")

    # ---- The hotspot list: the same hotspots as the boxes on the picture, as buttons ----
    page.keyboard.press("k")  # pause
    page.keyboard.press("j")  # back 10 s: the start
    page.keyboard.press("l")  # forward 10 s: 00:10, the façade's hotspot and the clue are on
    page.wait_for_function(f"() => {VIDEO}.paused && Math.abs({VIDEO}.currentTime - 10) < 0.3")
    panel = page.locator(f'[data-hotspot-panel="{facts["episode"]}"]')
    item = panel.get_by_role("button", name=re.compile(HOTSPOT_LABEL))
    expect(item).to_be_visible()
    tab_to(page, item)
    assert_focus_visible(item)
    page.keyboard.press("Enter")
    card = page.locator("[data-hotspot-card]")
    expect(card).to_be_visible()
    expect(card.locator("[data-card-title]")).to_be_focused()
    expect(card.locator("[data-card-title]")).to_have_text("Église Notre-Dame-la-Grande")
    shot(page, "2-hotspot-card")
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()
    expect(item).to_be_focused()  # back where it was

    # ---- The clue: "examine the scene" lists the frame's regions; the right one finds it ----
    examine = page.get_by_role("button", name="Examiner la scène")
    tab_to(page, examine)
    assert_focus_visible(examine)
    page.keyboard.press("Enter")
    regions_title = page.locator("[data-clue-regions-title]")
    expect(regions_title).to_have_text("Régions de l'image à 00:10")
    expect(regions_title).to_be_focused()
    region = page.locator("[data-clue-regions-list]").get_by_role("button", name=CLUE_LABEL)
    tab_to(page, region)
    assert_focus_visible(region)
    page.keyboard.press("Enter")
    expect(page.locator("[data-clue-status]")).to_contain_text(f"Indice trouvé : {CLUE_TITLE}")
    shot(page, "3-clue-found")
    # The server recorded it: the notebook (reached from the main menu) lists the find.
    notebook = page.locator(".main-nav").get_by_role("link", name="Enquête")
    tab_to(page, notebook, "Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/enquete/carnet$"))
    find = page.locator("li.find")
    expect(find).to_have_count(1)
    expect(find.get_by_role("heading", level=4)).to_have_text(CLUE_TITLE)
    expect(find).to_contain_text(CLUE_TEXT)

    # ---- Vote: the menu, the poll's link, arrows among the radios, Enter ----
    tab_to(page, page.locator(".main-nav").get_by_role("link", name="Votes"), "Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sondages$"))
    poll_link = page.get_by_role("link", name=SITE_QUESTION)
    tab_to(page, poll_link)
    assert_focus_visible(poll_link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(SITE_QUESTION)
    first = page.get_by_role("radio", name=SITE_OPTIONS[0])
    tab_to(page, first)
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    page.keyboard.press("ArrowDown")
    chosen = page.get_by_role("radio", name=SITE_OPTIONS[1])
    expect(chosen).to_be_checked()
    assert_focus_visible(chosen)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Voter")).to_be_focused()
    page.keyboard.press("Enter")
    receipt = page.locator(".poll-receipt")
    expect(receipt).to_contain_text(f"Vote enregistré : {SITE_OPTIONS[1]}. Merci !")
    # The form (and its focused button) gave way to the receipt: the focus went there, not
    # back to the top of the page.
    expect(receipt).to_be_focused()
    tally = page.request.get(f"{live_server}/api/v1/polls/{facts['poll']}").json()
    option = next(o for o in tally["options"] if o["label"] == SITE_OPTIONS[1])
    assert tally["total"] == 1, tally
    assert tally["counts"] == {str(o["id"]): int(o["id"] == option["id"]) for o in tally["options"]}
    expect(page.locator("[data-total]")).to_have_text("1 vote au total")
    shot(page, "4-voted")

    # ---- Stamp: the poster's QR code leads to the place's page; the code typed in ----
    page.goto(f"{live_server}/passeport/scan/{facts['place']}")
    code = page.get_by_label("Code affiché sur place")
    type_into(page, code, facts["code"])
    assert_focus_visible(code)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/passeport#lieu-{facts['place']}$"))
    expect(page.locator(".flash")).to_have_text(
        f"Tampon « {facts['place_name']} » ajouté à votre passeport."
    )
    expect(page.locator("[data-summary]")).to_contain_text("1 lieu tamponné sur")
    expect(page.locator(f"#lieu-{facts['place']}")).to_have_class(re.compile(r"\bis-stamped\b"))
    shot(page, "5-stamped")

    # ---- A tip: the board's link, the form filled field by field, sent with Enter ----
    page.goto(f"{live_server}/bons-plans")
    share = page.get_by_role("link", name="Partager un bon plan")
    tab_to(page, share)
    assert_focus_visible(share)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bons-plans/nouveau$"))
    type_into(page, page.get_by_label("Titre"), TIP_TITLE)
    category = page.get_by_label("Catégorie")
    tab_to(page, category)
    assert_focus_visible(category)
    page.keyboard.press("ArrowDown")  # a closed select takes the arrows: the next choice
    assert category.evaluate("(el) => el.value") != ""
    type_into(page, page.get_by_label("Votre bon plan"), TIP_BODY)
    type_into(page, page.get_by_label("Adresse ou commune"), "Chauvigny")
    publish = page.get_by_role("button", name="Publier")
    tab_to(page, publish)
    assert_focus_visible(publish)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(TIP_TITLE)
    expect(page.locator(".flash")).to_have_text("Votre bon plan est publié. Merci !")
    tip_id = int(page.url.rsplit("/", 1)[-1])
    saved = page.request.get(f"{live_server}/api/v1/tips/{tip_id}").json()
    assert (saved["title"], saved["status"]) == (TIP_TITLE, "published"), saved
    assert saved["commune"] == "Chauvigny", saved
    shot(page, "6-tip-published")
    assert errors == [], errors
