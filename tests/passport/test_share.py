"""The passport's share image: a 1200×630 PNG of the visitor's progress, its page and download."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html import unescape
from typing import Any

from flask import Flask, render_template_string
from PIL import Image, ImageChops, ImageDraw

from passport import services
from passport.models import FilmingLocation
from passport.share_image import (
    GREEN,
    HEIGHT,
    INK,
    MIST,
    MUTED,
    NAVY,
    OUTLINE,
    PAPER,
    SHADED,
    WHITE,
    WIDTH,
    cell_box,
    font,
    indexed,
)
from tests.conftest import csrf_token
from tests.support.clock import Clock

BIARRITZ = (43.4842, -1.5703)  # alone in the Pyrénées-Atlantiques: its stamp wins the badge
BORDEAUX = (44.8413, -0.5695)  # one of the two places of the Gironde (with the Dune du Pilat)
ORADOUR = (45.9292, 1.0400)  # a place of remembrance, in the Haute-Vienne
#: The grid lists the départements by code: the Gironde (33) is the 6th.
GIRONDE, PYRENEES_ATLANTIQUES = 5, 8
_ALT = re.compile(r'<img src="/passeport/partage\.png"[^>]* alt="([^"]*)"')


def png(response: Any) -> Image.Image:
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    return image.convert("RGB")


def alt_of(html: str) -> str:
    match = _ALT.search(html)
    assert match, "share page without its image"
    return unescape(match.group(1))


def fill_of(image: Image.Image, index: int) -> tuple[int, ...]:
    """The colour of a département's box, under its words."""
    left, _top, right, bottom = cell_box(index)
    colour = image.getpixel(((left + right) // 2, bottom - 5))
    assert isinstance(colour, tuple)
    return colour


def subtitle_matches(image: Image.Image, text: str) -> bool:
    """Whether the band under the series name shows exactly `text` (drawn as the image does)."""
    expected = Image.new("RGB", (WIDTH, HEIGHT), NAVY)
    ImageDraw.Draw(expected).text((48, 86), text, font=font(30), fill=MIST)
    expected = indexed(expected).convert("RGB")
    box = (0, 84, WIDTH, 136)
    return ImageChops.difference(image.crop(box), expected.crop(box)).getbbox() is None


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def luminance(rgb: tuple[int, int, int]) -> float:
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_an_empty_passport_is_a_social_card_cached_privately(client: Any, places: dict[str, int]):
    response = client.get("/passeport/partage.png")
    image = png(response)
    assert image.size == (1200, 630)
    assert response.headers["Cache-Control"] == "private, max-age=60"
    assert response.headers["ETag"]
    assert "Content-Disposition" not in response.headers
    assert subtitle_matches(image, "Passeport des lieux de tournage")
    assert fill_of(image, PYRENEES_ATLANTIQUES) == WHITE  # not started


def test_the_same_passport_gives_the_same_bytes_then_a_304(client: Any, places: dict[str, int]):
    first = client.get("/passeport/partage.png")
    again = client.get("/passeport/partage.png")
    assert again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]
    tag = first.headers["ETag"]
    unchanged = client.get("/passeport/partage.png", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.data == b""
    assert unchanged.headers["ETag"] == tag
    assert unchanged.headers["Cache-Control"] == "private, max-age=60"


def test_stamps_change_the_image_and_win_a_departement_badge(
    client: Any, auth: Any, tourist: Callable[..., Any], places: dict[str, int], clock: Clock
):
    empty = client.get("/passeport/partage.png")
    biarritz = tourist(places["rocher-de-la-vierge"], lat=BIARRITZ[0], lon=BIARRITZ[1], accuracy=12)
    assert biarritz.status_code == 201
    clock.advance(hours=3)  # the drive to Bordeaux
    stamped = tourist(places["place-de-la-bourse"], lat=BORDEAUX[0], lon=BORDEAUX[1], accuracy=12)
    assert stamped.status_code == 201
    auth.login("touriste@example.org")
    mine = client.get("/passeport/partage.png", headers={"If-None-Match": empty.headers["ETag"]})
    image = png(mine)
    assert mine.data != empty.data
    assert mine.headers["ETag"] != empty.headers["ETag"]
    assert fill_of(image, PYRENEES_ATLANTIQUES) == GREEN  # the badge: a filled box with a ✓
    assert fill_of(image, GIRONDE) == WHITE  # one of two: an outlined box with a bar

    html = client.get("/passeport/partage").get_data(as_text=True)
    alt = alt_of(html)
    assert "2 lieux tamponnés sur 14, 20 points." in alt
    assert "1 badge de département" in alt
    assert "Départements avec badge : Pyrénées-Atlantiques (64)." in alt
    assert "En cours : Gironde (33) 1 sur 2." in alt
    assert "Les 12 départements : 1 avec badge, 1 en cours, 10 pas encore." in alt
    assert "touriste" not in html.split("</header>", 1)[1]  # no personal data with the image


def test_a_guests_passport_from_the_cookie_is_drawn(
    app: Flask, db: Any, client: Any, places: dict[str, int], clock: Clock
):
    empty = client.get("/passeport/partage.png").data
    cognac = places["cognac"]
    with app.app_context():
        code = services.place_code(db.session.get(FilmingLocation, cognac), clock.now)
    client.post(
        "/passeport/code",
        data={"csrf_token": csrf_token(client, "/passeport"), "location": cognac, "code": code},
    )
    assert client.get_cookie("passeport") is not None
    guest = client.get("/passeport/partage.png")
    assert guest.data != empty
    assert fill_of(png(guest), 0) == GREEN  # the Charente (16), its only place stamped


def test_english_visitors_get_english_words_drawn(client: Any, places: dict[str, int]):
    french = client.get("/passeport/partage.png")
    client.set_cookie("lang", "en")
    english = client.get("/passeport/partage.png")
    image = png(english)
    assert image.size == (1200, 630)
    assert english.data != french.data
    assert english.headers["ETag"] != french.headers["ETag"]
    assert subtitle_matches(image, "Passport of filming locations")
    assert not subtitle_matches(image, "Passeport des lieux de tournage")
    # A French ETag does not stand for the English image.
    again = client.get("/passeport/partage.png", headers={"If-None-Match": french.headers["ETag"]})
    assert again.status_code == 200
    alt = alt_of(client.get("/passeport/partage").get_data(as_text=True))
    assert "0 places stamped out of 14" in alt
    assert "No badge yet" in alt


def test_a_place_of_remembrance_is_never_named_nor_celebrated(
    client: Any, auth: Any, tourist: Callable[..., Any], places: dict[str, int]
):
    visit = tourist(places["oradour-sur-glane"], lat=ORADOUR[0], lon=ORADOUR[1], accuracy=10)
    assert visit.status_code == 201
    auth.login("touriste@example.org")
    html = unescape(client.get("/passeport/partage").get_data(as_text=True))
    assert "Oradour" not in html
    alt = alt_of(html)
    assert "1 lieu tamponné sur 14, 0 point" in alt  # counted for the badge, no points
    assert "Haute-Vienne (87) 1 sur 2" in alt
    assert "Pas encore de badge" in alt
    assert png(client.get("/passeport/partage.png")).size == (1200, 630)


def test_the_share_page_offers_a_download_and_the_share_sheet(client: Any, places: dict[str, int]):
    response = client.get("/passeport/partage")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Partager mon passeport</h1>" in html
    assert 'width="1200" height="630"' in html
    assert alt_of(html).startswith(
        "Les Experts de Nouvelle-Aquitaine — Passeport des lieux de tournage. 0 lieu tamponné"
    )
    assert 'href="/passeport/partage.png?telecharger=1"' in html
    assert "Télécharger l'image" in unescape(html)
    assert re.search(r"<button [^>]*data-share [^>]*hidden", html)  # shown by the script
    assert "js/passport-share.js" in html
    # No inline script: every <script> has a src, or is data.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag


def test_the_download_is_an_attachment(client: Any, places: dict[str, int]):
    response = client.get("/passeport/partage.png?telecharger=1")
    assert png(response).size == (1200, 630)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="passeport-experts-na.png"'
    )


def test_the_shipped_font_draws_french_accents():
    face = font(40)
    missing = bytes(face.getmask("\u0378"))  # an unassigned code point: the "no glyph" box
    for letter in "éèàçôÉ«»’✓◐○":
        assert bytes(face.getmask(letter)) != missing, letter


def test_the_colours_meet_wcag_aa():
    for text, background in [
        (INK, PAPER),
        (NAVY, PAPER),
        (GREEN, PAPER),
        (MUTED, PAPER),
        (MUTED, WHITE),
        (INK, WHITE),
        (WHITE, GREEN),
        (WHITE, NAVY),
        (MIST, NAVY),
    ]:
        assert contrast(text, background) >= 4.5, (text, background)
    for shape, background in [(OUTLINE, WHITE), (GREEN, WHITE)]:
        assert contrast(shape, background) >= 3, (shape, background)


def test_the_indexed_png_keeps_every_drawn_colour_exactly():
    for colour in {c for pair in SHADED for c in pair}:
        flat = indexed(Image.new("RGB", (4, 4), colour)).convert("RGB")
        assert flat.getpixel((1, 1)) == colour


def test_the_passport_pages_partial_leads_to_the_share_page(app: Flask):
    with app.test_request_context("/passeport"):
        html = render_template_string('{% include "passport/_share.html" %}')
    assert 'href="/passeport/partage"' in html
    assert "Partager mon passeport" in html
