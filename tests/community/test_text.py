"""The tip text renderer: the Markdown subset, the XSS corpus, links and excerpts."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest

from community.text import (
    ALLOWED_TAGS,
    LINK_REL,
    MAX_TEXT_LENGTH,
    _markup,
    count_links,
    plain_excerpt,
    render_text,
    sanitise_html,
)
from tests.community.xss_corpus import XSS_PAYLOADS


class Structure(HTMLParser):
    """Every element, attribute and comment of an HTML fragment, as the stdlib parser sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_decl(self, decl: str) -> None:
        self.other.append(decl)

    def handle_pi(self, data: str) -> None:
        self.other.append(data)

    def unknown_decl(self, data: str) -> None:
        self.other.append(data)


def structure(markup: str) -> Structure:
    parsed = Structure()
    parsed.feed(markup)
    parsed.close()
    return parsed


def assert_harmless(markup: str, *, rel: bool) -> None:
    """Only allowed elements; links carry an http(s) href (and the rel when sanitised)."""
    parsed = structure(markup)
    assert not parsed.comments
    assert not parsed.other
    for tag, attrs in parsed.elements:
        assert tag in ALLOWED_TAGS, tag
        if tag != "a":
            assert attrs == {}, (tag, attrs)
            continue
        assert set(attrs) <= {"href", "rel"}, attrs
        href = attrs.get("href") or ""
        assert href.startswith(("http://", "https://")), href
        assert not any(ord(char) < 0x20 or char in "\"'<> " for char in href), href
        if rel:
            assert attrs["rel"] == LINK_REL


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_xss_payload_is_rendered_harmless(payload: str) -> None:
    assert_harmless(render_text(payload), rel=True)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_renderer_alone_is_already_harmless(payload: str) -> None:
    """The escaping renderer holds without nh3, so nh3 is a second layer, not the only one."""
    assert_harmless(_markup(payload), rel=False)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_sanitised_output_is_stable(payload: str) -> None:
    """Sanitising the output again changes nothing: no markup is left for a parser to mutate."""
    once = render_text(payload)

    assert sanitise_html(once) == once


def test_corpus_is_large_enough() -> None:
    assert len(XSS_PAYLOADS) >= 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("[clic](javascript:alert(1))", "<p>[clic](javascript:alert(1))</p>"),
        ("![vue](https://img.example/a.png)", "<p>![vue](https://img.example/a.png)</p>"),
        ("# Titre\n> citation\n`code`", "<p># Titre<br>\n&gt; citation<br>\n`code`</p>"),
    ],
)
def test_anything_outside_the_subset_is_shown_as_typed(text: str, expected: str) -> None:
    assert render_text(text) == expected


def test_paragraphs_breaks_bold_and_italic_in_french() -> None:
    text = (
        "L'été à Biarritz, c'est **génial** : *la Côte des Basques* au coucher du soleil.\n"
        "Réservez à l'avance !\n\n"
        "Deuxième paragraphe « entre guillemets »."
    )

    assert render_text(text) == (
        "<p>L'été à Biarritz, c'est <strong>génial</strong> : "
        "<em>la Côte des Basques</em> au coucher du soleil.<br>\n"
        "Réservez à l'avance !</p>\n"
        "<p>Deuxième paragraphe « entre guillemets ».</p>"
    )


def test_bullet_and_numbered_lists() -> None:
    text = (
        "À emporter :\n- une gourde\n* un chapeau\n  (de paille)\n\n"
        "1. Garez-vous\n2) Marchez **20 min**"
    )

    assert render_text(text) == (
        "<p>À emporter :</p>\n"
        "<ul><li>une gourde</li><li>un chapeau<br>\n(de paille)</li></ul>\n"
        "<ol><li>Garez-vous</li><li>Marchez <strong>20 min</strong></li></ol>"
    )


def test_a_year_followed_by_a_full_stop_is_not_a_list() -> None:
    assert render_text("2024. Une belle année") == "<p>2024. Une belle année</p>"


def test_links_and_bare_urls_get_rel_and_keep_query_strings() -> None:
    text = "Voir [le site](https://ot.example/visite?a=1&b=2) ou https://ot.example/plan."

    assert render_text(text) == (
        '<p>Voir <a href="https://ot.example/visite?a=1&amp;b=2" rel="nofollow ugc noopener '
        'noreferrer">le site</a> ou <a href="https://ot.example/plan" rel="nofollow ugc '
        'noopener noreferrer">https://ot.example/plan</a>.</p>'
    )


def test_bare_url_leaves_the_closing_bracket_of_the_sentence_outside() -> None:
    html = render_text("(voir https://fr.wikipedia.example/wiki/Dune_(Pilat)) merci")

    assert 'href="https://fr.wikipedia.example/wiki/Dune_(Pilat)"' in html
    assert html.endswith(") merci</p>")


def test_emphasis_nests_and_unmatched_marks_stay() -> None:
    assert render_text("***x***") == "<p><strong><em>x</em></strong></p>"
    assert render_text("*x **y** z*") == "<p><em>x <strong>y</strong> z</em></p>"
    assert render_text("2 * 3 * 4 et snake_case_name") == "<p>2 * 3 * 4 et snake_case_name</p>"
    assert render_text(r"\*pas en italique\*") == "<p>*pas en italique*</p>"


def test_links_do_not_nest() -> None:
    html = render_text("[voir https://b.example](https://a.example)")

    assert html.count("<a ") == 1
    assert ">voir https://b.example</a>" in html


def test_control_and_bidi_characters_are_dropped() -> None:
    assert render_text("a\x00b\x1b\u202ec\r\nd") == "<p>abc<br>\nd</p>"


def test_empty_text_renders_nothing() -> None:
    assert render_text("") == ""
    assert render_text(" \n\n \t") == ""


def test_long_hostile_input_renders_quickly() -> None:
    texts = [
        "*a " * (MAX_TEXT_LENGTH * 4 // 3),
        "**a _b " * (MAX_TEXT_LENGTH * 4 // 7),
        "[a](" * MAX_TEXT_LENGTH,
        "https://a.example/" + "(" * MAX_TEXT_LENGTH * 4,
    ]
    started = time.perf_counter()
    for text in texts:
        assert_harmless(render_text(text), rel=True)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("Aucun lien, juste exemple.fr", 0),
        ("[a](https://a.example) et https://b.example", 2),
        ("[a](https://a.example) https://b.example http://c.example", 3),
        ("[a](javascript:alert(1)) <a href='https://x.example'>x</a>", 1),  # the bare URL
        ("![img](https://img.example/a.png)", 0),
    ],
)
def test_count_links(text: str, links: int) -> None:
    assert count_links(text) == links


def test_plain_excerpt_drops_markup_and_cuts_at_a_word() -> None:
    text = "**Le marché** de [Sarlat](https://sarlat.example) :\n- foie gras\n- noix du Périgord"

    assert plain_excerpt(text, 200) == "Le marché de Sarlat : foie gras noix du Périgord"
    assert plain_excerpt(text, 24) == "Le marché de Sarlat…"
    assert len(plain_excerpt(text, 24)) <= 24


def test_plain_excerpt_keeps_escaped_html_as_text() -> None:
    assert plain_excerpt("<b>gras</b> & l'été", 50) == "<b>gras</b> & l'été"
