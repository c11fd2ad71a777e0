"""Editors' JSON API for an episode's hotspots (create, list, replace, delete) and offers."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import selectinload

from core.accounts.auth import roles_required
from core.api import SCHEMAS, operation, query_param, ref
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from series.episodes.hotspot_kinds import KINDS
from series.episodes.hotspot_models import Hotspot, Offer
from series.episodes.hotspots import (
    MAX_KEYFRAMES,
    SHAPES,
    InvalidHotspot,
    create_hotspot,
    hotspot_json,
    update_hotspot,
)
from series.models import Episode

logger = logging.getLogger(__name__)

bp = Blueprint("hotspot_api", __name__, url_prefix="/api/v1")

EDITOR = "editor"
ACTIONS = ("card", "url", "seek", "location")
OFFER_KINDS = ("product", "recipe", "place")

_KEYFRAME = {
    "type": "object",
    "required": ["t", "x", "y", "w", "h"],
    "additionalProperties": False,
    "properties": {
        "t": {"type": "number", "description": "seconds, within [start, end]"},
        "x": {"type": "number", "minimum": 0, "maximum": 100, "description": "% of width"},
        "y": {"type": "number", "minimum": 0, "maximum": 100, "description": "% of height"},
        "w": {
            "type": "number",
            # OpenAPI 3.0: a boolean beside `minimum` (the number form is JSON Schema 2019+).
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 100,
            "description": "x + w ≤ 100",
        },
        "h": {
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 100,
            "description": "y + h ≤ 100",
        },
    },
}

SCHEMAS["HotspotKeyframe"] = _KEYFRAME
SCHEMAS["HotspotInput"] = {
    "type": "object",
    "required": ["kind", "start", "end", "keyframes", "label"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "start": {"type": "number", "minimum": 0, "description": "seconds"},
        "end": {
            "type": "number",
            "description": "seconds, after start and not past the episode's duration",
        },
        "keyframes": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_KEYFRAMES,
            "items": ref("HotspotKeyframe"),
            "description": "distinct times; the box is interpolated linearly between them",
        },
        "shape": {"type": "string", "enum": list(SHAPES), "default": "rect"},
        "label": {"type": "string", "minLength": 1, "maxLength": 120},
        "accessible_label": {"type": "string", "maxLength": 200},
        "pause_on_show": {"type": "boolean", "default": False},
        "action": {
            "type": "string",
            "enum": list(ACTIONS),
            "default": "card",
            "description": "allowed actions depend on the kind (a clue only opens a card)",
        },
        "offer": {
            "type": "integer",
            "nullable": True,
            "description": "id of an offer of a kind the hotspot kind accepts (GET /offers)",
        },
        "action_value": {
            "type": "number",
            "nullable": True,
            "description": "seek: the time to jump to (s); location: a filming location id",
        },
        "data": {
            "type": "object",
            "description": "kind-specific data (a clue's text and points), never public",
        },
    },
}
SCHEMAS["Hotspot"] = {
    "type": "object",
    "required": ["id", "episode", "kind", "start", "end", "keyframes", "shape", "label"],
    "properties": {
        "id": {"type": "integer"},
        "episode": {"type": "integer"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "public": {"type": "boolean", "description": "false for clues: never sent to visitors"},
        "start": {"type": "number"},
        "end": {"type": "number"},
        "keyframes": {"type": "array", "items": ref("HotspotKeyframe")},
        "shape": {"type": "string", "enum": list(SHAPES)},
        "label": {"type": "string"},
        "accessible_label": {"type": "string", "description": "as stored (empty: the label)"},
        "pause_on_show": {"type": "boolean"},
        "action": {"type": "string", "enum": list(ACTIONS)},
        "action_value": {"type": "number", "nullable": True},
        "offer_id": {"type": "integer", "nullable": True},
        "offer": {"type": "object", "nullable": True, "description": "the offer's card"},
        "data": {"type": "object"},
    },
}
SCHEMAS["HotspotError"] = {
    "type": "object",
    "required": ["error", "message", "field"],
    "properties": {
        "error": {
            "type": "string",
            "description": "unknown_kind, invalid_number, end_before_start, after_episode_end, "
            "invalid_keyframes, invalid_keyframe, keyframe_outside_time, keyframe_outside_box, "
            "duplicate_keyframe, invalid_shape, invalid_label, invalid_action, invalid_offer, "
            "offer_without_url, offer_required, invalid_seek",
        },
        "message": {"type": "string"},
        "field": {
            "type": "string",
            "description": "the field at fault: kind, start, end, keyframes, keyframes[2].t…",
        },
    },
}
SCHEMAS["OfferChoice"] = {
    "type": "object",
    "required": ["id", "kind", "title", "partner"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": list(OFFER_KINDS)},
        "title": {"type": "string"},
        "partner": {"type": "string", "description": "the partner's name"},
        "partner_kind": {"type": "string"},
        "merchant": {"type": "string"},
        "has_link": {"type": "boolean", "description": "the offer has a web address"},
    },
}

_COMMON_REFUSALS: dict[int, tuple[str, dict[str, Any] | None]] = {
    401: ("Not signed in", ref("Error")),
    403: ("Not an editor", ref("Error")),
}
_WRITE_REFUSALS: dict[int, tuple[str, dict[str, Any] | None]] = {
    400: ("invalid_json: the body is not a JSON object (or csrf_failed)", ref("Error")),
    422: ("The hotspot is refused: reason code and the field at fault", ref("HotspotError")),
}


def editor_hotspot_json(hotspot: Hotspot) -> dict[str, Any]:
    """A hotspot as editors see it: the public fields plus its kind-specific data."""
    return {
        **hotspot_json(hotspot),
        "episode": hotspot.episode_id,
        "public": KINDS[hotspot.kind].public if hotspot.kind in KINDS else False,
        "accessible_label": hotspot.accessible_label,
        "offer_id": hotspot.offer_id,
        "data": hotspot.data or {},
    }


def offer_choice_json(offer: Offer) -> dict[str, Any]:
    """An offer as the editor's picker lists it."""
    return {
        "id": offer.id,
        "kind": offer.kind,
        "title": offer.title,
        "partner": offer.partner.name,
        "partner_kind": offer.partner.kind,
        "merchant": offer.merchant,
        "has_link": bool(offer.url),
    }


