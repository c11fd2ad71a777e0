"""The click redirect (/go/<id>) and the impressions API, both honouring audience consent."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re

from flask import Blueprint, current_app, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import NotFound

from core import counters
from core.api import operation, ref
from core.clock import now
from core.consent import audience_consent
from core.db import db
from core.errors import ApiError
from core.extensions import limiter
from core.i18n import gettext as _
from series.episodes import attribution
from series.episodes.hotspot_models import Hotspot

logger = logging.getLogger(__name__)

bp = Blueprint("attribution", __name__)

DEFAULT_IMPRESSION_LIMIT = "120 per minute"
#: Clicks counted per client and minute; more still redirect but are not counted.
DEFAULT_CLICK_COUNT_LIMIT = 30
#: Link previewers and crawlers follow links without anyone clicking.
_ROBOTS = re.compile(r"bot|crawl|spider|slurp|preview|headless|facebookexternalhit", re.I)


def _impression_limit() -> str:
    return str(current_app.config.get("IMPRESSION_RATE_LIMIT", DEFAULT_IMPRESSION_LIMIT))


def _is_robot() -> bool:
    return bool(_ROBOTS.search(request.headers.get("User-Agent", "")))


def _within_click_budget() -> bool:
    """Whether this client's clicks of the current minute may still be counted.

    The client is keyed by a keyed hash of its address, kept two minutes in the counters
    store only: the database never sees it.
    """
    limit = int(current_app.config.get("CLICK_COUNT_LIMIT", DEFAULT_CLICK_COUNT_LIMIT))
    address = request.remote_addr or "unknown"
    digest = hmac.new(
        str(current_app.config["SECRET_KEY"]).encode(), address.encode(), hashlib.sha256
    ).hexdigest()[:24]
    minute = int(now().timestamp() // 60)
    return counters.incr(f"clicks:{digest}:{minute}", ttl=120) <= limit


def _end_read_transaction() -> None:
    """Close the request's reads before counting, so the count's transaction starts by writing.

    On SQLite (WAL, deferred transactions) a transaction that read before another one committed
    cannot write any more ("database is locked" at once); one that starts with its write waits
    for the lock instead. On PostgreSQL this only ends a read-only transaction.
    """
    db.session.commit()


def _hotspot_or_404(hotspot_id: int) -> Hotspot:
    hotspot = attribution.countable_hotspot(db.session, hotspot_id, current_user)
    if hotspot is None:
        raise ApiError(404, "not_found", _("Zone introuvable."))
    return hotspot


@bp.route("/go/<int:hotspot_id>")
def go(hotspot_id: int) -> ResponseReturnValue:
    """Count a click on a hotspot's offer, then send the visitor to the offer's registered URL.

    Only the registered URL can be the target: nothing of the request is read to build it.
    """
    hotspot = attribution.countable_hotspot(db.session, hotspot_id, current_user)
    target = None
    if hotspot is not None and hotspot.offer is not None:
        target = attribution.outbound_url(hotspot.offer, hotspot)
    if hotspot is None or target is None:
        raise NotFound()
    if request.method == "GET" and not _is_robot() and _within_click_budget():
        _end_read_transaction()
        attribution.record_click(db.session, hotspot, audience_consent())
        db.session.commit()
    response = redirect(target, 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/api/v1/hotspots/<int:hotspot_id>/impressions", methods=["POST"])
@operation(
    "Count an impression of a hotspot seen on screen for at least one second",
    {
        202: (
            "Impression received",
            {
                "type": "object",
                "required": ["counted"],
                "properties": {
                    "counted": {
                        "type": "boolean",
                        "description": "false for editors previewing an unreleased episode",
                    }
                },
            },
        ),
        404: ("No such public hotspot", ref("Error")),
        422: ("visible_ms missing, not a number, or under 1000 (too_short)", ref("Error")),
        429: ("Too many impressions from this client", ref("Error")),
    },
    request_body={
        "type": "object",
        "required": ["visible_ms"],
        "properties": {
            "visible_ms": {
                "type": "number",
                "minimum": 0,
                "description": "How long the hotspot was visible, in milliseconds",
            }
        },
    },
    tags=["attribution"],
)
@limiter.limit(_impression_limit)
def impression(hotspot_id: int) -> ResponseReturnValue:
    """Count an impression (anonymously; identified only with audience consent)."""
    hotspot = _hotspot_or_404(hotspot_id)
    body = request.get_json(silent=True)
    visible = body.get("visible_ms") if isinstance(body, dict) else None
    if (
        isinstance(visible, bool)
        or not isinstance(visible, int | float)
        or not math.isfinite(visible)
        or visible < 0
    ):
        raise ApiError(
            422,
            "invalid_visible_ms",
            _("visible_ms doit être une durée en millisecondes."),
            field="visible_ms",
        )
    if visible < attribution.MIN_VISIBLE_MS:
        raise ApiError(
            422,
            "too_short",
            _("Une zone doit rester visible au moins une seconde pour être comptée."),
            field="visible_ms",
        )
    _end_read_transaction()
    counted = attribution.record_impression(db.session, hotspot, audience_consent())
    db.session.commit()
    return jsonify({"counted": counted}), 202
