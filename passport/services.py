"""The rules of stamping: where you must stand, how good a fix must be, how fast one travels,
and the place codes that stand in for GPS on site.

A stamp is written once per passport and place (a unique constraint and INSERT … ON CONFLICT
DO NOTHING): the same stamp sent twice answers 200 with the first. Nothing of the fix is kept
but a distance band.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from core import counters
from core.db import conflict_insert
from core.i18n import gettext as _
from passport import geometry
from passport.models import (
    FilmingLocation,
    Passport,
    Stamp,
    StampMethod,
    StampStatus,
    UsedCode,
)

#: A fix less precise than this is refused (with advice: wait, go outside, or use the code).
MAX_ACCURACY_M = 250.0
#: The fix's accuracy widens the site by at most this much.
ACCURACY_ALLOWANCE_CAP_M = 100.0
#: A fix older than this (s) is refused: the page asks for a recent one.
MAX_FIX_AGE_S = 120
#: A fix or a scan dated this far in the future (s) is refused (clock skew allowed).
MAX_FUTURE_S = 30
#: Between two stamps: faster than HOLD_KMH is held for review, faster than REFUSE_KMH refused.
HOLD_KMH, REFUSE_KMH = 200.0, 900.0
#: A code scanned offline may be sent this late (it is judged at the time of the scan).
MAX_OFFLINE_DELAY = dt.timedelta(hours=72)
#: Attempts per passport and minute before 429.
ATTEMPTS_PER_MINUTE = 20


class StampRefused(Exception):
    """A stamp not given: a reason code, a message, an HTTP status and details."""

    def __init__(self, reason: str, message: str, status: int = 422, **extra: Any) -> None:
        super().__init__(reason)
        self.reason, self.message, self.status, self.extra = reason, message, status, extra


@dataclass(frozen=True)
class StampResult:
    """201 for a new stamp, 200 when the passport already had it."""

    status: int
    stamp: Stamp


def distance_band(metres: float) -> str:
    """The only trace of a fix that is kept."""
    for limit, band in ((50, "0-50"), (150, "50-150"), (400, "150-400")):
        if metres <= limit:
            return band
    return "400+"


def distance_to_site(location: FilmingLocation, lat: float, lon: float, limit: float) -> float:
    """Metres from the fix to the site: 0 inside a polygon, else to its edge or centre."""
    if location.polygon:
        return geometry.distance_to_polygon(lat, lon, location.polygon)
    return geometry.distance_to_point(lat, lon, (location.lat, location.lon), limit)


def get_location(session: Session, location_id: int) -> FilmingLocation | None:
    return session.get(FilmingLocation, location_id)


def locations(session: Session) -> Sequence[FilmingLocation]:
    return session.scalars(
        sa.select(FilmingLocation)
        .options(selectinload(FilmingLocation.episodes))
        .order_by(FilmingLocation.departement_code, FilmingLocation.name)
    ).all()


def _stamp_of(session: Session, passport: Passport, location: FilmingLocation) -> Stamp | None:
    return session.scalar(
        sa.select(Stamp).where(Stamp.passport_id == passport.id, Stamp.location_id == location.id)
    )


def _check_rate(passport: Passport) -> None:
    attempts = counters.incr(f"stamp-attempts:{passport.id}", ttl=60)
    if attempts > ATTEMPTS_PER_MINUTE:
        raise StampRefused(
            "too_many_attempts",
            _("Trop de tentatives : réessayez dans une minute."),
            status=429,
            retry_after=max(counters.ttl(f"stamp-attempts:{passport.id}"), 1),
        )


def _check_time(at: dt.datetime, now: dt.datetime, max_age: dt.timedelta) -> None:
    if at > now + dt.timedelta(seconds=MAX_FUTURE_S):
        raise StampRefused("time_in_future", _("L'heure de la position est dans le futur."))
    if now - at > max_age:
        raise StampRefused(
            "fix_too_old",
            _("Cette position est trop ancienne : demandez-en une nouvelle sur place."),
        )


def _check_travel(
    session: Session, passport: Passport, location: FilmingLocation, at: dt.datetime
) -> tuple[StampStatus, str]:
    """Compare with the stamp closest in time: a speed no traveller reaches is refused."""
    others = session.scalars(
        sa.select(Stamp)
        .where(Stamp.passport_id == passport.id, Stamp.location_id != location.id)
        .options(selectinload(Stamp.location))
    ).all()
    worst, note = 0.0, ""
    for other in others:
        metres = geometry.haversine_m(
            location.lat, location.lon, other.location.lat, other.location.lon
        )
        hours = max(abs((at - other.taken_at).total_seconds()) / 3600, 1 / 3600)
        kmh = metres / 1000 / hours
        if kmh > worst:
            worst, note = kmh, f"{round(metres / 1000)} km from {other.location.slug} in "
            note += f"{round(hours * 60)} min ({round(kmh)} km/h)"
    if worst > REFUSE_KMH:
        raise StampRefused(
            "implausible_travel",
            _(
                "Ce tampon est trop loin du précédent pour le temps écoulé "
                "(%(kmh)s km/h) : il est refusé.",
                kmh=round(worst),
            ),
        )
    if worst > HOLD_KMH:
        return StampStatus.HELD, note
    return StampStatus.ACCEPTED, ""


def _write(
    session: Session,
    passport: Passport,
    location: FilmingLocation,
    method: StampMethod,
    band: str,
    at: dt.datetime,
    now: dt.datetime,
    status: StampStatus,
    note: str,
) -> StampResult:
    inserted = session.execute(
        conflict_insert(session, Stamp)
        .values(
            passport_id=passport.id,
            location_id=location.id,
            method=method,
            status=status,
            distance_band=band,
            taken_at=at,
            stamped_at=now,
            review_note=note[:200],
        )
        .on_conflict_do_nothing()
        .returning(Stamp.id)
    ).scalar()
    stamp = _stamp_of(session, passport, location)
    assert stamp is not None
    return StampResult(201 if inserted is not None else 200, stamp)


def verify_stamp(
    session: Session,
    passport: Passport,
    location: FilmingLocation,
    lat: float,
    lon: float,
    accuracy: float,
    at: dt.datetime,
    now: dt.datetime,
) -> StampResult:
    """Stamp with a position fix, or refuse with a reason (nothing written then)."""
    existing = _stamp_of(session, passport, location)
    if existing is not None:
        return StampResult(200, existing)
    _check_rate(passport)
    _check_time(at, now, dt.timedelta(seconds=MAX_FIX_AGE_S))
    if accuracy > MAX_ACCURACY_M:
        raise StampRefused(
            "accuracy_too_low",
            _(
                "Position trop imprécise (± %(m)s m). Attendez quelques secondes, sortez à "
                "découvert, ou utilisez le code affiché sur place.",
                m=round(accuracy),
            ),
            accuracy_m=round(accuracy),
        )
    allowed = location.radius_m + min(accuracy, ACCURACY_ALLOWANCE_CAP_M)
    metres = distance_to_site(location, lat, lon, allowed)
    if metres > allowed:
        raise StampRefused(
            "too_far",
            _(
                "Vous êtes à %(d)s du lieu : approchez-vous encore de %(more)s.",
                d=format_distance(metres),
                more=format_distance(metres - allowed),
            ),
            distance_m=round(metres),
            allowed_m=round(allowed),
        )
    status, note = _check_travel(session, passport, location, at)
    return _write(
        session, passport, location, StampMethod.GPS, distance_band(metres), at, now, status, note
    )


def format_distance(metres: float) -> str:
    if metres < 1000:
        return f"{max(1, round(metres))} m"
    return f"{metres / 1000:.1f} km".replace(".", ",")


# ---- Place codes (the QR poster on site) ----


def code_period_s() -> int:
    """How long a place code lasts (the poster is printed again each period)."""
    return int(current_app.config.get("PASSPORT_CODE_PERIOD_S", 30 * 24 * 3600))


def _window(at: dt.datetime) -> int:
    return math.floor(at.timestamp() / code_period_s())


def _signature(location: FilmingLocation, window: int) -> str:
    message = f"experts-na:place-code:v1:{location.id}:{window}".encode()
    return hmac.new(location.code_secret.encode(), message, hashlib.sha256).hexdigest()[:10]


def code_valid_until(at: dt.datetime) -> dt.datetime:
    """The last moment a code printed at `at` is accepted (its period and the next)."""
    end = (_window(at) + 2) * code_period_s()
    return dt.datetime.fromtimestamp(end, dt.UTC)


def place_code(location: FilmingLocation, at: dt.datetime) -> str:
    """The code of the poster valid at `at`: `<place>-<window>-<signature>`."""
    window = _window(at)
    return f"{location.id}-{window}-{_signature(location, window)}"


def verify_code_stamp(
    session: Session,
    passport: Passport,
    location: FilmingLocation,
    code: str,
    at: dt.datetime,
    now: dt.datetime,
) -> StampResult:
    """Stamp with the place's code, scanned at `at` (maybe offline, sent later)."""
    existing = _stamp_of(session, passport, location)
    if existing is not None:
        return StampResult(200, existing)
    _check_rate(passport)
    _check_time(at, now, MAX_OFFLINE_DELAY)
    parts = code.strip().split("-")
    # isdecimal, not isdigit: int() refuses digits such as "²" (a ValueError).
    if len(parts) != 3 or not parts[0].isdecimal() or not parts[1].isdecimal():
        raise StampRefused("invalid_code", _("Ce code n'est pas un code de lieu."))
    place, window, signature = int(parts[0]), int(parts[1]), parts[2]
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    expected = _signature(location, window).encode()
    if place != location.id or not hmac.compare_digest(signature.encode(), expected):
        raise StampRefused("invalid_code", _("Ce code n'est pas celui de ce lieu."))
    # The poster of the scan's period, or of the one before (a poster is replaced late).
    if window not in (_window(at), _window(at) - 1):
        raise StampRefused("expired_code", _("Ce code a expiré : scannez l'affiche du moment."))
    used = session.execute(
        conflict_insert(session, UsedCode)
        .values(passport_id=passport.id, code_hash=hashlib.sha256(code.encode()).hexdigest())
        .on_conflict_do_nothing()
        .returning(UsedCode.id)
    ).scalar()
    if used is None:
        raise StampRefused("code_replayed", _("Ce code a déjà servi pour ce passeport."))
    status, note = _check_travel(session, passport, location, at)
    return _write(session, passport, location, StampMethod.CODE, "code", at, now, status, note)


