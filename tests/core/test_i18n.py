"""French first, English for visitors; the English catalogue is complete."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "core/translations/en/LC_MESSAGES/messages.po"


def test_french_is_the_default(client, seeded):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Aller au contenu" in html


def test_the_browser_language_is_followed(client, seeded):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Skip to content" in html


def test_the_switch_remembers_english_and_goes_back(client, seeded):
    response = client.get("/langue/en?next=/saisons")
    assert response.status_code == 302
    assert response.headers["Location"] == "/saisons"
    html = client.get("/saisons").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "The 12 seasons" in html
    assert 'hreflang="fr"' in html
    client.get("/langue/fr?next=/")
    assert "Les 12 saisons" in client.get("/saisons").get_data(as_text=True)


def test_the_switch_never_redirects_off_site(client):
    assert client.get("/langue/en?next=//evil.example").headers["Location"] == "/"
    assert client.get("/langue/en?next=https://evil.example").headers["Location"] == "/"


def test_api_errors_are_translated(client):
    body = client.get("/api/v1/episodes/999999", headers={"Accept-Language": "en"}).get_json()
    assert body == {"error": "not_found", "message": "Episode not found."}


def load_catalogue():
    with CATALOGUE.open("rb") as handle:
        return read_po(handle)


def test_every_source_string_has_an_english_translation():
    catalogue = load_catalogue()
    untranslated = [
        m.id
        for m in catalogue
        if m.id and (not all(m.string) if isinstance(m.string, tuple) else not m.string)
    ]
    assert untranslated == []
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert fuzzy == []


def test_the_catalogue_knows_every_string_of_the_source():
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in load_catalogue() if m.id}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for package in ("core", "series", "passport", "community"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, method_map, keywords=keywords
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    missing = sorted(found - known)
    assert missing == [], "run scripts/i18n and translate: " + repr(missing[:5])


def test_the_compiled_catalogue_is_fresh():
    mo = CATALOGUE.with_suffix(".mo")
    assert mo.exists(), "scripts/setup compiles the catalogue"
    assert mo.stat().st_mtime >= CATALOGUE.stat().st_mtime, "run scripts/i18n"


def test_the_catalogue_compiles_without_placeholder_errors():
    problems = [
        (message.id, [str(error) for error in errors])
        for message, errors in load_catalogue().check()
    ]
    assert problems == []


FRENCH = ROOT / "core/translations/fr/LC_MESSAGES/messages.po"


def test_french_plurals_follow_the_french_rule(app):
    from core.i18n import ngettext

    def say(n: int, lang: str) -> str:
        with app.test_request_context("/", headers={"Accept-Language": lang}):
            return str(ngettext("%(num)s bon plan", "%(num)s bons plans", n))

    # French puts 0 and 1 in the singular; English only 1.
    assert [say(n, "fr") for n in (0, 1, 2)] == ["0 bon plan", "1 bon plan", "2 bons plans"]
    assert [say(n, "en") for n in (0, 1, 2)] == ["0 tips", "1 tip", "2 tips"]


def test_the_french_catalogue_has_every_plural_of_the_source():
    with FRENCH.open("rb") as handle:
        french = {m.id for m in read_po(handle) if m.id}
    plurals = {m.id for m in load_catalogue() if isinstance(m.id, tuple)}
    assert plurals
    assert plurals <= french, "run scripts/i18n"


def test_the_switch_refuses_a_backslash_host(client):
    # Browsers read "/\evil.example" as "//evil.example".
    assert client.get("/langue/en?next=/\\evil.example").headers["Location"] == "/"