def _episode_or_404(episode_id: int) -> Episode:
    episode = db.session.get(Episode, episode_id)
    if episode is None:
        raise ApiError(404, "not_found", _("Épisode introuvable."))
    return episode


def _hotspot_or_404(hotspot_id: int) -> Hotspot:
    hotspot = db.session.get(Hotspot, hotspot_id)
    if hotspot is None:
        raise ApiError(404, "not_found", _("Zone introuvable."))
    return hotspot


def _body() -> dict[str, Any]:
    """The request's JSON object, or a 400 `invalid_json`."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(
            400, "invalid_json", _("Le corps de la requête doit être un objet JSON valide.")
        )
    # Guards validate() lacks: it looks kinds up in a dict (a list there would be a 500) and
    # takes `true` for offer 1 (a bool is an int in Python).
    if not isinstance(body.get("kind"), str):
        raise InvalidHotspot("unknown_kind", _l("Type de zone inconnu."), "kind")
    if isinstance(body.get("offer"), bool):
        raise InvalidHotspot("invalid_offer", _l("Offre inconnue ou d'un autre type."), "offer")
    return body


# ---------------------------------------------------------------- routes


@bp.route("/episodes/<int:episode_id>/hotspots")
@roles_required(EDITOR)
@operation(
    "Every hotspot of an episode, clues included, with its kind-specific data (editors)",
    {
        200: ("Hotspots in time order", {"type": "array", "items": ref("Hotspot")}),
        **_COMMON_REFUSALS,
        404: ("No such episode", ref("Error")),
    },
    tags=["editor"],
    auth=True,
)
def list_hotspots(episode_id: int) -> ResponseReturnValue:
    """All of an episode's hotspots, as editors see them."""
    episode = _episode_or_404(episode_id)
    hotspots = db.session.scalars(
        sa.select(Hotspot)
        .where(Hotspot.episode_id == episode.id)
        .options(selectinload(Hotspot.offer).selectinload(Offer.partner))
        .order_by(Hotspot.start_s, Hotspot.id)
    ).all()
    return jsonify([editor_hotspot_json(h) for h in hotspots])


