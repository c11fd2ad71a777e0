"""Sharing the passport: an image of its progress, made on the server (passport/share_image.py),
a page that shows it with its words, a download and the phone's share sheet.

The image carries no personal data (no name, no e-mail, no place): the places stamped out of
all, the points, the badges won and the twelve départements. Places of remembrance are never
drawn nor named. The PNG is served with an ETag of what it shows, so a phone asking again gets
a 304, and the same image is drawn once for every passport at the same point (core.cache).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import asdict

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from core import cache
from core.clock import now
from core.db import db
from core.i18n import gettext as _
from core.i18n import ngettext
from core.templating import SITE_NAME
from passport import badges, guests, services
from passport.models import Stamp
from passport.share_image import Cell, CellState, ShareCard, render_share_image
from series.models import DEPARTEMENTS

logger = logging.getLogger(__name__)

bp = Blueprint("passport_share", __name__, template_folder="templates")

#: Bumped whenever the drawing changes, so that no cached image or ETag outlives it.
DRAWING_VERSION = "1"
#: How long a drawn image stays in the shared cache (s).
CACHE_TTL = 3600
DOWNLOAD_NAME = "passeport-experts-na.png"


def _cells(progress: badges.Progress) -> tuple[Cell, ...]:
    """The twelve départements by code (one without places yet shows as not started)."""
    groups = {group.key: group for group in progress.departements}
    cells = []
    for code in sorted(DEPARTEMENTS):
        group = groups.get(code)
        done, total = (group.done, group.total) if group else (0, 0)
        if group is not None and group.badge:
            state, label = CellState.WON, _("badge obtenu")
        elif done:
            state, label = CellState.PARTIAL, _("%(done)s sur %(total)s", done=done, total=total)
        else:
            state = CellState.NONE
            label = _("%(done)s sur %(total)s", done=0, total=total) if total else _("aucun lieu")
        cells.append(Cell(code, DEPARTEMENTS[code], state, label, done, total))
    return tuple(cells)


def _season_list(progress: badges.Progress) -> str:
    """The seasons whose badge is won: "Saisons 1 (title), 2 (title)"; empty when none."""
    won = [s for s in progress.seasons if s.badge]
    if not won:
        return ""
    names = ", ".join(f"{s.key} ({s.name})" for s in won)
    return ngettext("Saison %(list)s", "Saisons %(list)s", len(won), list=names)


def _badge_lines(progress: badges.Progress) -> tuple[str, ...]:
    """The badges won but the region's, as drawn: how many départements (the grid names
    them), the seasons by name."""
    lines = []
    if progress.departement_badges:
        lines.append(
            ngettext(
                "%(num)s badge de département",
                "%(num)s badges de département",
                progress.departement_badges,
            )
        )
    seasons = _season_list(progress)
    if seasons:
        lines.append(seasons)
    return tuple(lines)


def share_card(progress: badges.Progress) -> ShareCard:
    """What the share image of a passport's progress shows, in the request's language."""
    cells = _cells(progress)
    won = _badge_lines(progress)
    return ShareCard(
        locale=str(get_locale() or "fr"),
        series=SITE_NAME,
        title=_("Passeport des lieux de tournage"),
        score=f"{progress.stamped} / {progress.total}",
        stamped=ngettext(
            "%(num)s lieu tamponné sur %(total)s",
            "%(num)s lieux tamponnés sur %(total)s",
            progress.stamped,
            total=progress.total,
        ),
        points=ngettext("%(num)s point", "%(num)s points", progress.points),
        badges_title=_("Badges obtenus"),
        region=_("Badge Nouvelle-Aquitaine !") if progress.region_badge else "",
        badges=won or (_("Pas encore de badge : le premier tampon vous attend."),),
        badges_won=bool(won),
        cells=cells,
        legend=(_("badge obtenu"), _("en cours"), _("pas encore")),
    )


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!")) else text + "."


def alt_text(card: ShareCard) -> str:
    """The image in words, for its alt attribute."""
    won = [f"{c.name} ({c.code})" for c in card.cells if c.state == CellState.WON]
    started = [f"{c.name} ({c.code}) {c.label}" for c in card.cells if c.state == CellState.PARTIAL]
    counts = {state: sum(1 for c in card.cells if c.state == state) for state in CellState}
    parts = [f"{card.series} — {card.title}.", f"{card.stamped}, {card.points}."]
    if card.badges_won:
        parts.append(_("Badges obtenus :"))
    if card.region:
        parts.append(card.region)
    parts.extend(_sentence(line) for line in card.badges)
    if won:
        parts.append(_("Départements avec badge : %(list)s.", list=", ".join(won)))
    if started:
        parts.append(_("En cours : %(list)s.", list=", ".join(started)))
    parts.append(
        _(
            "Les %(n)s départements : %(won)s avec badge, %(partial)s en cours, "
            "%(none)s pas encore.",
            n=len(card.cells),
            won=counts[CellState.WON],
            partial=counts[CellState.PARTIAL],
            none=counts[CellState.NONE],
        )
    )
    return " ".join(parts)


def card_etag(card: ShareCard) -> str:
    """A digest of everything drawn (counts, badges, language) and of the drawing's version."""
    text = json.dumps([DRAWING_VERSION, asdict(card)], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def share_png(card: ShareCard, tag: str) -> bytes:
    """The card's PNG, drawn once per content and kept a while (it holds nothing personal)."""
    key = f"passport-share:{tag}"
    cached = cache.get(key)
    if isinstance(cached, str):
        return base64.b64decode(cached)
    png = render_share_image(card)
    cache.put(key, base64.b64encode(png).decode("ascii"), ttl=CACHE_TTL)
    logger.info("passport share image %s drawn (%d bytes)", tag, len(png))
    return png


def visitor_card() -> ShareCard:
    """The card of the current visitor's passport (an empty one when they have none)."""
    places = list(services.locations(db.session))
    stamps: dict[int, Stamp] = {}
    passport = guests.visitor_passport(db.session)
    if passport is not None:
        stamps = services.stamps_of(db.session, passport)
    return share_card(badges.progress(db.session, places, stamps, now()))


def _cache_headers(response: Response, tag: str) -> Response:
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, max-age=60"
    # The language comes from the cookie or the browser; the passport from the cookie.
    response.vary.update(("Cookie", "Accept-Language"))
    return response


@bp.route("/passeport/partage")
def page() -> ResponseReturnValue:
    card = visitor_card()
    return render_template(
        "passport/share.html", card=card, alt=alt_text(card), download_name=DOWNLOAD_NAME
    )


@bp.route("/passeport/partage.png")
def image() -> ResponseReturnValue:
    """The PNG of the visitor's passport; `?telecharger=1` asks the browser to save it."""
    card = visitor_card()
    tag = card_etag(card)
    if request.if_none_match.contains_weak(tag):
        return _cache_headers(Response(status=304), tag)
    response = Response(share_png(card, tag), mimetype="image/png")
    if request.args.get("telecharger"):
        response.headers["Content-Disposition"] = f'attachment; filename="{DOWNLOAD_NAME}"'
    return _cache_headers(response, tag)