# ---- Partner PINs (a partner at the place gives it to visitors) ----


def _pin_hash(location: FilmingLocation, pin: str) -> str:
    return hmac.new(
        location.code_secret.encode(), f"pin:{pin}".encode(), hashlib.sha256
    ).hexdigest()


def set_pin(location: FilmingLocation, pin: str | None) -> None:
    """Give the place a PIN of 6 to 8 digits (None removes it); only its hash is kept."""
    if pin is None:
        location.pin_hash = None
        return
    if not (pin.isdigit() and 6 <= len(pin) <= 8):
        raise ValueError(pin)
    location.pin_hash = _pin_hash(location, pin)


def verify_pin_stamp(
    session: Session,
    passport: Passport,
    location: FilmingLocation,
    pin: str,
    now: dt.datetime,
) -> StampResult:
    """Stamp with the PIN a partner at the place gave (attempts limited like every stamp)."""
    existing = _stamp_of(session, passport, location)
    if existing is not None:
        return StampResult(200, existing)
    _check_rate(passport)
    if location.pin_hash is None or not hmac.compare_digest(
        location.pin_hash, _pin_hash(location, pin.strip())
    ):
        raise StampRefused("invalid_pin", _("Ce code partenaire n'est pas celui de ce lieu."))
    status, note = _check_travel(session, passport, location, now)
    return _write(session, passport, location, StampMethod.PIN, "pin", now, now, status, note)


def new_code_secret() -> str:
    return secrets.token_hex(32)


def passport_for_user(session: Session, user_id: int) -> Passport:
    """The account's passport, created on first use (concurrent first uses make one)."""
    session.execute(
        conflict_insert(session, Passport).values(user_id=user_id).on_conflict_do_nothing()
    )
    passport = session.scalar(sa.select(Passport).where(Passport.user_id == user_id))
    assert passport is not None
    return passport


def find_passport(session: Session, user_id: int) -> Passport | None:
    return session.scalar(sa.select(Passport).where(Passport.user_id == user_id))


def stamps_of(session: Session, passport: Passport) -> dict[int, Stamp]:
    """The passport's stamps by location id."""
    rows = session.scalars(sa.select(Stamp).where(Stamp.passport_id == passport.id))
    return {stamp.location_id: stamp for stamp in rows}
