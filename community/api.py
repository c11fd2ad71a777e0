"""JSON API of the tips board (CONTRACT.md): find tips, post one, and the small actions on a
tip (utile, still true, flag, comment)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from community import moderation, search, services, text
from community.models import FlagReason, Tip, TipCategory, TipStatus
from core.accounts.auth import login_required
from core.api import SCHEMAS, operation, query_param, ref
from core.clock import now
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from series.models import DEPARTEMENTS

bp = Blueprint("community_api", __name__, url_prefix="/api/v1")

SCHEMAS["TipPhoto"] = {
    "type": "object",
    "required": ["url", "thumbnail", "width", "height", "alt"],
    "properties": {
        "url": {"type": "string"},
        "thumbnail": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "alt": {"type": "string"},
    },
}
SCHEMAS["Tip"] = {
    "type": "object",
    "required": ["id", "title", "category", "status", "lat", "lon", "departement", "distance_m"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "text": {"type": "string", "description": "the Markdown subset as typed"},
        "html": {"type": "string", "description": "the text rendered and sanitised"},
        "category": {"type": "string", "enum": [c.value for c in TipCategory]},
        "status": {"type": "string", "enum": [s.value for s in TipStatus]},
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "place": {"type": "string"},
        "commune": {"type": "string"},
        "departement": {"type": "string"},
        "episode": {"type": "integer", "nullable": True},
        "location": {"type": "integer", "nullable": True},
        "starts_on": {"type": "string", "format": "date", "nullable": True},
        "ends_on": {"type": "string", "format": "date", "nullable": True},
        "language": {"type": "string"},
        "author": {"type": "string", "description": "display name, or empty once anonymised"},
        "author_badge": {"type": "string", "description": "ambassador, guest_star or empty"},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "confirmed_at": {"type": "string", "format": "date-time"},
        "stale": {"type": "boolean", "description": "not confirmed for a year"},
        "helpful": {"type": "integer"},
        "comments": {"type": "integer"},
        "photos": {"type": "array", "items": ref("TipPhoto")},
        "distance_m": {"type": "integer", "nullable": True},
        "url": {"type": "string"},
    },
}
SCHEMAS["TipInput"] = {
    "type": "object",
    "required": ["title", "body", "category", "lat", "lon"],
    "properties": {
        "title": {"type": "string", "minLength": 5, "maxLength": 120},
        "body": {"type": "string", "description": "a small Markdown subset"},
        "category": {"type": "string", "enum": [c.value for c in TipCategory]},
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "address": {"type": "string", "description": "shown as the place; lat/lon still needed"},
        "episode": {"type": "integer"},
        "location": {"type": "integer"},
        "starts_on": {"type": "string", "format": "date"},
        "ends_on": {"type": "string", "format": "date"},
        "language": {"type": "string"},
    },
}


def tip_json(tip: Tip, distance_m: int | None = None) -> dict[str, Any]:
    """A tip's public fields (the page, the API and the map share them)."""
    at = now()
    author = tip.author
    return {
        "id": tip.id,
        "title": tip.title,
        "text": tip.body,
        "html": text.render_text(tip.body),
        "category": tip.category.value,
        "status": tip.status.value,
        "lat": tip.lat,
        "lon": tip.lon,
        "place": tip.place_label,
        "commune": tip.commune,
        "departement": tip.departement_code,
        "episode": tip.episode_id,
        "location": tip.location_id,
        "starts_on": tip.starts_on.isoformat() if tip.starts_on else None,
        "ends_on": tip.ends_on.isoformat() if tip.ends_on else None,
        "language": tip.language,
        "author": author.display_name if author is not None else "",
        "author_badge": moderation.badge_of(db.session, tip.author_id),
        "published_at": tip.published_at.isoformat() if tip.published_at else None,
        "confirmed_at": tip.confirmed_at.isoformat(),
        "stale": services.is_stale(tip, at),
        "helpful": tip.helpful_count,
        "comments": tip.comment_count,
        "photos": [
            {
                "url": url_for("community.photo", tip_id=tip.id, name=p.path),
                "thumbnail": url_for("community.photo", tip_id=tip.id, name=p.thumb_path),
                "width": p.width,
                "height": p.height,
                "alt": p.alt or tip.title,
            }
            for p in tip.photos
        ],
        "distance_m": distance_m,
        "url": url_for("community.tip", tip_id=tip.id),
    }


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_" + field, message, reason="invalid_" + field)


