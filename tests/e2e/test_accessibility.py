"""Accessibility (RGAA 4 / WCAG 2.1 AA): axe-core finds no serious or critical violation on any
page of the demo site, logged out and signed in as each role.

The pages are the URL map's GET routes, their parameters filled from the deployment's demo
content (tests/support/crawl.py, as the security crawl does), so a new page is audited without a
list to update. A page a role may not see (an error status, or a redirect such as to the login
page) is skipped for that role only; answers that are not HTML (JSON, CSV, images, feeds) are
not pages. One browser context per role visits them all, with the content security policy
bypassed so that axe's script can be injected (the site's own scripts run as they do for real).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.e2e.pages import log_in
from tests.support.live import REPO_ROOT, LiveEnvironment

pytestmark = pytest.mark.e2e

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG 2.1 A and AA success criteria (RGAA 4 follows them).
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    resultTypes: ["violations"],
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(" ")),
    }));
}"""
#: GET routes that are not pages to audit: they change a setting or count a click and redirect,
#: or leave for an identity provider.
NOT_PAGES = {"i18n.switch_language", "attribution.go", "oidc.login", "oidc.callback"}
ROLES = {
    "viewer": "camille@experts.example",
    "resident": "habitante@experts.example",
    "partner": "partenaire@experts.example",
    "moderator": "moderateur@experts.example",
    "editor": "editrice@experts.example",
    "admin": "admin@experts.example",
}
DESKTOP = {"width": 1280, "height": 800}
#: The phone pass resizes the desktop page (the layout follows the width; a context cannot
#: turn into a touch device).
PHONE = {"width": 390, "height": 844}

#: Run in the deployment: every GET route's URLs, filled from its demo content.
SITE_PAGES = r"""
import json
from core.app import create_app
from core.db import db
from core.seed import DEMO_PASSWORD
from tests.support.crawl import demo_values, page_endpoints, pilot_episodes, routes
app = create_app()
with app.app_context():
    values = demo_values(db.session, pilot_episodes(db.session))
pages = page_endpoints(app, values, "admin@experts.example", DEMO_PASSWORD, skip={skip!r})
print(json.dumps(sorted({{(e, url) for e, url in routes(app, values, {{"GET"}}) if e in pages}})))
"""


@pytest.fixture(scope="module")
def site_pages(live: LiveEnvironment) -> list[tuple[str, str]]:
    """(endpoint, URL) of every page to audit, in a stable order."""
    found = json.loads(
        live.experts_python(SITE_PAGES.format(skip=NOT_PAGES)).stdout.splitlines()[-1]
    )
    return [(endpoint, url) for endpoint, url in found]


@pytest.fixture
def context_for(browser: Browser) -> Iterator[Any]:
    """Factory: a French browser context in which axe can be injected (CSP bypassed)."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(locale="fr-FR", bypass_csp=True, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


#: A page's own content (its <main>, form values aside): the same for every visitor who is sent
#: the same page, whose axe results are then the same.
MAIN = re.compile(r"<main\b.*?</main>", re.S)
VALUES = re.compile(r'value="[^"]*"')


@dataclass
class Pass:
    """The pages one visitor could see (in order) and the violations found on them."""

    visited: list[str] = field(default_factory=list)
    on_phone: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


class Audit:
    """The module's audit: every page each visitor may see, each distinct content audited once.

    A page whose content was audited already (for another role, or with other demo rows) is not
    audited again; the header and footer a visitor sees are audited on their first page."""

    def __init__(self, base: str, pages: list[tuple[str, str]]) -> None:
        self.base = base
        self.pages = pages
        self.seen: set[str] = set()

    def run(self, page: Page, who: str, every_url: bool = True, phone: bool = False) -> Pass:
        """Audit the pages this context may see: with `every_url` false, only the first URL of
        each endpoint that answers with a page (the same template with other demo rows); with
        `phone`, each endpoint's page once more at a phone's width."""
        found = Pass()
        done: set[str] = set()
        done_on_phone: set[str] = set()
        for endpoint, url in self.pages:
            if not every_url and endpoint in done:
                continue
            # Asked without the browser first: a page refused to this visitor (an error, or a
            # redirect to the login page) is skipped without loading it.
            answer = page.context.request.get(self.base + url, max_redirects=0)
            html = answer.headers.get("content-type", "").startswith("text/html")
            body = answer.text() if answer.status == 200 and html else None
            answer.dispose()
            if body is None:
                continue
            found.visited.append(url)
            done.add(endpoint)
            main = MAIN.search(body)
            content = VALUES.sub("", main[0] if main else body)
            if found.visited[1:] and content in self.seen:
                continue
            self.seen.add(content)
            response = page.goto(self.base + url)
            assert response is not None
            assert response.status == 200, (who, url, response.status)
            found.violations += self.axe(page, f"{who} {url}")
            if phone and endpoint not in done_on_phone:
                done_on_phone.add(endpoint)
                page.set_viewport_size(PHONE)
                found.violations += self.axe(page, f"{who} (phone) {url}")
                found.on_phone.append(url)
                page.set_viewport_size(DESKTOP)
        return found

    @staticmethod
    def axe(page: Page, where: str) -> list[str]:
        """The serious and critical violations axe finds in the page, one line each."""
        if not page.evaluate("() => typeof axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        lines = []
        for violation in page.evaluate(RUN_AXE):
            targets = violation["targets"]
            lines.append(
                f"{where}: {violation['id']} ({violation['impact']}) at {', '.join(targets[:4])}"
                + (f" and {len(targets) - 4} more" if len(targets) > 4 else "")
            )
        return lines


@pytest.fixture(scope="module")
def audit(live_server: str, site_pages: list[tuple[str, str]]) -> Audit:
    return Audit(live_server, site_pages)


def test_no_serious_or_critical_violation_logged_out_on_desktop_and_phone(
    audit: Audit, context_for: Any
) -> None:
    page = context_for(viewport=DESKTOP).new_page()
    found = audit.run(page, "anonymous", phone=True)
    assert found.violations == []
    # The crawl reached the public pages, with their maps, players and forms, on both sizes.
    for url in ("/", "/saisons", "/passeport", "/bons-plans", "/connexion", "/accessibilite"):
        assert url in found.visited, url
        assert url in found.on_phone, url
    assert any(url.startswith("/episodes/") for url in found.visited)
    assert len(found.visited) > 30
    # axe does report what it should: a field without a label, on the page last audited.
    page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
    assert any(" label (critical)" in line for line in audit.axe(page, "check"))


@pytest.mark.parametrize("role", list(ROLES))
def test_no_serious_or_critical_violation_signed_in(
    role: str, audit: Audit, context_for: Any
) -> None:
    page = context_for(viewport=DESKTOP).new_page()
    log_in(page, audit.base, ROLES[role])
    found = audit.run(page, role, every_url=False)
    assert found.violations == []
    assert "/compte" in found.visited
    own = {
        "viewer": "/enquete/carnet",
        "resident": "/bons-plans/nouveau",
        "partner": "/partenaires",
        "moderator": "/moderation/bons-plans",
        "editor": "/edition",
        "admin": "/moderation/membres",
    }
    assert own[role] in found.visited, own[role]
