"""Casting calls for the next season: residents sign up, editors filter and export, retention.

A sign-up holds personal data (name, e-mail, phone, commune) given with explicit consent for
one call only. It lives until the season is filmed: `mark_filmed` deletes a call's sign-ups at
once, and `purge_filmed_signups` (to run daily) deletes those of every call filmed or whose
filming ended, should nobody have marked it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import LazyString
from sqlalchemy.orm import Session, selectinload

from core import retention
from core.accounts.models import User
from core.db import conflict_insert
from core.errors import ApiError
from core.i18n import lazy_gettext as _l
from series.models import Season
from series.services import RELEASE_TIMEZONE
from series.votes.models import AGE_RANGES, AVAILABILITY, CastingCall, CastingSignup

logger = logging.getLogger(__name__)

AVAILABILITY_LABELS: dict[str, LazyString] = {
    "weekday_day": _l("En semaine, en journée"),
    "weekday_evening": _l("En semaine, en soirée"),
    "weekend": _l("Le week-end"),
    "school_holidays": _l("Pendant les vacances scolaires"),
}
AGE_RANGE_LABELS: dict[str, LazyString] = {
    "18-25": _l("18 à 25 ans"),
    "26-40": _l("26 à 40 ans"),
    "41-60": _l("41 à 60 ans"),
    "61+": _l("61 ans et plus"),
}
assert tuple(AVAILABILITY_LABELS) == AVAILABILITY
assert tuple(AGE_RANGE_LABELS) == AGE_RANGES

#: Longest values accepted (the column sizes; the note is free text but kept short).
MAX_LENGTHS = {"full_name": 120, "email": 254, "phone": 30, "commune": 120, "note": 2000}
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,29}$")
#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS: list[LazyString] = [
    _l("Nom"),
    _l("E-mail"),
    _l("Téléphone"),
    _l("Commune"),
    _l("Tranche d'âge"),
    _l("Disponibilités"),
    _l("Message"),
    _l("Consentement donné le"),
    _l("Inscription le"),
]


class InvalidInput(ApiError):
    """A 422 with one message per field, for forms to show beside each field."""

    def __init__(self, errors: Mapping[str, str | LazyString]) -> None:
        super().__init__(422, "invalid_input", _l("Le formulaire contient des erreurs."))
        self.errors = dict(errors)


# ---------------------------------------------------------------- calls


def paris_today(now: dt.datetime) -> dt.date:
    """The calendar day in Paris (filming dates are Paris days)."""
    return now.astimezone(RELEASE_TIMEZONE).date()


def is_open(call: CastingCall, now: dt.datetime) -> bool:
    """Whether the call takes sign-ups: not filmed, before its deadline, filming not over."""
    if call.filmed_at is not None:
        return False
    today = paris_today(now)
    if call.filming_ends_on is not None and today > call.filming_ends_on:
        return False
    if call.signup_until is not None:
        return now < call.signup_until
    return call.filming_starts_on is None or today < call.filming_starts_on


def list_calls(session: Session, season: Season | None = None) -> Sequence[CastingCall]:
    """Every call (of one season), by season then creation."""
    query = (
        sa.select(CastingCall)
        .join(Season)
        .options(selectinload(CastingCall.season))
        .order_by(Season.number, CastingCall.id)
    )
    if season is not None:
        query = query.where(CastingCall.season_id == season.id)
    return session.scalars(query).all()


def list_open_calls(
    session: Session, now: dt.datetime, season: Season | None = None
) -> list[CastingCall]:
    """The calls taking sign-ups now (of one season, or all)."""
    return [call for call in list_calls(session, season) if is_open(call, now)]


def get_call(session: Session, call_id: int) -> CastingCall | None:
    return session.get(CastingCall, call_id)


def signup_counts(session: Session) -> dict[int, int]:
    """Call id -> number of sign-ups."""
    rows = session.execute(
        sa.select(CastingSignup.call_id, sa.func.count()).group_by(CastingSignup.call_id)
    )
    return {int(call_id): int(count) for call_id, count in rows}


def save_call(
    session: Session,
    call: CastingCall | None,
    *,
    season: Season,
    territory: str,
    title: str,
    description: str = "",
    signup_until: dt.datetime | None = None,
    filming_starts_on: dt.date | None = None,
    filming_ends_on: dt.date | None = None,
) -> CastingCall:
    """Create a call (call None) or change one; dates must come in order."""
    errors: dict[str, str | LazyString] = {}
    territory, title = territory.strip(), title.strip()
    if not territory:
        errors["territory"] = _l("Indiquez le territoire du tournage.")
    elif len(territory) > 160:
        errors["territory"] = _l("160 caractères au plus.")
    if not title:
        errors["title"] = _l("Donnez un titre à l'appel.")
    elif len(title) > 200:
        errors["title"] = _l("200 caractères au plus.")
    if filming_starts_on and filming_ends_on and filming_ends_on < filming_starts_on:
        errors["filming_ends_on"] = _l("La fin du tournage doit suivre son début.")
    if errors:
        raise InvalidInput(errors)
    if call is None:
        call = CastingCall()
        session.add(call)
    call.season_id = season.id
    call.season = season
    call.territory = territory
    call.title = title
    call.description = description.strip()
    call.signup_until = signup_until
    call.filming_starts_on = filming_starts_on
    call.filming_ends_on = filming_ends_on
    session.flush()
    logger.info("casting call %s saved for season %s", call.id, season.number)
    return call


# ---------------------------------------------------------------- sign-ups


def signup_of(session: Session, call: CastingCall, user: User) -> CastingSignup | None:
    """The user's sign-up to the call, if any."""
    return session.scalar(
        sa.select(CastingSignup).where(
            CastingSignup.call_id == call.id, CastingSignup.user_id == user.id
        )
    )


