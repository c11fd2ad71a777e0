"""The passport's share image: a 1200×630 PNG drawn with Pillow from a ShareCard.

Everything drawn is in the card (texts already translated), so the same card always gives the
same bytes. The fonts are shipped (DejaVu Sans, static/fonts/): Pillow's built-in font has no
accented letters. Colours meet WCAG AA (4.5:1 for text, 3:1 for shapes), and the state of a
département is told by a sign and words as well as by its fill.
"""

from __future__ import annotations

import enum
import io
import threading
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from core.config import PROJECT_ROOT

WIDTH, HEIGHT = 1200, 630
FONTS = PROJECT_ROOT / "static" / "fonts"
_drawing = threading.Lock()

NAVY = (11, 58, 92)
PAPER = (250, 249, 246)
WHITE = (255, 255, 255)
INK = (26, 26, 26)
MUTED = (85, 85, 85)
GREEN = (29, 107, 53)
#: Subtitle on the navy band.
MIST = (207, 224, 238)
#: Outline of a département not started (a shape: 3:1 is enough, it is 4.5:1).
OUTLINE = (118, 118, 118)
#: The unfilled part of a progress bar (decorative: the words say the same).
TRACK = (214, 214, 214)
#: The stripe under the band (decorative).
GOLD = (224, 165, 38)


#: Every colour over the colour it is drawn on: the palette holds both and the shades between
#: (the smoothed edges of letters), so the PNG is indexed (a third of the size) and no colour
#: drawn is changed.
SHADED = (
    (WHITE, NAVY),
    (MIST, NAVY),
    (NAVY, PAPER),
    (INK, PAPER),
    (GREEN, PAPER),
    (MUTED, PAPER),
    (OUTLINE, PAPER),
    (INK, WHITE),
    (MUTED, WHITE),
    (GREEN, WHITE),
    (OUTLINE, WHITE),
    (WHITE, GREEN),
    (GOLD, NAVY),
    (TRACK, WHITE),
)
SHADES = 16


class CellState(enum.StrEnum):
    WON = "won"
    PARTIAL = "partial"
    NONE = "none"


#: The sign drawn beside each state (with words: never the colour alone).
SIGNS = {CellState.WON: "✓", CellState.PARTIAL: "◐", CellState.NONE: "○"}


@dataclass(frozen=True)
class Cell:
    """A département in the grid: its code, name, state and the words for the state."""

    code: str
    name: str
    state: CellState
    label: str
    done: int
    total: int


@dataclass(frozen=True)
class ShareCard:
    """What the image shows, already translated."""

    locale: str
    series: str
    title: str
    score: str
    stamped: str
    points: str
    badges_title: str
    #: The region's badge when won, else "".
    region: str
    #: Paragraphs of the other badges won; a "no badge yet" line when there are none.
    badges: tuple[str, ...]
    badges_won: bool
    cells: tuple[Cell, ...]
    #: One word per state, in CellState order.
    legend: tuple[str, ...]


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at a size; basic layout (no Raqm) so the drawing is the same everywhere."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size, layout_engine=ImageFont.Layout.BASIC)


