"""Live polls in real browsers: two browsers on a poll, one votes, the other's bars move within a
second; at close the winning ending plays. Also a phone-size vote with the keyboard only.

The demo seed's ending poll is on the pilot's unreleased finale: an ending poll is made here on
the released episode 2, its two endings copied from the finale's seeded ones, open now and
closing CLOSES_IN_S seconds later (results live).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.pages import log_in, watch_errors
from tests.support.live import LiveEnvironment

pytestmark = pytest.mark.e2e
#: The deployment of this module (conftest `live`) has the demo media (the ending videos).
LIVE_WITH_MEDIA = True

#: The other browser's bars must move within this of the voter's acknowledgement (ms).
LIVE_BUDGET_MS = 1_000
CLOSES_IN_S = 20

#: Run in the deployment: an open ending poll on episode 1x2 with the finale's two endings.
CREATE_POLL = r"""
import datetime as dt, json, secrets, shutil
import sqlalchemy as sa
from core.app import create_app
from core.clock import now
from core.db import db
from series.episodes import services as episodes
from series.votes import services
from series.votes.models import EndingMedia, Poll, PollScope, ResultsShown
from series.votes.seed import ENDING_QUESTION
app = create_app()
with app.app_context():
    at = now()
    episode = episodes.get_episode(db.session, 1, 2)
    assert episode.publish_at is not None and episode.publish_at <= at, "episode 2 not out"
    seeded = db.session.scalar(sa.select(Poll).where(Poll.question == ENDING_QUESTION))
    poll = services.create_poll(
        db.session, question="Quelle fin pour « Panique à Poitiers » ?",
        options=[o.label for o in seeded.options], scope=PollScope.EPISODE, episode=episode,
        is_ending=True, results=ResultsShown.LIVE, opens_at=at - dt.timedelta(seconds=1),
        closes_at=at + dt.timedelta(seconds=CLOSES_IN_S))
    root = episodes.media_root()
    for option, source in zip(poll.options, seeded.options, strict=True):
        option.description = source.description
        media = source.ending
        relative = f"endings/{option.id}/{secrets.token_urlsafe(12)}"
        shutil.copytree(root / media.directory, root / relative)
        db.session.add(EndingMedia(
            option_id=option.id, directory=relative, duration_s=media.duration_s,
            width=media.width, height=media.height, renditions=list(media.renditions),
            mp4_name=media.mp4_name))
    db.session.commit()
    print(json.dumps({"id": poll.id, "options": [[o.id, o.label] for o in poll.options],
                      "closes_at": poll.closes_at.isoformat()}))