def search_args(args: Any) -> dict[str, Any]:
    """The filters of a tips query (API or page), checked."""
    filters: dict[str, Any] = {"near": None, "radius_km": None}
    near = (args.get("near") or "").strip()
    if near:
        try:
            lat_text, lon_text = near.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise _bad("near", _("« near » attend LAT,LON (par exemple 46.58,0.34).")) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise _bad("near", _("Coordonnées hors limites."))
        filters["near"] = (lat, lon)
    radius = args.get("radius_km")
    if radius not in (None, ""):
        try:
            filters["radius_km"] = float(radius)
        except ValueError:
            raise _bad("radius_km", _("Rayon invalide (en km).")) from None
        if not 0 < filters["radius_km"] <= search.MAX_RADIUS_KM:
            raise _bad("radius_km", _("Un rayon de 0 à %(n)s km.", n=int(search.MAX_RADIUS_KM)))
    category = args.get("category") or None
    if category is not None:
        try:
            category = TipCategory(category)
        except ValueError:
            raise _bad("category", _("Catégorie inconnue.")) from None
    departement = args.get("departement") or None
    if departement is not None and departement not in DEPARTEMENTS:
        raise _bad("departement", _("Département inconnu."))
    on_date = args.get("date") or None
    if on_date is not None:
        try:
            on_date = dt.date.fromisoformat(on_date)
        except ValueError:
            raise _bad("date", _("Date invalide (AAAA-MM-JJ).")) from None
    q = (args.get("q") or "").strip()[:200] or None
    return filters | {"q": q, "category": category, "departement": departement, "on_date": on_date}


def _limit(args: Any) -> tuple[int, int]:
    try:
        limit = min(max(int(args.get("limit", 20)), 1), 100)
        offset = min(max(int(args.get("offset", 0)), 0), 10_000)
    except ValueError:
        raise _bad("limit", _("« limit » et « offset » sont des nombres.")) from None
    return limit, offset


@bp.route("/tips")
@operation(
    "Published tips: nearest first with `near`, full-text with `q`, filtered",
    {200: ("Tips", {"type": "array", "items": ref("Tip")}), 422: ("Bad filter", ref("Error"))},
    parameters=[
        query_param("near", {"type": "string"}, "LAT,LON: nearest first, with distance_m"),
        query_param("radius_km", {"type": "number"}, "with near (default 10, at most 100)"),
        query_param("q", {"type": "string"}, "words to find (French stemming, no accents needed)"),
        query_param("category", {"type": "string", "enum": [c.value for c in TipCategory]}),
        query_param("departement", {"type": "string"}, "a département code (86)"),
        query_param("date", {"type": "string", "format": "date"}, "events on that day"),
        query_param("limit", {"type": "integer"}),
        query_param("offset", {"type": "integer"}),
    ],
    tags=["community"],
)
def list_tips() -> ResponseReturnValue:
    filters = search_args(request.args)
    limit, offset = _limit(request.args)
    try:
        found = search.find_tips(
            db.session, today=now().date(), limit=limit, offset=offset, **filters
        )
    except ValueError as error:
        raise _bad("query", str(error)) from None
    return jsonify([tip_json(f.tip, f.distance_m) for f in found])


@bp.route("/tips/<int:tip_id>")
@operation(
    "One tip (published; its author and moderators also see it before)",
    {200: ("The tip", ref("Tip")), 404: ("No such tip", ref("Error"))},
    tags=["community"],
)
def get_tip(tip_id: int) -> ResponseReturnValue:
    tip = db.session.get(Tip, tip_id)
    if tip is None or not services.visible_to(tip, current_user):
        raise ApiError(404, "not_found", _("Bon plan introuvable."))
    return jsonify(tip_json(tip))