def signed_up_call_ids(session: Session, user: User) -> set[int]:
    """The calls the user is signed up to."""
    return set(
        session.scalars(sa.select(CastingSignup.call_id).where(CastingSignup.user_id == user.id))
    )


def clean_signup(data: Mapping[str, Any]) -> dict[str, Any]:
    """The sign-up's values, checked and trimmed; InvalidInput names every bad field."""
    errors: dict[str, str | LazyString] = {}

    def text(name: str) -> str:
        value = data.get(name)
        value = value.strip() if isinstance(value, str) else ""
        if len(value) > MAX_LENGTHS[name]:
            errors[name] = _l("%(n)s caractères au plus.", n=MAX_LENGTHS[name])
        return value

    cleaned: dict[str, Any] = {name: text(name) for name in MAX_LENGTHS}
    if not cleaned["full_name"]:
        errors["full_name"] = _l("Indiquez vos nom et prénom.")
    if not cleaned["email"]:
        errors["email"] = _l("Indiquez votre adresse e-mail.")
    elif "email" not in errors and not EMAIL.match(cleaned["email"]):
        errors["email"] = _l("Adresse e-mail invalide (exemple : nom@exemple.fr).")
    if cleaned["phone"] and "phone" not in errors and not PHONE.match(cleaned["phone"]):
        errors["phone"] = _l("Numéro de téléphone invalide (exemple : 06 12 34 56 78).")
    if not cleaned["commune"]:
        errors["commune"] = _l("Indiquez votre commune.")
    age_range = data.get("age_range") or ""
    if age_range not in ("", *AGE_RANGES):
        errors["age_range"] = _l("Choisissez une tranche d'âge de la liste.")
    cleaned["age_range"] = age_range
    raw_slots = data.get("availability") or []
    slots = [raw_slots] if isinstance(raw_slots, str) else list(raw_slots)
    if not slots:
        errors["availability"] = _l("Cochez au moins une disponibilité.")
    elif any(slot not in AVAILABILITY for slot in slots):
        errors["availability"] = _l("Choisissez vos disponibilités dans la liste.")
    # Kept in the list's order, each once: the export and the filters read them alike.
    cleaned["availability"] = [slot for slot in AVAILABILITY if slot in slots]
    if data.get("consent") not in (True, "yes"):
        errors["consent"] = _l("Cochez la case pour accepter d'être contacté·e.")
    if errors:
        raise InvalidInput(errors)
    return cleaned


