"""Casting calls for the next season: residents sign up, editors see and export sign-ups."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.accounts.auth import roles_required
from core.clock import now
from core.db import db, int_arg
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from series import services as catalogue
from series.votes import casting
from series.votes.models import AGE_RANGES, AVAILABILITY, CastingCall

logger = logging.getLogger(__name__)

bp = Blueprint("casting", __name__, template_folder="templates")

EDITOR = "editor"
#: Pages holding personal data are never kept by a browser or a proxy.
NO_STORE = {"Cache-Control": "private, no-store"}
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
#: The sign-up form's fields, in page order (the error summary follows it).
SIGNUP_FIELDS = (
    "full_name",
    "email",
    "phone",
    "commune",
    "age_range",
    "availability",
    "note",
    "consent",
)

_required = DataRequired(message=_l("Ce champ est obligatoire."))
_bad_date = _l("Date invalide.")


class CallForm(FlaskForm):
    season = SelectField(
        _l("Saison"),
        coerce=int,
        validators=[InputRequired(message=_l("Ce champ est obligatoire."))],
    )
    territory = StringField(_l("Territoire du tournage"), validators=[_required, Length(max=160)])
    title = StringField(_l("Titre de l'appel"), validators=[_required, Length(max=200)])
    description = TextAreaField(
        _l("Description"), validators=[Length(max=5000)], render_kw={"rows": 6}
    )
    signup_until = DateTimeLocalField(
        _l("Inscriptions jusqu'au (heure de Paris)"),
        format=LOCAL_FORMATS,
        validators=[Optional()],
        invalid_value_message=_l("Date et heure invalides."),
    )
    filming_starts_on = DateField(
        _l("Début du tournage"), validators=[Optional()], invalid_value_message=_bad_date
    )
    filming_ends_on = DateField(
        _l("Fin du tournage"), validators=[Optional()], invalid_value_message=_bad_date
    )


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "AVAILABILITY_LABELS": casting.AVAILABILITY_LABELS,
        "AGE_RANGE_LABELS": casting.AGE_RANGE_LABELS,
        "day": lambda value: format_date(value, "d MMMM y") if value else "",
        "is_open": casting.is_open,
        "now": now(),
    }


def _call_or_404(call_id: int) -> CastingCall:
    call = casting.get_call(db.session, call_id)
    if call is None:
        abort(404)
    return call


def _to_login(call: CastingCall) -> ResponseReturnValue:
    flash(_("Connectez-vous pour vous inscrire à un appel à figuration."), "info")
    return redirect(url_for("accounts.login", next=url_for("casting.call_page", call_id=call.id)))


# ---------------------------------------------------------------- residents


@bp.route("/figuration")
def index() -> ResponseReturnValue:
    """Every open casting call, and the ones I signed up to."""
    current = now()
    calls = casting.list_calls(db.session)
    mine = _my_call_ids()
    shown = [c for c in calls if casting.is_open(c, current) or c.id in mine]
    return render_template("votes/casting_list.html", season=None, calls=shown, mine=mine)


@bp.route("/saisons/<int:number>/figuration")
def season_calls(number: int) -> ResponseReturnValue:
    """A season's open casting calls (and those I signed up to)."""
    season = catalogue.get_season(db.session, number)
    if season is None:
        abort(404)
    current = now()
    mine = _my_call_ids()
    calls = [
        c
        for c in casting.list_calls(db.session, season)
        if casting.is_open(c, current) or c.id in mine
    ]
    return render_template("votes/casting_list.html", season=season, calls=calls, mine=mine)


def _my_call_ids() -> set[int]:
    if not current_user.is_authenticated:
        return set()
    return casting.signed_up_call_ids(db.session, current_user)


def _form_values(call: CastingCall) -> dict[str, Any]:
    """What the sign-up form shows: the posted values, my sign-up, or my account's."""
    if request.method == "POST":
        values: dict[str, Any] = {name: request.form.get(name, "") for name in SIGNUP_FIELDS}
        values["availability"] = request.form.getlist("availability")
        return values
    mine = casting.signup_of(db.session, call, current_user)
    if mine is not None:
        values = {name: getattr(mine, name) for name in SIGNUP_FIELDS if name != "consent"}
        return values | {"consent": ""}
    return dict.fromkeys(SIGNUP_FIELDS, "") | {
        "full_name": current_user.display_name,
        "email": current_user.email,
        "availability": [],
    }