@bp.route("/tips", methods=["POST"])
@login_required
@operation(
    "Post a tip: published at once (201, status published) or kept for review (201, status "
    "pending_review) for a new account",
    {
        201: ("Created", ref("Tip")),
        401: ("Not signed in", ref("Error")),
        403: ("Silenced or banned", ref("Error")),
        422: ("Invalid, with a message per field", ref("Error")),
        429: ("Too many tips for now", ref("Error")),
    },
    request_body=ref("TipInput"),
    tags=["community"],
    auth=True,
)
def post_tip() -> ResponseReturnValue:
    if request.mimetype == "multipart/form-data":
        raw: dict[str, Any] = request.form.to_dict()
        uploads = [
            services.Upload(
                f.read(services.photos.MAX_PHOTO_BYTES + 1), request.form.get(f"alt{i}", "")
            )
            for i, f in enumerate(request.files.getlist("photos"))
            if f.filename
        ]
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_body", _("Envoyez un objet JSON."))
        raw, uploads = body, []
    data = services.clean_tip(raw, now().date())
    tip = services.create_tip(db.session, current_user, data, now(), uploads)
    db.session.commit()
    return jsonify(tip_json(tip)), 201


def _visible_tip(tip_id: int) -> Tip:
    tip = db.session.get(Tip, tip_id)
    if tip is None or not services.visible_to(tip, current_user):
        raise ApiError(404, "not_found", _("Bon plan introuvable."))
    return tip


@bp.route("/tips/<int:tip_id>/helpful", methods=["POST"])
@login_required
@operation(
    "Mark a tip useful (once per account)",
    {200: ("Counted or already counted", {"type": "object"}), 404: ("No such tip", ref("Error"))},
    tags=["community"],
    auth=True,
)
def helpful(tip_id: int) -> ResponseReturnValue:
    tip = _visible_tip(tip_id)
    counted = services.vote_helpful(db.session, tip, current_user)
    db.session.commit()
    return jsonify({"helpful": tip.helpful_count, "counted": counted})


@bp.route("/tips/<int:tip_id>/confirmations", methods=["POST"])
@login_required
@operation(
    "Confirm a tip is still true",
    {200: ("Confirmed", {"type": "object"}), 404: ("No such tip", ref("Error"))},
    tags=["community"],
    auth=True,
)
def confirm(tip_id: int) -> ResponseReturnValue:
    tip = _visible_tip(tip_id)
    services.confirm(db.session, tip, current_user, now())
    db.session.commit()
    return jsonify({"confirmed_at": tip.confirmed_at.isoformat(), "stale": False})


@bp.route("/tips/<int:tip_id>/flags", methods=["POST"])
@login_required
@operation(
    "Flag a tip (spam, off_topic, inappropriate, outdated, wrong_place)",
    {
        200: ("Flag recorded (or already there)", {"type": "object"}),
        400: ("The body is not a JSON object", ref("Error")),
        403: ("The caller's own tip", ref("Error")),
        404: ("No such tip", ref("Error")),
        422: ("Unknown reason", ref("Error")),
        429: ("Too many flags", ref("Error")),
    },
    request_body={
        "type": "object",
        "required": ["reason"],
        "properties": {
            "reason": {"type": "string", "enum": [r.value for r in FlagReason]},
            "note": {"type": "string"},
        },
    },
    tags=["community"],
    auth=True,
)
def flag(tip_id: int) -> ResponseReturnValue:
    tip = _visible_tip(tip_id)
    body = request.get_json(silent=True)
    if body is None:
        body = {}  # no body: the reason is missing (422)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", _("Envoyez un objet JSON."), reason="invalid_body")
    try:
        reason = FlagReason(str(body.get("reason", "")))
    except ValueError:
        raise _bad("reason", _("Motif de signalement inconnu.")) from None
    result = moderation.flag_tip(
        db.session, tip, current_user, reason, str(body.get("note", ""))[:300], now()
    )
    db.session.commit()
    return jsonify(result.as_json())