def _fitted(
    text: str, size: int, width: float, bold: bool = False, smallest: int = 14
) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which `text` fits `width`."""
    while size > smallest and font(size, bold).getlength(text) > width:
        size -= 1
    return font(size, bold)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Lines of at most `width`, cut with an ellipsis past `max_lines` (no-break spaces hold)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        if current and face.getlength(trial) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    lines.append(current)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and face.getlength(last + " …") > width:
        last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
    kept[-1] = last + " …"
    return kept


def _header(draw: ImageDraw.ImageDraw, card: ShareCard) -> None:
    draw.rectangle((0, 0, WIDTH, 140), fill=NAVY)
    draw.rectangle((0, 140, WIDTH, 148), fill=GOLD)
    draw.text((48, 26), card.series, font=_fitted(card.series, 46, WIDTH - 96, True), fill=WHITE)
    draw.text((48, 86), card.title, font=_fitted(card.title, 30, WIDTH - 96), fill=MIST)


def _summary(draw: ImageDraw.ImageDraw, card: ShareCard, right: int) -> None:
    """The left column: places stamped, points and the badges won."""
    width = right - 48
    draw.text((48, 172), card.score, font=_fitted(card.score, 84, width, True), fill=NAVY)
    draw.text((48, 274), card.stamped, font=_fitted(card.stamped, 26, width), fill=INK)
    draw.text((48, 312), card.points, font=font(30, True), fill=GREEN)
    draw.text((48, 370), card.badges_title, font=font(26, True), fill=INK)
    face = font(21)
    y, bottom = 408, HEIGHT - 36
    if card.region:
        region = f"★ {card.region}"
        draw.text((48, y), region, font=_fitted(region, 22, width, True), fill=GREEN)
        y += 34
    for paragraph in card.badges:
        room = (bottom - y) // 28
        if room < 1:
            break
        for line in _wrap(paragraph, face, width, room):
            draw.text((48, y), line, font=face, fill=INK)
            y += 28
        y += 6


def _cell(draw: ImageDraw.ImageDraw, cell: Cell, box: tuple[int, int, int, int]) -> None:
    left, top, right, _ = box
    won = cell.state == CellState.WON
    ink = WHITE if won else INK
    if won:
        draw.rounded_rectangle(box, radius=10, fill=GREEN)
    elif cell.state == CellState.PARTIAL:
        draw.rounded_rectangle(box, radius=10, fill=WHITE, outline=GREEN, width=4)
    else:
        draw.rounded_rectangle(box, radius=10, fill=WHITE, outline=OUTLINE, width=2)
    inner = right - left - 28
    draw.text((left + 14, top + 8), cell.code, font=font(26, True), fill=ink)
    sign = SIGNS[cell.state]
    sign_font = font(26, True)
    draw.text((right - 14 - sign_font.getlength(sign), top + 8), sign, font=sign_font, fill=ink)
    draw.text((left + 14, top + 40), cell.name, font=_fitted(cell.name, 18, inner), fill=ink)
    label_font = _fitted(cell.label, 17, inner, bold=won)
    draw.text((left + 14, top + 64), cell.label, font=label_font, fill=WHITE if won else MUTED)
    if cell.state == CellState.PARTIAL and cell.total:
        # A bar after the words "1 sur 2" (which say the same to those who cannot see it).
        start = left + 14 + round(label_font.getlength(cell.label)) + 12
        if right - 14 - start >= 30:
            done = start + round((right - 14 - start) * cell.done / cell.total)
            draw.rectangle((start, top + 70, right - 14, top + 78), fill=TRACK)
            draw.rectangle((start, top + 70, done, top + 78), fill=GREEN)


#: The grid of départements: left edge, top, columns, gap and cell height (px).
GRID_LEFT, GRID_TOP, GRID_COLUMNS, GRID_GAP, CELL_HEIGHT = 530, 172, 3, 12, 92
#: Where the summary column ends.
SUMMARY_RIGHT = 500


def cell_box(index: int) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) of the index-th département of the grid."""
    width = (WIDTH - 40 - GRID_LEFT - GRID_GAP * (GRID_COLUMNS - 1)) // GRID_COLUMNS
    x = GRID_LEFT + (index % GRID_COLUMNS) * (width + GRID_GAP)
    y = GRID_TOP + (index // GRID_COLUMNS) * (CELL_HEIGHT + GRID_GAP)
    return x, y, x + width, y + CELL_HEIGHT


def _grid(draw: ImageDraw.ImageDraw, card: ShareCard) -> None:
    """The départements, three a row, then the legend of the signs."""
    for index, cell in enumerate(card.cells):
        _cell(draw, cell, cell_box(index))
    legend = "   ".join(
        f"{SIGNS[s]} {word}" for s, word in zip(CellState, card.legend, strict=True)
    )
    y = cell_box(len(card.cells) - 1)[3] + GRID_GAP + 4
    draw.text((GRID_LEFT, y), legend, font=_fitted(legend, 19, WIDTH - 40 - GRID_LEFT), fill=MUTED)


def _blend(
    top: tuple[int, int, int], under: tuple[int, int, int], weight: float
) -> tuple[int, int, int]:
    red, green, blue = (round(u + (t - u) * weight) for t, u in zip(top, under, strict=True))
    return red, green, blue


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True))


@lru_cache(maxsize=1)
def _palette() -> Image.Image:
    """The drawn colours first, then the shades between them. Pillow maps a pixel by the
    corner of its 4×4×4 box of colours: a shade nearer that corner than a drawn colour would
    take its place, so such shades are left out."""
    drawn = list(dict.fromkeys(colour for pair in SHADED for colour in pair))
    corners = [(c, (c[0] & ~3, c[1] & ~3, c[2] & ~3)) for c in drawn]
    colours = list(drawn)
    for top, under in SHADED:
        for step in range(1, SHADES):
            shade = _blend(top, under, step / SHADES)
            if shade not in colours and all(
                _distance(shade, corner) > _distance(colour, corner) for colour, corner in corners
            ):
                colours.append(shade)
    assert len(colours) <= 256, len(colours)
    colours += [colours[-1]] * (256 - len(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette([value for colour in colours for value in colour])
    return palette


def indexed(image: Image.Image) -> Image.Image:
    """The drawing in the palette's colours (each pixel to the nearest, the drawn ones exact)."""
    return image.quantize(palette=_palette(), dither=Image.Dither.NONE)


def render_share_image(card: ShareCard) -> bytes:
    """The card as a 1200×630 PNG (the same card gives the same bytes)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    # The cached fonts are shared: a FreeType face draws for one thread at a time.
    with _drawing:
        draw = ImageDraw.Draw(image)
        _header(draw, card)
        _summary(draw, card, right=SUMMARY_RIGHT)
        _grid(draw, card)
    out = io.BytesIO()
    indexed(image).save(out, format="PNG", optimize=True)
    return out.getvalue()
