"""The partner area ("espace partenaires"): a partner's offers and its audience figures."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_currency, format_decimal, format_percent
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from core.accounts.auth import roles_required
from core.accounts.models import Role
from core.clock import now
from core.db import db, int_arg
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from series.episodes import attribution
from series.episodes.attribution import EpisodeFigures
from series.episodes.hotspot_models import Hotspot, Offer, Partner, PartnerMember
from series.services import can_see_unreleased

logger = logging.getLogger(__name__)

bp = Blueprint("partners", __name__, template_folder="templates")

PARTNER = Role.PARTNER
MAX_PRICE_CENTS = 100_000_000
_PRICE = re.compile(r"^\d{1,7}(?:[.,]\d{1,2})?$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")

_required = DataRequired(message=_l("Ce champ est obligatoire."))


# ---------------------------------------------------------------- rules


def url_problem(value: str) -> str | None:
    """Why a partner's URL is refused (a clear sentence), or None when it is a web address."""
    if attribution.safe_web_url(value) is not None:
        return None
    scheme = _SCHEME.match(value)
    if scheme is None or scheme.group(1).lower() not in attribution.SAFE_SCHEMES:
        if scheme is None or "." in scheme.group(1) or value.startswith("//"):
            return _(
                "Adresse incomplète : elle doit commencer par https:// "
                "(par exemple https://www.exemple.fr/)."
            )
        return _(
            "Seules les adresses web commençant par http:// ou https:// sont acceptées "
            "(pas « %(scheme)s: »).",
            scheme=scheme.group(1),
        )
    if len(value) > attribution.MAX_URL_LENGTH:
        return _("Adresse trop longue (%(n)s caractères au plus).", n=attribution.MAX_URL_LENGTH)
    return _("Adresse web invalide : vérifiez qu'elle ne contient ni espace ni caractère spécial.")


def parse_price(value: str) -> int | None:
    """A price typed in euros ("4,50", "4.50", "12") as cents; None when empty."""
    text = value.strip().removesuffix("€")
    text = re.sub(r"[\s\u202f\xa0]", "", text)
    if not text:
        return None
    if not _PRICE.match(text):
        raise ValueError(text)
    try:
        cents = int(Decimal(text.replace(",", ".")) * 100)
    except InvalidOperation as error:  # pragma: no cover - the pattern rules it out
        raise ValueError(text) from error
    if cents > MAX_PRICE_CENTS:
        raise ValueError(text)
    return cents


def partner_of(user: Any) -> Partner | None:
    """The partner a user acts for, if any."""
    return db.session.scalar(
        sa.select(Partner).join(PartnerMember).where(PartnerMember.user_id == user.id)
    )


def update_offer(offer: Offer, data: dict[str, Any]) -> Offer:
    """Replace an offer's editable fields (already validated)."""
    for key in ("title", "text", "merchant", "price_cents", "url", "address", "opening_hours"):
        setattr(offer, key, data[key])
    db.session.flush()
    return offer


# ---------------------------------------------------------------- forms


def _validate_url(form: FlaskForm, field: Field) -> None:
    value = (field.data or "").strip()
    field.data = value
    if value:
        problem = url_problem(value)
        if problem:
            raise ValidationError(problem)


def _validate_price(form: FlaskForm, field: Field) -> None:
    try:
        parse_price(field.data or "")
    except ValueError:
        raise ValidationError(
            _("Prix invalide : un montant en euros, par exemple 4,50 (ou vide).")
        ) from None


class OfferForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[_required, Length(max=200)])
    text = TextAreaField(_l("Texte de présentation"), validators=[Length(max=5000)])
    merchant = StringField(_l("Commerçant ou enseigne"), validators=[Length(max=120)])
    price = StringField(_l("Prix en euros"), validators=[_validate_price])
    url = StringField(
        _l("Adresse web (URL)"),
        validators=[Length(max=attribution.MAX_URL_LENGTH), _validate_url],
        render_kw={"inputmode": "url", "spellcheck": "false"},
    )
    address = StringField(_l("Adresse postale"), validators=[Length(max=300)])
    opening_hours = StringField(_l("Horaires d'ouverture"), validators=[Length(max=300)])


# ---------------------------------------------------------------- scope


