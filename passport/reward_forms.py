"""The partners' form for a new reward: fields, their checks, and the values for the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import Field, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from passport.models import FilmingLocation
from passport.reward_models import REWARD_TIMEZONE
from series.models import DEPARTEMENTS, Season

_required = DataRequired(message=_l("Ce champ est obligatoire."))
MAX_STOCK = 1_000_000


def _parse_day(value: str | None) -> dt.date | None:
    text = (value or "").strip()
    return dt.date.fromisoformat(text) if text else None


def _start_of(day: dt.date | None) -> dt.datetime | None:
    """Midnight of a day typed by a partner, in the rewards' timezone."""
    return dt.datetime.combine(day, dt.time(), REWARD_TIMEZONE) if day else None


def _validate_day(form: FlaskForm, field: Field) -> None:
    try:
        _parse_day(field.data)
    except ValueError:
        raise ValidationError(_("Date invalide (format AAAA-MM-JJ).")) from None


def _validate_stock(form: FlaskForm, field: Field) -> None:
    text = (field.data or "").strip()
    if text and not (text.isdigit() and 1 <= int(text) <= MAX_STOCK):
        raise ValidationError(
            _("Le stock est un nombre entier d'au moins 1 (laissez vide : sans limite).")
        )


def condition_choices(session: Session) -> list[SelectChoice]:
    """What may unlock a reward, grouped (places of remembrance are not offered)."""
    seasons = session.scalars(sa.select(Season).order_by(Season.number))
    places = session.scalars(
        sa.select(FilmingLocation)
        .where(FilmingLocation.remembrance.is_(False))
        .order_by(FilmingLocation.name)
    )
    region, departement = str(_("Toute la région")), str(_("Badge de département"))
    season, place = str(_("Badge de saison")), str(_("Tampon d'un lieu"))
    return [
        SelectChoice("region:", _("Badge Nouvelle-Aquitaine"), optgroup=region),
        *(
            SelectChoice(f"departement:{code}", f"{name} ({code})", optgroup=departement)
            for code, name in sorted(DEPARTEMENTS.items(), key=lambda item: item[1])
        ),
        *(
            SelectChoice(
                f"season:{s.number}",
                _("Saison %(n)s : %(title)s", n=s.number, title=s.title),
                optgroup=season,
            )
            for s in seasons
        ),
        *(SelectChoice(f"place:{p.id}", p.name, optgroup=place) for p in places),
    ]


class RewardForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[_required, Length(max=200)])
    description = TextAreaField(_l("Description et conditions"), validators=[Length(max=2000)])
    kind = SelectField(
        _l("Type"),
        choices=[SelectChoice("discount", _l("Réduction")), SelectChoice("gift", _l("Cadeau"))],
        validate_choice=False,
    )
    #: "departement:86", "season:1", "region:" or "place:12"; checked by the service.
    condition = SelectField(_l("Débloquée par"), validate_choice=False)
    valid_from = StringField(
        _l("Valable à partir du"), validators=[_validate_day], render_kw={"type": "date"}
    )
    valid_until = StringField(
        _l("Valable jusqu'au (inclus)"), validators=[_validate_day], render_kw={"type": "date"}
    )
    stock = StringField(
        _l("Stock : nombre de codes au plus"),
        validators=[_validate_stock],
        render_kw={"inputmode": "numeric"},
    )

    def reward_values(self) -> dict[str, Any]:
        """The validated fields as passport.reward_partners.create_reward takes them."""
        condition, _sep, key = (self.condition.data or "").partition(":")
        until = _parse_day(self.valid_until.data)
        stock = (self.stock.data or "").strip()
        return {
            "title": self.title.data or "",
            "description": self.description.data or "",
            "kind": self.kind.data or "",
            "condition": condition,
            "condition_key": key,
            "valid_from": _start_of(_parse_day(self.valid_from.data)),
            # The last day is included: validity ends at the next midnight.
            "valid_until": _start_of(until + dt.timedelta(days=1)) if until else None,
            "stock": int(stock) if stock else None,
        }
