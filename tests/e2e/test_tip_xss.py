"""The XSS corpus rendered as tip text, in Chromium: no script runs, whatever the visitor does.

No server is needed: the rendered fragments are put in a page with `set_content`, under a
trap that records any call to `window.__xss` (what the payloads call), alert, confirm or
prompt, and any dialog. A control fragment, not rendered, proves that the trap works.
"""

from __future__ import annotations

from typing import Any

import pytest

from community.text import ALLOWED_TAGS, render_text
from tests.community.xss_corpus import XSS_PAYLOADS

pytestmark = pytest.mark.e2e

TRAP = """
<script>
  window.__calls = [];
  window.__xss = (...args) => window.__calls.push(args.join(","));
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = (...args) => window.__calls.push(name + ":" + args.join(","));
  }
  // Following an http(s) link would leave the page; any other scheme is let through.
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href]");
    if (link && /^https?:$/.test(link.protocol)) event.preventDefault();
  }, true);
</script>
"""
CONTROL = "<img src=x onerror=\"window.__xss('control')\">"
EVENTS = [
    "click",
    "dblclick",
    "mousedown",
    "mouseup",
    "mouseover",
    "mouseenter",
    "pointerover",
    "focus",
    "focusin",
    "blur",
    "keydown",
    "input",
    "change",
    "toggle",
    "load",
    "error",
    "animationstart",
    "transitionend",
]


def tips_page() -> str:
    sections = "\n".join(
        f'<section class="tip" data-case="{number}">{render_text(payload)}</section>'
        for number, payload in enumerate(XSS_PAYLOADS)
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"{TRAP}</head><body><main id=tips>{sections}</main>"
        f'<div id="control">{CONTROL}</div></body></html>'
    )


def test_no_payload_runs_in_chromium(page: Any) -> None:
    dialogs: list[str] = []

    def record_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record_dialog)
    page.set_content(tips_page(), wait_until="load")

    page.wait_for_function("window.__calls.includes('control')")

    # The whole page in the viewport: the real mouse reaches every element without scrolling.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(height + 50, 16_000)})
    centres = page.evaluate(
        """() => [...document.querySelectorAll("#tips *")].map((element) => {
            const box = element.getBoundingClientRect();
            return [box.x + box.width / 2, box.y + box.height / 2, box.width * box.height];
        })"""
    )
    assert len(centres) > len(XSS_PAYLOADS)
    for x, y, area in centres:
        if area:
            page.mouse.move(x, y)
            page.mouse.click(x, y)
    page.evaluate(
        """(events) => {
            for (const element of document.querySelectorAll("#tips *")) {
                element.focus?.();
                element.click?.();
                for (const type of events) element.dispatchEvent(new Event(type));
            }
        }""",
        EVENTS,
    )
    for _ in range(len(centres)):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)  # timers, animations and refreshes a payload could set up

    assert page.evaluate("window.__calls") == ["control"]
    assert dialogs == []
    assert page.url == "about:blank"


def test_the_dom_chromium_builds_holds_only_allowed_markup(page: Any) -> None:
    page.set_content(tips_page(), wait_until="load")

    found = page.evaluate(
        """() => [...document.querySelectorAll("#tips .tip *")].map((element) => ({
            tag: element.localName,
            namespace: element.namespaceURI,
            attributes: [...element.attributes].map((attribute) => attribute.name),
            href: element.getAttribute("href"),
            protocol: element.localName === "a" ? element.protocol : null,
        }))"""
    )

    assert found
    for element in found:
        assert element["tag"] in ALLOWED_TAGS, element
        assert element["namespace"] == "http://www.w3.org/1999/xhtml", element
        if element["tag"] == "a":
            assert sorted(element["attributes"]) == ["href", "rel"], element
            assert element["protocol"] in ("http:", "https:"), element
        else:
            assert element["attributes"] == [], element