@dataclass
class Scope:
    """Whose figures and offers the page shows, and what the caller may pick from."""

    partner: Partner | None
    #: Every partner, for admins' selector; empty for partner users.
    choices: Sequence[Partner]

    @property
    def is_admin(self) -> bool:
        return bool(self.choices)


def _scope() -> Scope:
    if current_user.has_role(Role.ADMIN):
        partners = db.session.scalars(sa.select(Partner).order_by(Partner.name)).all()
        wanted = request.args.get("partenaire", type=int_arg)
        chosen = next((p for p in partners if p.id == wanted), partners[0] if partners else None)
        return Scope(partner=chosen, choices=partners)
    partner = partner_of(current_user)
    if partner is None:
        raise ApiError(
            403,
            "no_partner",
            _("Votre compte n'est rattaché à aucun partenaire : contactez l'équipe de la série."),
        )
    return Scope(partner=partner, choices=[])


def _offer_or_404(offer_id: int) -> Offer:
    """The offer if the caller may edit it; 404 otherwise (another partner's offer included)."""
    offer = db.session.get(Offer, offer_id)
    if offer is None:
        raise NotFound()
    if current_user.has_role(Role.ADMIN):
        return offer
    partner = partner_of(current_user)
    if partner is None or offer.partner_id != partner.id:
        raise NotFound()
    return offer


def _parse_day(name: str) -> tuple[dt.date | None, str | None]:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None, None
    try:
        return dt.date.fromisoformat(raw), None
    except ValueError:
        return None, _("Date invalide (format AAAA-MM-JJ).")


def _period() -> tuple[dt.date | None, dt.date | None, dict[str, str]]:
    start, start_error = _parse_day("du")
    end, end_error = _parse_day("au")
    errors = {k: v for k, v in (("du", start_error), ("au", end_error)) if v}
    if start and end and start > end:
        errors["au"] = _("La date de fin précède la date de début.")
        end = None
    return start, end, errors


def _figures(partner: Partner, start: dt.date | None, end: dt.date | None) -> list[EpisodeFigures]:
    return attribution.stats_for_partner(
        db.session,
        partner.id,
        start=start,
        end=end,
        include_unreleased=can_see_unreleased(current_user),
        now=now(),
    )


# ---------------------------------------------------------------- chart


def ctr_text(value: float | None) -> str:
    """A click-through rate for people ("12,5 %"), an em dash without impressions."""
    return "—" if value is None else format_percent(value, "#,##0.0 %")


def price_text(cents: int | None) -> str:
    """A price for people ("4,50 €"), an em dash when there is none."""
    if cents is None:
        return "—"
    return format_currency(Decimal(cents) / 100, "EUR")


def episode_short(figures: EpisodeFigures) -> str:
    """'S1 É2' for chart labels."""
    return _("S%(s)s É%(e)s", s=figures.season_number, e=figures.episode_number)


def chart(figures: Sequence[EpisodeFigures]) -> dict[str, Any]:
    """Geometry of the horizontal bar chart: per episode, impressions and clicks."""
    # A narrow drawing, so its text stays readable once scaled to half a page.
    label_w, bar_w, row_h, bar_h, top = 64, 290, 50, 18, 34
    largest = max([e.impressions for e in figures] + [e.clicks for e in figures] + [1])
    rows = []
    for index, episode in enumerate(figures):
        y = top + index * row_h
        rows.append(
            {
                "label": episode_short(episode),
                "y": y,
                "impressions": episode.impressions,
                "clicks": episode.clicks,
                "impressions_w": round(bar_w * episode.impressions / largest, 1),
                "clicks_w": round(bar_w * episode.clicks / largest, 1),
                "impressions_text": format_decimal(episode.impressions),
                "clicks_text": format_decimal(episode.clicks),
                "bar_h": bar_h,
            }
        )
    return {
        "width": label_w + bar_w + 56,
        "height": top + max(len(rows), 1) * row_h + 8,
        "label_w": label_w,
        "bar_w": bar_w,
        "rows": rows,
    }


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "ctr_text": ctr_text,
        "episode_short": episode_short,
        "price_text": price_text,
        "number": format_decimal,
    }


# ---------------------------------------------------------------- pages