""".replace("CLOSES_IN_S", str(CLOSES_IN_S))

#: In a page: window[key] = Date.now() when an element matching the selector first shows the text.
WATCH_FOR = """([key, selector, text]) => {
    window[key] = null;
    const seen = () => [...document.querySelectorAll(selector)]
        .some((el) => el.textContent.includes(text));
    new MutationObserver((_, observer) => {
        if (!seen()) return;
        window[key] = Date.now();
        observer.disconnect();
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The bars' width transition (0.3 s) ends first.
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")
    page.screenshot(path=str(SCREENSHOTS / f"polls-{name}.png"), full_page=True)


def tallies(page: Page) -> list[dict[str, Any]]:
    """The `tally` Socket.IO events the page receives ('42["tally",{…}]' frames), as they come."""
    events: list[dict[str, Any]] = []

    def frame(payload: str | bytes) -> None:
        if isinstance(payload, str) and payload.startswith('42["tally"'):
            events.append(json.loads(payload[2:])[1])

    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    return events


def wait_joined(page: Page, events: list[dict[str, Any]]) -> None:
    """The page's socket has joined the poll's room: the first tally came."""
    for _ in range(200):
        if events:
            return
        page.wait_for_timeout(50)
    raise AssertionError("no tally received on joining the poll")


def test_one_votes_the_other_sees_the_bars_move_and_the_winning_ending_plays_at_close(
    page: Page, phone_page: Page, live: LiveEnvironment, live_server: str
) -> None:
    voter, watcher = page, phone_page  # A: Camille on a desktop; B: a guest on a phone
    voter_errors, watcher_errors = watch_errors(voter), watch_errors(watcher)
    log_in(voter, live_server, "camille@experts.example")
    created = json.loads(live.experts_python(CREATE_POLL).stdout.strip().splitlines()[-1])
    poll_id, closes_at = created["id"], dt.datetime.fromisoformat(created["closes_at"])
    (win_id, win_label), (lose_id, _lose_label) = created["options"]
    voter_tallies, watcher_tallies = tallies(voter), tallies(watcher)
    for browser_page, events in ((voter, voter_tallies), (watcher, watcher_tallies)):
        browser_page.goto(f"{live_server}/sondages/{poll_id}")
        expect(browser_page.get_by_role("heading", level=1)).to_contain_text("Panique à Poitiers")
        wait_joined(browser_page, events)
    assert watcher_tallies[0] == {
        "poll": poll_id,
        "state": "open",
        "counts": {str(win_id): 0, str(lose_id): 0},
        "total": 0,
    }
    expect(watcher.get_by_role("link", name="Connectez-vous pour voter")).to_be_visible()
    watcher_bar = watcher.locator(f'[data-option="{win_id}"]')
    expect(watcher_bar.locator("[data-figure]")).to_have_text("0 % (0 voix)")
    expect(watcher_bar.locator("[data-fill]")).to_have_attribute("value", "0")
    shot(voter, "desktop-before-vote")
    shot(watcher, "phone-before-vote")

    # ---- A votes: click the option's big label, then "Voter" (over the socket) ----
    figure = f'[data-option="{win_id}"] [data-figure]'
    watcher.evaluate(WATCH_FOR, ["__movedAt", figure, "100 % (1 voix)"])
    voter.evaluate(WATCH_FOR, ["__ackedAt", "[role=status]", "Vote enregistré"])
    voter.evaluate(
        "() => document.querySelector('[data-vote-form]').addEventListener("
        "'submit', () => { window.__submittedAt = Date.now(); }, { capture: true })"
    )
    voter.locator("label.poll-choice", has_text=win_label).click()
    expect(voter.get_by_role("radio", name=win_label)).to_be_checked()
    voter.get_by_role("button", name="Voter").click()
    receipt = voter.get_by_role("status").filter(has_text="Vote enregistré")
    expect(receipt).to_contain_text(f"Vote enregistré : {win_label}. Merci !")
    # ---- B, never reloaded, gets the new bars within a second of A's ack ----
    expect(watcher_bar.locator("[data-figure]")).to_have_text(
        "100 % (1 voix)", timeout=LIVE_BUDGET_MS
    )
    moved_at = watcher.evaluate("() => window.__movedAt")
    submitted_at, acked_at = voter.evaluate("() => [window.__submittedAt, window.__ackedAt]")
    expect(watcher_bar.locator("[data-fill]")).to_have_attribute("value", "100")
    expect(watcher.locator(f'[data-option="{lose_id}"] [data-figure]')).to_have_text("0 % (0 voix)")
    expect(watcher.locator("[data-total]")).to_have_text("1 vote au total")
    delay_ms = moved_at - acked_at
    print(
        f"\nA's ack {acked_at - submitted_at} ms after the submit; B's bars moved {delay_ms} ms"
        f" after A's ack ({moved_at - submitted_at} ms after the submit)"
    )
    assert delay_ms <= LIVE_BUDGET_MS, delay_ms
    assert watcher_tallies[-1]["counts"] == {str(win_id): 1, str(lose_id): 0}
    expect(voter.locator(f'[data-option="{win_id}"] [data-figure]')).to_have_text("100 % (1 voix)")
    shot(voter, "desktop-after-vote")
    shot(watcher, "phone-after-vote")

    # ---- The close: the final tally comes, the winning ending plays in both browsers ----
    wait_ms = (closes_at - dt.datetime.now(dt.UTC)).total_seconds() * 1000
    for browser_page in (watcher, voter):
        video = browser_page.locator("video[data-ending]")
        expect(video).to_have_count(1, timeout=max(wait_ms, 0) + 10_000)
        expect(browser_page.locator("[data-state-text]")).to_have_text("Vote clos.")
        expect(browser_page.locator(f'[data-option="{win_id}"]')).to_have_class(
            re.compile(r"\bis-winner\b")
        )
        expect(browser_page.locator(f'[data-option="{lose_id}"]')).not_to_have_class(
            re.compile(r"\bis-winner\b")
        )
        expect(browser_page.locator("[data-announce]")).to_contain_text(win_label)
        # Not by colour alone; and the register is one link away, as after a reload.
        expect(browser_page.locator(f'[data-option="{win_id}"] .poll-bar-label')).to_contain_text(
            "— gagnant"
        )
        expect(browser_page.get_by_role("link", name=re.compile("Registre public"))).to_be_visible()
        assert f"/media/fins/{win_id}/" in video.evaluate("v => v.currentSrc")
        browser_page.wait_for_function(
            "() => { const v = document.querySelector('video[data-ending]');"
            " return !v.paused && v.currentTime > 0.3 && !v.error; }"
        )
    assert voter.get_by_role("button", name="Voter").count() == 0
    assert watcher.get_by_role("link", name="Connectez-vous pour voter").count() == 0
    # The voter may watch the losing ending as an extra at once.
    expect(voter.locator(".poll-extras a")).to_have_count(1)
    watcher.locator("video[data-ending]").scroll_into_view_if_needed()
    shot(voter, "desktop-after-close")
    shot(watcher, "phone-after-close")
    assert voter_errors == [], voter_errors
    assert watcher_errors == [], watcher_errors


def test_a_phone_user_votes_with_the_keyboard_only(phone_page: Page, live_server: str) -> None:
    """Touch targets of 44 px at least; Tab to the radios, arrows to choose, Enter to vote."""
    errors, events = watch_errors(phone_page), tallies(phone_page)
    log_in(phone_page, live_server, "lea@experts.example")
    phone_page.goto(f"{live_server}/sondages")
    phone_page.get_by_role("link", name="Quel département pour la saison 2 ?").click()
    expect(phone_page.get_by_role("heading", level=1)).to_have_text(
        "Quel département pour la saison 2 ?"
    )
    wait_joined(phone_page, events)
    choices = phone_page.locator("label.poll-choice")
    expect(choices).to_have_count(3)
    for choice in [*choices.all(), phone_page.get_by_role("button", name="Voter")]:
        box = choice.bounding_box()
        assert box is not None
        assert box["height"] >= 44, box  # a touch target
        assert 0 <= box["x"] <= box["x"] + box["width"] <= 390, box  # on the screen
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390

    shot(phone_page, "phone-keyboard-before-vote")
    first = phone_page.get_by_role("radio", name="Charente")
    for _ in range(60):
        if first.evaluate("el => el === document.activeElement"):
            break
        phone_page.keyboard.press("Tab")
    expect(first).to_be_focused()
    phone_page.keyboard.press("Space")
    expect(first).to_be_checked()
    phone_page.keyboard.press("ArrowDown")
    second = phone_page.get_by_role("radio", name="Corrèze")
    expect(second).to_be_focused()
    expect(second).to_be_checked()
    phone_page.keyboard.press("Tab")
    expect(phone_page.get_by_role("button", name="Voter")).to_be_focused()
    phone_page.keyboard.press("Enter")
    expect(phone_page.get_by_role("status")).to_contain_text("Vote enregistré : Corrèze. Merci !")
    expect(phone_page.locator("[data-total]")).to_have_text("1 vote au total")
    shot(phone_page, "phone-keyboard-voted")
    assert errors == [], errors