@bp.route("/figuration/<int:call_id>", methods=["GET", "POST"])
def call_page(call_id: int) -> ResponseReturnValue:
    """A casting call, my sign-up to it, and the form to sign up or change it."""
    call = _call_or_404(call_id)
    signed_in = current_user.is_authenticated
    if request.method == "POST" and not signed_in:
        return _to_login(call)
    current = now()
    errors: dict[str, str] = {}
    refusal = None
    status = 200
    if request.method == "POST":
        data = dict(request.form) | {"availability": request.form.getlist("availability")}
        try:
            casting.sign_up(db.session, call, current_user, data, current)
        except casting.InvalidInput as invalid:
            db.session.rollback()
            errors = {k: str(v) for k, v in invalid.errors.items()}
            status = 422
        except ApiError as refused:
            db.session.rollback()
            refusal = str(refused.message)
            status = refused.status
        else:
            db.session.commit()
            flash(
                _(
                    "C'est noté : vous êtes inscrit·e à « %(title)s ». L'équipe vous contactera"
                    " si votre profil correspond.",
                    title=call.title,
                ),
                "success",
            )
            return redirect(
                url_for("casting.call_page", call_id=call.id, _anchor="mon-inscription")
            )
    mine = casting.signup_of(db.session, call, current_user) if signed_in else None
    response = render_template(
        "votes/casting_call.html",
        call=call,
        open=casting.is_open(call, current),
        mine=mine,
        values=_form_values(call) if signed_in else {},
        errors={name: errors[name] for name in SIGNUP_FIELDS if name in errors},
        refusal=refusal,
        availability=AVAILABILITY,
        age_ranges=AGE_RANGES,
    )
    return response, status, NO_STORE


@bp.route("/figuration/<int:call_id>/retrait", methods=["POST"])
def withdraw(call_id: int) -> ResponseReturnValue:
    """Delete my sign-up to a call, whenever I wish."""
    call = _call_or_404(call_id)
    if not current_user.is_authenticated:
        return _to_login(call)
    mine = casting.signup_of(db.session, call, current_user)
    if mine is None:
        flash(_("Vous n'êtes pas inscrit·e à cet appel."), "info")
    else:
        casting.withdraw(db.session, mine)
        db.session.commit()
        flash(_("Votre inscription est retirée et vos données sont supprimées."), "success")
    return redirect(url_for("casting.call_page", call_id=call.id))


# ---------------------------------------------------------------- editors


def _local_input(value: dt.datetime | None) -> dt.datetime | None:
    """A UTC time as the naive Paris wall time a datetime-local input shows."""
    if value is None:
        return None
    return value.astimezone(catalogue.RELEASE_TIMEZONE).replace(tzinfo=None)


def _from_local_input(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=catalogue.RELEASE_TIMEZONE).astimezone(dt.UTC)


@bp.route("/edition/figuration")
@roles_required(EDITOR)
def editor_index() -> ResponseReturnValue:
    """Every casting call with its number of sign-ups."""
    response = render_template(
        "votes/casting_editor_index.html",
        calls=casting.list_calls(db.session),
        counts=casting.signup_counts(db.session),
    )
    return response, 200, NO_STORE


def _call_form(call: CastingCall | None) -> ResponseReturnValue:
    seasons = catalogue.list_seasons(db.session)
    if request.method == "POST":
        form = CallForm()
    elif call is not None:
        form = CallForm(
            formdata=None,
            data={
                "season": call.season.number,
                "territory": call.territory,
                "title": call.title,
                "description": call.description,
                "signup_until": _local_input(call.signup_until),
                "filming_starts_on": call.filming_starts_on,
                "filming_ends_on": call.filming_ends_on,
            },
        )
    else:
        form = CallForm(formdata=None, data={"season": request.args.get("saison", type=int_arg)})
    form.season.choices = [
        (s.number, _("Saison %(n)s · %(dep)s", n=s.number, dep=s.departement_name)) for s in seasons
    ]
    status = 200
    if request.method == "POST":
        season = catalogue.get_season(db.session, form.season.data or 0)
        if form.validate() and season is not None:
            try:
                saved = casting.save_call(
                    db.session,
                    call,
                    season=season,
                    territory=form.territory.data or "",
                    title=form.title.data or "",
                    description=form.description.data or "",
                    signup_until=_from_local_input(form.signup_until.data),
                    filming_starts_on=form.filming_starts_on.data,
                    filming_ends_on=form.filming_ends_on.data,
                )
            except casting.InvalidInput as invalid:
                db.session.rollback()
                for name, message in invalid.errors.items():
                    form[name].errors = [*form[name].errors, str(message)]
            else:
                db.session.commit()
                flash(_("Appel à figuration enregistré."), "success")
                return redirect(url_for("casting.call_signups", call_id=saved.id))
        status = 422
    return render_template("votes/casting_editor_form.html", form=form, call=call), status