def sign_up(
    session: Session, call: CastingCall, user: User, data: Mapping[str, Any], now: dt.datetime
) -> CastingSignup:
    """Sign a resident up to an open call, or update their sign-up (one per account and call)."""
    if not is_open(call, now):
        raise ApiError(
            409, "casting_closed", _l("Les inscriptions à cet appel à figuration sont closes.")
        )
    values = clean_signup(data) | {"consent_at": now}
    insert = conflict_insert(session, CastingSignup)
    # One atomic statement: a double click or two tabs can never make a second row.
    statement = (
        insert.values(call_id=call.id, user_id=user.id, created_at=now, **values)
        .on_conflict_do_update(
            index_elements=["call_id", "user_id"],
            set_={name: insert.excluded[name] for name in values},
        )
        .returning(CastingSignup.id)
    )
    signup_id = session.scalar(statement)
    signup = session.get(CastingSignup, signup_id, populate_existing=True)
    assert signup is not None
    session.expire(call, ["signups"])
    logger.info("casting sign-up %s to call %s saved by user %s", signup.id, call.id, user.id)
    return signup


def withdraw(session: Session, signup: CastingSignup) -> None:
    """Delete a resident's sign-up (their right, at any time)."""
    call, ident, user_id = signup.call, signup.id, signup.user_id
    session.delete(signup)
    session.flush()
    session.expire(call, ["signups"])
    logger.info("casting sign-up %s withdrawn by user %s", ident, user_id)


def _folded(text: str) -> str:
    """Lower case without accents: 'Échiré' and 'echire' match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def filter_signups(
    session: Session,
    call: CastingCall,
    commune: str = "",
    slot: str = "",
    age_range: str = "",
) -> list[CastingSignup]:
    """The call's sign-ups matching every filter given (commune: a part of its name)."""
    query = (
        sa.select(CastingSignup).where(CastingSignup.call_id == call.id).order_by(CastingSignup.id)
    )
    if age_range:
        query = query.where(CastingSignup.age_range == age_range)
    rows = session.scalars(query).all()
    # Commune and slot are matched here: accent-blind matching and JSON lists read the same
    # on every backend, and a call has at most a few hundred sign-ups.
    wanted = _folded(commune.strip())
    return [
        row
        for row in rows
        if (not wanted or wanted in _folded(row.commune)) and (not slot or slot in row.availability)
    ]


def _safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(RELEASE_TIMEZONE).strftime("%Y-%m-%d %H:%M")


def signups_csv(signups: Iterable[CastingSignup]) -> bytes:
    """The sign-ups as CSV for a spreadsheet: UTF-8 with BOM, ';' as French Excel expects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([str(label) for label in CSV_COLUMNS])
    for row in signups:
        cells = [
            row.full_name,
            row.email,
            row.phone,
            row.commune,
            str(AGE_RANGE_LABELS[row.age_range]) if row.age_range in AGE_RANGE_LABELS else "",
            ", ".join(str(AVAILABILITY_LABELS.get(s, s)) for s in row.availability),
            row.note,
            _local(row.consent_at),
            _local(row.created_at),
        ]
        writer.writerow([_safe_cell(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- retention


def _delete_signups(session: Session, call_ids: Any) -> int:
    result = cast(
        sa.CursorResult[Any],
        session.execute(
            sa.delete(CastingSignup)
            .where(CastingSignup.call_id.in_(call_ids))
            .execution_options(synchronize_session="fetch")
        ),
    )
    return int(result.rowcount)


def mark_filmed(session: Session, call: CastingCall, now: dt.datetime) -> int:
    """The season is filmed: close the call and delete its sign-ups; returns how many."""
    call.filmed_at = call.filmed_at or now
    deleted = _delete_signups(session, [call.id])
    session.flush()
    session.expire(call, ["signups"])
    logger.info("casting call %s filmed: %d sign-ups deleted", call.id, deleted)
    return deleted


def purge_filmed_signups(session: Session, now: dt.datetime) -> int:
    """Delete the sign-ups of calls filmed or whose filming ended (retention); returns how many."""
    done = sa.select(CastingCall.id).where(
        sa.or_(
            CastingCall.filmed_at.is_not(None),
            CastingCall.filming_ends_on < paris_today(now),
        )
    )
    deleted = _delete_signups(session, done)
    session.flush()
    if deleted:
        for call in [o for o in session.identity_map.values() if isinstance(o, CastingCall)]:
            session.expire(call, ["signups"])
    logger.info("casting retention: %d sign-ups deleted", deleted)
    return deleted


retention.register(
    retention.RetentionRule(
        name="casting-signups",
        data=_l("Inscriptions aux appels à figurants (nom, téléphone, commune, disponibilités)"),
        period=_l("jusqu'à la fin du tournage de l'appel"),
        purge=purge_filmed_signups,
    )
)
