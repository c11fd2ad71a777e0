"""The text of a tip: a small Markdown subset rendered to safe HTML.

The subset is paragraphs, line breaks, **bold**, *italic*, bullet and numbered lists, links
`[text](https://…)` and bare http(s) URLs. Anything else (headings, quotes, code, images, raw
HTML) is shown as the plain text the resident typed.

Safety does not rest on the renderer alone: the raw text is escaped piece by piece as it is
rendered, so only markup the renderer writes itself can appear, and the result then goes
through nh3 (html5ever + ammonia) with an explicit allow-list of tags, attributes and URL
schemes. A mistake in either layer is caught by the other.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

import nh3

#: Longest tip text accepted, in characters (validation belongs to the form or schema).
MAX_TEXT_LENGTH = 5000

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "a"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https"})
LINK_REL = "nofollow ugc noopener noreferrer"

#: Emphasis nested deeper than this is shown as typed (keeps the recursion bounded).
_MAX_NESTING = 4

# Bidirectional overrides and isolates can disguise a link's text; they are dropped with the
# control characters (tab and newline are kept).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_BULLET_ITEM = re.compile(r"^ {0,3}[-*+][ \t]+(\S.*)$")
# Three digits at most, so that « 2024. Une belle année » stays a paragraph.
_NUMBERED_ITEM = re.compile(r"^ {0,3}\d{1,3}[.)][ \t]+(\S.*)$")
_CONTINUATION = re.compile(r"^(?: {2,}|\t)(\S.*)$")

# A URL: no spaces, quotes or angle brackets; one level of balanced parentheses allowed.
_URL = r"https?://[^\s()<>\"'`\[\]]+(?:\([^\s()<>\"'`\[\]]*\)[^\s()<>\"'`\[\]]*)*"
# Emphasis spans at most 300 characters: an unclosed mark then costs a bounded scan, which
# keeps rendering linear in the length of the text.
_SPAN = r".{0,298}?"
_INLINE = re.compile(
    r"(?P<escape>\\[\\*_\[\]()!])"
    r"|(?P<image>!\[[^\[\]\n]*\]\([^()\n]*\))"
    rf"|\[(?P<link_text>[^\[\]\n]{{1,300}})\]\((?P<link_url>{_URL})\)"
    rf"|(?P<autolink>(?<![\w/.@])(?:{_URL}))"
    rf"|\*\*(?P<strong>(?:\*(?=[^\s*])|[^\s*])(?:{_SPAN}[^\s\\])??)\*\*(?!\*)"
    rf"|(?<!\w)__(?P<strong_u>(?:_(?=[^\s_])|[^\s_])(?:{_SPAN}[^\s\\])??)__(?!\w)"
    rf"|\*(?P<em>[^\s*](?:{_SPAN}[^\s*\\])??)\*(?!\*)"
    rf"|(?<!\w)_(?P<em_u>[^\s_](?:{_SPAN}[^\s_\\])??)_(?!\w)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?'\"»›…"


def render_text(text: str) -> str:
    """Render a tip's text (the Markdown subset) to HTML that is safe to insert in a page."""
    return sanitise_html(_markup(text))


def sanitise_html(markup: str) -> str:
    """Keep only the allowed tags, attributes and http(s) links of an HTML fragment."""
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def count_links(text: str) -> int:
    """Number of links the rendered text holds (Markdown links and bare URLs)."""
    collector = _TextCollector()
    collector.feed(render_text(text))
    collector.close()
    return collector.links


def plain_excerpt(text: str, length: int = 160) -> str:
    """The text without markup, whitespace collapsed, cut at a word to fit `length` with '…'."""
    collector = _TextCollector()
    collector.feed(render_text(text))
    collector.close()
    plain = " ".join("".join(collector.parts).split())
    if len(plain) <= length:
        return plain
    if length < 2:
        return "…" if length == 1 else ""
    cut = plain[: length - 1]
    if plain[length - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.!?-–—") + "…"


def _markup(text: str) -> str:
    """The renderer's own HTML, before nh3 (the tests check this layer on its own too)."""
    blocks = [_render_block(block) for block in _split_blocks(_normalise(text))]
    return "\n".join(block for block in blocks if block)


def _normalise(text: str) -> str:
    """Unix newlines, NFC, no control or bidirectional override characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(
        char
        for char in text
        if char in "\n\t"
        or (unicodedata.category(char) not in ("Cc", "Cs") and char not in _BIDI_CONTROLS)
    )


def _split_blocks(text: str) -> list[list[str]]:
    """Non-blank lines, grouped by the blank lines between them."""
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def _render_block(lines: list[str]) -> str:
    """Paragraphs and lists of one block (lines between blank lines)."""
    parts: list[str] = []
    paragraph: list[str] = []
    list_tag = ""
    items: list[list[str]] = []

    def flush_paragraph() -> None:
        if paragraph:
            parts.append("<p>" + "<br>\n".join(_render_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()

    def flush_list() -> None:
        nonlocal list_tag
        if items:
            rendered = "".join(
                "<li>" + "<br>\n".join(_render_inline(line) for line in item) + "</li>"
                for item in items
            )
            parts.append(f"<{list_tag}>{rendered}</{list_tag}>")
            items.clear()
        list_tag = ""

    for line in lines:
        bullet, numbered = _BULLET_ITEM.match(line), _NUMBERED_ITEM.match(line)
        item = bullet or numbered
        if item:
            tag = "ul" if bullet else "ol"
            flush_paragraph()
            if tag != list_tag:
                flush_list()
                list_tag = tag
            items.append([item.group(1)])
            continue
        continuation = _CONTINUATION.match(line)
        if items and continuation:
            items[-1].append(continuation.group(1))
            continue
        flush_list()
        paragraph.append(line.strip())
    flush_paragraph()
    flush_list()
    return "\n".join(parts)


def _render_inline(text: str, *, links: bool = True, depth: int = 0) -> str:
    """Escape `text` and turn the inline subset into HTML; unmatched marks stay as typed."""
    if depth > _MAX_NESTING:
        return html.escape(text)
    out: list[str] = []
    position = 0
    while position < len(text):
        match = _INLINE.search(text, position)
        if match is None:
            break
        out.append(html.escape(text[position : match.start()]))
        kind = match.lastgroup or ""
        end = match.end()
        if kind == "escape":
            out.append(html.escape(match.group()[1]))
        elif kind == "image":
            out.append(html.escape(match.group()))
        elif kind == "link_url":
            if links:
                label = _render_inline(match["link_text"], links=False, depth=depth + 1)
                out.append(_anchor(match["link_url"], label))
            else:
                out.append(html.escape(match.group()))
        elif kind == "autolink":
            url = _trim_url(match.group())
            end = match.start() + len(url)
            out.append(_anchor(url, html.escape(url)) if links else html.escape(url))
        else:
            tag = "strong" if kind in ("strong", "strong_u") else "em"
            inner = _render_inline(match[kind], links=links, depth=depth + 1)
            out.append(f"<{tag}>{inner}</{tag}>")
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def _anchor(url: str, label: str) -> str:
    """A link to `url` (raw) around `label` (already HTML)."""
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>'


def _trim_url(url: str) -> str:
    """Leave the sentence's final punctuation and an unbalanced closing bracket outside."""
    while url:
        unbalanced = url[-1] == ")" and url.count(")") > url.count("(")
        if url[-1] not in _TRAILING_PUNCTUATION and not unbalanced:
            return url
        url = url[:-1]
    return url


class _TextCollector(HTMLParser):
    """Text and link count of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links += 1
        elif tag in ("br", "li", "p"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