@bp.route("/edition/figuration/nouvel-appel", methods=["GET", "POST"])
@roles_required(EDITOR)
def new_call() -> ResponseReturnValue:
    """Create a casting call for a season and a territory."""
    return _call_form(None)


@bp.route("/edition/figuration/<int:call_id>/modifier", methods=["GET", "POST"])
@roles_required(EDITOR)
def edit_call(call_id: int) -> ResponseReturnValue:
    """Change a casting call's text and dates."""
    return _call_form(_call_or_404(call_id))


def _filters() -> dict[str, str]:
    """The sign-up filters of the query string; unknown values are ignored."""
    slot = request.args.get("dispo", "")
    age = request.args.get("age", "")
    return {
        "commune": request.args.get("commune", "").strip()[:120],
        "dispo": slot if slot in AVAILABILITY else "",
        "age": age if age in AGE_RANGES else "",
    }


def _filtered(call: CastingCall, filters: dict[str, str]) -> list[Any]:
    return casting.filter_signups(
        db.session,
        call,
        commune=filters["commune"],
        slot=filters["dispo"],
        age_range=filters["age"],
    )


@bp.route("/edition/figuration/<int:call_id>")
@roles_required(EDITOR)
def call_signups(call_id: int) -> ResponseReturnValue:
    """A call's sign-ups, filtered by commune, availability and age range."""
    call = _call_or_404(call_id)
    filters = _filters()
    signups = _filtered(call, filters)
    active: dict[str, Any] = {k: v for k, v in filters.items() if v}
    response = render_template(
        "votes/casting_editor_call.html",
        call=call,
        signups=signups,
        total=len(call.signups),
        filters=filters,
        filtered=bool(active),
        csv_url=url_for("casting.export_csv", call_id=call.id, **active),
        availability=AVAILABILITY,
        age_ranges=AGE_RANGES,
    )
    return response, 200, NO_STORE


@bp.route("/edition/figuration/<int:call_id>/inscriptions.csv")
@roles_required(EDITOR)
def export_csv(call_id: int) -> ResponseReturnValue:
    """The filtered sign-ups as a spreadsheet file."""
    call = _call_or_404(call_id)
    signups = _filtered(call, _filters())
    logger.info(
        "user %s exported %d sign-ups of casting call %s", current_user.id, len(signups), call.id
    )
    name = f"figuration-saison-{call.season.number}-appel-{call.id}.csv"
    return Response(
        casting.signups_csv(signups),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
    )


@bp.route("/edition/figuration/<int:call_id>/tournage", methods=["GET", "POST"])
@roles_required(EDITOR)
def mark_filmed(call_id: int) -> ResponseReturnValue:
    """The season is filmed: after a confirmation, close the call and delete its sign-ups."""
    call = _call_or_404(call_id)
    if request.method == "POST" and request.form.get("confirm") == "yes":
        deleted = casting.mark_filmed(db.session, call, now())
        db.session.commit()
        logger.info("user %s marked casting call %s filmed", current_user.id, call.id)
        flash(
            _(
                "Saison tournée : l'appel est clos et ses %(n)s inscriptions sont supprimées.",
                n=deleted,
            ),
            "success",
        )
        return redirect(url_for("casting.call_signups", call_id=call.id))
    response = render_template(
        "votes/casting_editor_filmed.html", call=call, count=len(call.signups)
    )
    return response, 200, NO_STORE