@bp.route("/episodes/<int:episode_id>/hotspots", methods=["POST"])
@roles_required(EDITOR)
@operation(
    "Add a hotspot to an episode (editors)",
    {
        201: ("The hotspot created", ref("Hotspot")),
        **_WRITE_REFUSALS,
        **_COMMON_REFUSALS,
        404: ("No such episode", ref("Error")),
    },
    request_body=ref("HotspotInput"),
    tags=["editor"],
    auth=True,
)
def create(episode_id: int) -> ResponseReturnValue:
    """Validate and add a hotspot."""
    episode = _episode_or_404(episode_id)
    hotspot = create_hotspot(db.session, episode, _body())
    db.session.commit()
    logger.info("user %s added hotspot %s to episode %s", current_user.id, hotspot.id, episode.id)
    response = jsonify(editor_hotspot_json(hotspot))
    response.status_code = 201
    response.headers["Location"] = url_for("hotspot_api.update", hotspot_id=hotspot.id)
    return response


@bp.route("/hotspots/<int:hotspot_id>", methods=["PUT"])
@roles_required(EDITOR)
@operation(
    "Replace every field of a hotspot (editors)",
    {
        200: ("The hotspot as saved", ref("Hotspot")),
        **_WRITE_REFUSALS,
        **_COMMON_REFUSALS,
        404: ("No such hotspot", ref("Error")),
    },
    request_body=ref("HotspotInput"),
    tags=["editor"],
    auth=True,
)
def update(hotspot_id: int) -> ResponseReturnValue:
    """Validate and replace a hotspot's fields."""
    hotspot = _hotspot_or_404(hotspot_id)
    update_hotspot(db.session, hotspot, _body())
    db.session.commit()
    logger.info("user %s updated hotspot %s", current_user.id, hotspot.id)
    return jsonify(editor_hotspot_json(hotspot))


@bp.route("/hotspots/<int:hotspot_id>", methods=["DELETE"])
@roles_required(EDITOR)
@operation(
    "Delete a hotspot and its audience figures (editors)",
    {
        204: ("Deleted", None),
        **_COMMON_REFUSALS,
        404: ("No such hotspot", ref("Error")),
    },
    tags=["editor"],
    auth=True,
)
def delete(hotspot_id: int) -> ResponseReturnValue:
    """Remove a hotspot."""
    hotspot = _hotspot_or_404(hotspot_id)
    db.session.delete(hotspot)
    db.session.commit()
    logger.info("user %s deleted hotspot %s", current_user.id, hotspot_id)
    return Response(status=204)


@bp.route("/offers")
@roles_required(EDITOR)
@operation(
    "Partners' offers a hotspot may point to, with the partner's name (editors)",
    {
        200: ("Offers by kind, then title", {"type": "array", "items": ref("OfferChoice")}),
        **_COMMON_REFUSALS,
    },
    parameters=[
        query_param(
            "kind",
            {"type": "string", "enum": list(OFFER_KINDS)},
            "only offers of this kind (repeat the parameter for several)",
        )
    ],
    tags=["editor"],
    auth=True,
)
def offers() -> ResponseReturnValue:
    """Offers to link a hotspot to."""
    query = sa.select(Offer).options(selectinload(Offer.partner)).order_by(Offer.kind, Offer.title)
    kinds = request.args.getlist("kind")
    if kinds:
        query = query.where(Offer.kind.in_(kinds))
    return jsonify([offer_choice_json(o) for o in db.session.scalars(query)])
