"""JSON API of the passport (CONTRACT.md): filming locations and stamps."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.api import SCHEMAS, operation, ref
from core.clock import now
from core.db import as_id, db
from core.errors import ApiError
from core.i18n import gettext as _
from passport import guests, services
from passport.models import FilmingLocation, Stamp
from series import services as catalogue
from series.models import Episode

bp = Blueprint("passport_api", __name__, url_prefix="/api/v1")

SCHEMAS["FilmingLocation"] = {
    "type": "object",
    "required": ["id", "name", "lat", "lon", "radius_m", "departement", "episodes"],
    "properties": {
        "id": {"type": "integer"},
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "radius_m": {"type": "integer"},
        "polygon": {
            "type": "array",
            "nullable": True,
            "items": {"type": "array", "items": {"type": "number"}},
            "description": "[[lat, lon], …] outline of a large site",
        },
        "departement": {"type": "string"},
        "remembrance": {"type": "boolean", "description": "stamped soberly, no points"},
        "accessibility": {"type": "string"},
        "opening_hours": {"type": "string"},
        "episodes": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "released episodes filmed there",
        },
    },
}
SCHEMAS["Stamp"] = {
    "type": "object",
    "required": ["location", "method", "status", "distance_band", "taken_at"],
    "properties": {
        "location": {"type": "integer"},
        "method": {"type": "string", "enum": ["gps", "code", "pin"]},
        "status": {"type": "string", "enum": ["accepted", "held"]},
        "distance_band": {"type": "string", "description": "0-50, 50-150, 150-400, 400+, code"},
        "taken_at": {"type": "string", "format": "date-time"},
        "stamped_at": {"type": "string", "format": "date-time"},
        "remembrance": {"type": "boolean"},
    },
}
SCHEMAS["StampRefusal"] = {
    "type": "object",
    "required": ["error", "reason", "message"],
    "properties": {
        "error": {"type": "string"},
        "reason": {
            "type": "string",
            "description": "invalid_body, invalid_lat, invalid_lon, invalid_accuracy, "
            "invalid_at, time_in_future, fix_too_old, accuracy_too_low, too_far, "
            "implausible_travel, invalid_code, expired_code, code_replayed, invalid_pin, "
            "too_many_attempts",
        },
        "message": {"type": "string"},
        "distance_m": {"type": "integer"},
        "allowed_m": {"type": "integer"},
    },
}


def location_json(location: FilmingLocation, visible: set[int]) -> dict[str, Any]:
    """A location's public fields; only released episodes are named (no spoilers)."""
    return {
        "id": location.id,
        "slug": location.slug,
        "name": location.name,
        "lat": location.lat,
        "lon": location.lon,
        "radius_m": location.radius_m,
        "polygon": location.polygon,
        "departement": location.departement_code,
        "remembrance": location.remembrance,
        "accessibility": location.accessibility,
        "opening_hours": location.opening_hours,
        "episodes": [link.episode_id for link in location.episodes if link.episode_id in visible],
    }


def stamp_json(stamp: Stamp) -> dict[str, Any]:
    return {
        "location": stamp.location_id,
        "method": stamp.method.value,
        "status": stamp.status.value,
        "distance_band": stamp.distance_band,
        "taken_at": stamp.taken_at.isoformat(),
        "stamped_at": stamp.stamped_at.isoformat(),
        "remembrance": stamp.location.remembrance,
    }


def visible_episode_ids() -> set[int]:
    """Ids of the episodes the caller may see (released ones; all for editors)."""
    query = sa.select(Episode.id)
    if not catalogue.can_see_unreleased(current_user):
        query = query.where(catalogue.released_clause(now()))
    return set(db.session.scalars(query))


@bp.route("/locations")
@operation(
    "Filming locations: where to stand to stamp the passport",
    {200: ("Locations", {"type": "array", "items": ref("FilmingLocation")})},
    tags=["passport"],
)
def list_locations() -> ResponseReturnValue:
    visible = visible_episode_ids()
    return jsonify([location_json(loc, visible) for loc in services.locations(db.session)])


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(
            422, "invalid_" + name, _("Valeur manquante ou invalide."), reason="invalid_" + name
        )
    if not low <= value <= high:
        raise ApiError(422, "invalid_" + name, _("Valeur hors limites."), reason="invalid_" + name)
    return float(value)


def _time(body: dict[str, Any]) -> dt.datetime:
    raw = body.get("at")
    try:
        at = dt.datetime.fromisoformat(str(raw))
    except ValueError:
        raise ApiError(
            422, "invalid_at", _("Heure invalide (ISO 8601)."), reason="invalid_at"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


@bp.route("/passport/stamps", methods=["POST"])
@operation(
    "Stamp the passport at a filming location: with a position fix (lat, lon, accuracy, at) "
    "or with the code shown on site (code, at)",
    {
        201: ("Stamped", ref("Stamp")),
        200: ("Already stamped: the first stamp", ref("Stamp")),
        404: ("No such location", ref("Error")),
        422: ("Refused, with the reason", ref("StampRefusal")),
        429: ("Too many attempts", ref("StampRefusal")),
    },
    request_body={
        "type": "object",
        "required": ["location", "at"],
        "properties": {
            "location": {"type": "integer"},
            "lat": {"type": "number"},
            "lon": {"type": "number"},
            "accuracy": {"type": "number", "description": "metres (the fix's radius)"},
            "at": {"type": "string", "format": "date-time", "description": "time of the fix"},
            "code": {"type": "string", "description": "the place's code, instead of a fix"},
            "pin": {"type": "string", "description": "a partner's PIN at the place"},
        },
    },
    tags=["passport"],
)
def stamp() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", _("Envoyez un objet JSON."), reason="invalid_body")
    location_id = as_id(body.get("location"))
    location = services.get_location(db.session, location_id) if location_id else None
    if location is None:
        raise ApiError(404, "not_found", _("Lieu de tournage introuvable."))
    at = _time(body)
    # An account's passport, or a guest's (cookie) that moves into an account made later.
    passport = guests.visitor_passport(db.session, create=True)
    assert passport is not None
    db.session.commit()  # the passport stays even if this stamp is refused (attempts count)
    try:
        if "pin" in body:
            result = services.verify_pin_stamp(
                db.session, passport, location, str(body["pin"]), now()
            )
        elif "code" in body:
            result = services.verify_code_stamp(
                db.session, passport, location, str(body["code"]), at, now()
            )
        else:
            lat = _number(body, "lat", -90, 90)
            lon = _number(body, "lon", -180, 180)
            accuracy = _number(body, "accuracy", 0, 100_000)
            result = services.verify_stamp(
                db.session, passport, location, lat, lon, accuracy, at, now()
            )
    except services.StampRefused as refused:
        db.session.rollback()
        error = ApiError(
            refused.status, refused.reason, refused.message, reason=refused.reason, **refused.extra
        )
        if refused.status == 429:
            error.headers["Retry-After"] = str(refused.extra.get("retry_after", 60))
        raise error from None
    db.session.commit()
    return jsonify(stamp_json(result.stamp)), result.status