@bp.route("/partenaires")
@roles_required(PARTNER)
def index() -> ResponseReturnValue:
    """A partner's offers and audience figures (admins pick the partner)."""
    scope = _scope()
    start, end, errors = _period()
    figures = _figures(scope.partner, start, end) if scope.partner else []
    impressions, clicks, ctr = attribution.totals(figures)
    csv_args: dict[str, Any] = {"du": start, "au": end}
    if scope.is_admin and scope.partner:
        csv_args["partenaire"] = scope.partner.id
    return render_template(
        "partners/index.html",
        scope=scope,
        partner=scope.partner,
        offers=scope.partner.offers if scope.partner else [],
        figures=figures,
        chart=chart(figures),
        total_impressions=impressions,
        total_clicks=clicks,
        total_ctr=ctr,
        start=start,
        end=end,
        period_errors=errors,
        include_unreleased=can_see_unreleased(current_user),
        raw_start=request.args.get("du", ""),
        raw_end=request.args.get("au", ""),
        csv_url=url_for(
            "partners.statistics_csv", **{k: v for k, v in csv_args.items() if v is not None}
        ),
    ), (422 if errors else 200)


def _csv_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.route("/partenaires/statistiques.csv")
@roles_required(PARTNER)
def statistics_csv() -> ResponseReturnValue:
    """The figures as CSV: one row per episode and hotspot, over ?du=…&au=… (days included)."""
    scope = _scope()
    start, end, errors = _period()
    if errors:
        raise ApiError(400, "invalid_date", " ".join(errors.values()))
    figures = _figures(scope.partner, start, end) if scope.partner else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "saison",
            "episode",
            "titre_episode",
            "zone_id",
            "zone",
            "offre",
            "impressions",
            "clics",
            "taux_de_clic_pct",
        ]
    )
    for episode in figures:
        for hotspot in episode.hotspots:
            writer.writerow(
                [
                    episode.season_number,
                    episode.episode_number,
                    _csv_cell(episode.title),
                    hotspot.hotspot_id,
                    _csv_cell(hotspot.label),
                    _csv_cell(hotspot.offer_title),
                    hotspot.impressions,
                    hotspot.clicks,
                    "" if hotspot.ctr is None else f"{hotspot.ctr * 100:.2f}",
                ]
            )
    name = "statistiques"
    if scope.partner:
        name += f"-partenaire-{scope.partner.id}"
    if start:
        name += f"-du-{start.isoformat()}"
    if end:
        name += f"-au-{end.isoformat()}"
    response = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _render_offer(offer: Offer, form: OfferForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "partners/offer_form.html", offer=offer, form=form, has_errors=status != 200
    ), status


@bp.route("/partenaires/offres/<int:offer_id>", methods=["GET", "POST"])
@roles_required(PARTNER)
def edit_offer(offer_id: int) -> ResponseReturnValue:
    """Edit one of the partner's offers (another partner's offer is a 404)."""
    offer = _offer_or_404(offer_id)
    if request.method == "GET":
        price = (
            ""
            if offer.price_cents is None
            else format_decimal(Decimal(offer.price_cents) / 100, "#,##0.00")
        )
        form = OfferForm(
            formdata=None,
            data={
                "title": offer.title,
                "text": offer.text,
                "merchant": offer.merchant,
                "price": price,
                "url": offer.url or "",
                "address": offer.address,
                "opening_hours": offer.opening_hours,
            },
        )
        return _render_offer(offer, form)
    form = OfferForm()
    if not form.validate():
        return _render_offer(offer, form, 422)
    url = form.url.data or None
    if url is None and offer.url:
        linked = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Hotspot)
            .where(Hotspot.offer_id == offer.id, Hotspot.action == "url")
        )
        if linked:
            form.url.errors = [
                _(
                    "Une zone d'un épisode ouvre directement cette adresse : "
                    "elle ne peut pas être vidée."
                )
            ]
            return _render_offer(offer, form, 422)
    update_offer(
        offer,
        {
            "title": form.title.data.strip(),
            "text": (form.text.data or "").strip(),
            "merchant": (form.merchant.data or "").strip(),
            "price_cents": parse_price(form.price.data or ""),
            "url": url,
            "address": (form.address.data or "").strip(),
            "opening_hours": (form.opening_hours.data or "").strip(),
        },
    )
    db.session.commit()
    logger.info("user %s updated offer %s", current_user.id, offer.id)
    flash(_("Offre « %(title)s » enregistrée.", title=offer.title), "success")
    if current_user.has_role(Role.ADMIN):
        return redirect(url_for("partners.index", partenaire=offer.partner_id))
    return redirect(url_for("partners.index"))
