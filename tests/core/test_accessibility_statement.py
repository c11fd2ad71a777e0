"""The accessibility statement (RGAA model) and the compliance mention in every page's footer."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest

PAGE = "/accessibilite"
FOOTER = re.compile(r'<footer class="site-footer">.*?</footer>', re.S)


class Outline(HTMLParser):
    """The headings (level, text) and the links (href, text) of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[tuple[int, str]] = []
        self.links: list[tuple[str, str]] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag) or tag == "a":
            self._open = (tag, dict(attrs).get("href") or "")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[0] == tag:
            text = " ".join("".join(self._text).split())
            if tag == "a":
                self.links.append((self._open[1], text))
            else:
                self.headings.append((int(tag[1]), text))
            self._open = None


def test_the_statement_has_every_section_of_the_rgaa_model(
    app_config: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    app_config["PUBLISHER_NAME"] = "Région Test-Aquitaine"
    app_config["CONTACT_EMAIL"] = "a11y@region.example"
    client = request.getfixturevalue("client")
    response = client.get(PAGE)
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    main = re.search(r"<main .*?</main>", html, re.S)
    assert main is not None
    outline = Outline(main[0])
    assert outline.headings[0] == (1, "Déclaration d'accessibilité")
    sections = [text for level, text in outline.headings if level == 2]
    assert sections == [
        "État de conformité",
        "Résultats des tests",
        "Contenus non accessibles",
        "Établissement de cette déclaration d'accessibilité",
        "Retour d'information et contact",
        "Voies de recours",
    ]
    subsections = {text for level, text in outline.headings if level == 3}
    assert {
        "Non-conformités",
        "Dérogations pour charge disproportionnée",
        "Contenus non soumis à l'obligation d'accessibilité",
        "Technologies utilisées pour la réalisation du site",
        "Environnement de test",
        "Pages du site ayant fait l'objet de la vérification",
    } <= subsections
    # The body, its compliance state, and the audit it rests on (no invented rate).
    assert "Région Test-Aquitaine s'engage à rendre" in html
    assert "est partiellement conforme avec le référentiel général" in html
    assert "axe-core" in html
    assert "%" not in re.sub(r"<[^>]+>", "", html)
    for technology in ("HTML5", "CSS", "JavaScript", "WAI-ARIA"):
        assert f"<li>{technology}</li>" in html
    assert "Chromium" in html
    assert "établie le 2 décembre 2026" in html
    # The contact from config and the means of redress.
    assert ("mailto:a11y@region.example", "a11y@region.example") in outline.links
    hrefs = {href for href, _ in outline.links}
    assert "https://formulaire.defenseurdesdroits.fr/" in hrefs
    assert "https://www.defenseurdesdroits.fr/carte-des-delegues" in hrefs
    assert "Libre réponse 71120<br>75342 Paris CEDEX 07" in html
    # The pages it lists are real pages.
    for href, _ in outline.links:
        if href.startswith("/") and not href.startswith("/langue/"):
            assert client.get(href).status_code == 200, href


def test_every_page_s_footer_states_the_compliance_and_links_to_the_statement(
    client: Any, seeded: Any, auth: Any
) -> None:
    pages = ("/", "/saisons", "/bons-plans", "/connexion", "/confidentialite/mesure-d-audience")
    for path in (*pages, "/page-qui-n-existe-pas", PAGE):
        response = client.get(path)
        footer = FOOTER.search(response.get_data(as_text=True))
        assert footer is not None, path
        assert (PAGE, "Accessibilité : partiellement conforme") in Outline(footer[0]).links, path
    assert (
        'href="/accessibilite" aria-current="page"'
        in FOOTER.search(  # type: ignore[union-attr]
            client.get(PAGE).get_data(as_text=True)
        )[0]
    )
    # Signed in, too.
    auth.login("admin@experts.example", "demo-experts-2026")
    footer = FOOTER.search(client.get("/compte").get_data(as_text=True))
    assert footer is not None
    assert 'href="/accessibilite"' in footer[0]


def test_the_statement_follows_the_visitor_s_language(client: Any) -> None:
    response = client.get(PAGE, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "75342 Paris CEDEX 07" in html
