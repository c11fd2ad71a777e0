"""JSON API of the clue game: claims, the examine list, leaderboards, accusations (CONTRACT.md)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.accounts.auth import csrf_exempt
from core.api import SCHEMAS, operation, query_param, ref
from core.clock import now
from core.db import db, int_arg
from core.errors import ApiError
from core.extensions import limiter
from core.i18n import gettext as _
from series import services as catalogue
from series.clues import accusation, leaderboard, players, services
from series.clues.models import Player
from series.models import Episode, Season

logger = logging.getLogger(__name__)

bp = Blueprint("clues_api", __name__, url_prefix="/api/v1")

#: A backstop per network address for guests (who could drop their cookie to start over);
#: generous, as many phones share one address behind a carrier's NAT.
GUEST_CLAIMS_PER_ADDRESS = "120 per minute"

SCHEMAS["FoundClue"] = {
    "type": "object",
    "required": ["id", "title", "text", "points", "rank"],
    "properties": {
        "id": {"type": "integer"},
        "episode": {"type": "integer"},
        "title": {"type": "string"},
        "text": {"type": "string"},
        "image": {"type": "string", "nullable": True},
        "base_points": {"type": "integer"},
        "points": {"type": "integer", "description": "earned by this find"},
        "rank": {"type": "integer", "description": "1 for the first finder"},
        "first": {"type": "boolean"},
        "t": {"type": "number"},
        "found_at": {"type": "string", "format": "date-time"},
    },
}
SCHEMAS["ClaimResult"] = {
    "type": "object",
    "required": ["found"],
    "properties": {
        "found": {"type": "boolean"},
        "clue": ref("FoundClue"),
        "already": {"type": "boolean", "description": "found before: nothing new written"},
        "preview": {"type": "boolean", "description": "an editor's try: judged, not recorded"},
    },
}
SCHEMAS["ClaimRefusal"] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "string",
            "description": "invalid_body, invalid_t, invalid_x, invalid_y, time_outside_episode, "
            "point_outside_picture, too_fast, too_many_wrong_claims",
        },
        "message": {"type": "string"},
        "field": {"type": "string"},
        "retry_after": {"type": "integer", "description": "seconds before trying again"},
    },
}
SCHEMAS["LeaderboardEntry"] = {
    "type": "object",
    "required": ["rank", "player", "points", "finds"],
    "properties": {
        "rank": {"type": "integer"},
        "player": {"type": "string", "description": "public name"},
        "points": {"type": "integer"},
        "finds": {"type": "integer"},
    },
}
SCHEMAS["Receipt"] = {
    "type": "object",
    "required": ["season", "suspect", "motive", "place", "nonce", "commitment"],
    "properties": {
        "season": {"type": "integer"},
        "suspect": {"type": "string"},
        "motive": {"type": "string"},
        "place": {"type": "string"},
        "nonce": {"type": "string"},
        "commitment": {"type": "string", "description": "SHA-256 hex, see formula"},
        "submitted_at": {"type": "string", "format": "date-time"},
        "formula": {"type": "string"},
    },
}

_CLAIM_REFUSALS: dict[int, tuple[str, dict[str, Any] | None]] = {
    404: ("No such episode, or not released yet", ref("Error")),
    422: ("Claim refused: reason code", ref("ClaimRefusal")),
    429: ("Too many wrong claims this minute (retry_after, Retry-After)", ref("ClaimRefusal")),
}


def _episode_or_404(episode_id: int) -> Episode:
    episode = catalogue.get_visible_episode(db.session, episode_id, current_user, now())
    if episode is None:
        raise ApiError(404, "not_found", _("Épisode introuvable."))
    return episode


def _player_for(episode: Episode) -> Player | None:
    """The claiming player; None for an editor trying an unreleased episode (not recorded)."""
    if not episode.is_released(now()):
        return None
    return players.current_player(create=True)


def _signed_in() -> bool:
    return bool(current_user.is_authenticated)


def _claim_answer(
    result: services.ClaimResult, episode: Episode, player: Player | None
) -> ResponseReturnValue:
    if player is None:
        body: dict[str, Any] = {"found": result.found, "preview": True}
        if result.preview_clue is not None:
            body["clue"] = services.clue_json(result.preview_clue)
        return jsonify(body)
    db.session.commit()
    if result.find is None:
        return jsonify({"found": False})
    if not result.already:
        leaderboard.changed(episode.season.number)
    return jsonify(
        {
            "found": True,
            "already": result.already,
            "clue": services.clue_json(result.find.hotspot, result.find),
        }
    )


def _judge(episode: Episode, judge: Any) -> ResponseReturnValue:
    player = _player_for(episode)
    try:
        result = judge(db.session, player, episode, request.get_json(silent=True), now())
    except services.ClaimRefused:
        # Refusals come before any find is written: what stays is the viewing it noted.
        db.session.commit()
        raise
    return _claim_answer(result, episode, player)


@bp.route("/episodes/<int:episode_id>/clue-claims", methods=["POST"])
@operation(
    "Claim a clue: the time (s) and the point (% of the picture) where the player clicked",
    {200: ("Judged: found or not", ref("ClaimResult"))} | _CLAIM_REFUSALS,
    request_body={
        "type": "object",
        "required": ["t", "x", "y"],
        "properties": {
            "t": {"type": "number", "minimum": 0, "description": "seconds into the episode"},
            "x": {"type": "number", "minimum": 0, "maximum": 100},
            "y": {"type": "number", "minimum": 0, "maximum": 100},
            "viewing": {"type": "string", "description": "the ticket of POST …/viewings"},
        },
    },
    tags=["clues"],
)
@limiter.limit(GUEST_CLAIMS_PER_ADDRESS, exempt_when=_signed_in)
def claim(episode_id: int) -> ResponseReturnValue:
    """Judge a click on the picture."""
    return _judge(_episode_or_404(episode_id), services.claim_clue)


@bp.route("/episodes/<int:episode_id>/viewings", methods=["POST"])
@operation(
    "Start watching an episode: claims are then judged against the time since",
    {
        200: (
            "When the caller first opened the episode; a visitor who has not played yet gets a "
            "signed ticket to send with their first claim instead of a cookie",
            {
                "type": "object",
                "properties": {
                    "opened_at": {"type": "string", "nullable": True},
                    "ticket": {"type": "string"},
                },
            },
        ),
        404: ("No such episode, or not released yet", ref("Error")),
    },
    tags=["clues"],
)
@limiter.limit(GUEST_CLAIMS_PER_ADDRESS, exempt_when=_signed_in)
def viewing(episode_id: int) -> ResponseReturnValue:
    """Note the opening: for a player in the database; for anyone else, in a signed ticket."""
    episode = _episode_or_404(episode_id)
    current = now()
    if not episode.is_released(current):
        return jsonify({"opened_at": None})
    player = players.current_player(create=current_user.is_authenticated)
    if player is None:
        # Watching is not playing: no cookie and no row until the first claim.
        ticket = services.viewing_ticket(episode, current)
        return jsonify({"opened_at": current.isoformat(), "ticket": ticket})
    opened = services.record_viewing(db.session, player, episode, current)
    db.session.commit()
    return jsonify({"opened_at": opened.isoformat()})


@bp.route("/episodes/<int:episode_id>/scene")
@operation(
    "Examine the scene: the regions of the frame at t (clues among them, never told apart)",
    {
        200: (
            "Regions, by label, then the nine zones of the picture",
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["region", "label"],
                    "properties": {"region": {"type": "string"}, "label": {"type": "string"}},
                },
            },
        ),
        404: ("No such episode, or not released yet", ref("Error")),
        422: ("t missing or outside the episode", ref("ClaimRefusal")),
    },
    parameters=[query_param("t", {"type": "number"}, "seconds into the episode")],
    tags=["clues"],
)
def scene(episode_id: int) -> ResponseReturnValue:
    episode = _episode_or_404(episode_id)
    t = services.parse_time(episode, request.args.get("t", type=float))
    return jsonify(services.scene_regions(db.session, episode, t))


@bp.route("/episodes/<int:episode_id>/scene-claims", methods=["POST"])
@operation(
    "Claim a clue by choosing a region of the examine list",
    {200: ("Judged: found or not", ref("ClaimResult"))} | _CLAIM_REFUSALS,
    request_body={
        "type": "object",
        "required": ["t", "region"],
        "properties": {
            "t": {"type": "number", "minimum": 0},
            "region": {"type": "string"},
            "viewing": {"type": "string", "description": "the ticket of POST …/viewings"},
        },
    },
    tags=["clues"],
)
@limiter.limit(GUEST_CLAIMS_PER_ADDRESS, exempt_when=_signed_in)
def scene_claim(episode_id: int) -> ResponseReturnValue:
    return _judge(_episode_or_404(episode_id), services.claim_region)


@bp.route("/episodes/<int:episode_id>/my-clues")
@operation(
    "The clues the caller found in an episode",
    {
        200: ("Found clues, by time", {"type": "array", "items": ref("FoundClue")}),
        404: ("No such episode, or not released yet", ref("Error")),
    },
    tags=["clues"],
)
def my_clues(episode_id: int) -> ResponseReturnValue:
    episode = _episode_or_404(episode_id)
    player = players.current_player()
    finds = services.finds_of(db.session, player, episode.id) if player else []
    response = jsonify([services.clue_json(f.hotspot, f) for f in finds])
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _scope() -> leaderboard.Scope:
    episode_id = request.args.get("episode", type=int_arg)
    season_number = request.args.get("season", type=int_arg)
    if episode_id is not None:
        _episode_or_404(episode_id)
        return leaderboard.Scope("episode", episode_id)
    if season_number is not None:
        if catalogue.get_season(db.session, season_number) is None:
            raise ApiError(404, "not_found", _("Saison introuvable."))
        return leaderboard.Scope("season", season_number)
    return leaderboard.OVERALL


_SCOPE_PARAMS = [
    query_param("season", {"type": "integer"}, "a season's ranking"),
    query_param("episode", {"type": "integer"}, "an episode's ranking"),
]


@bp.route("/leaderboard")
@operation(
    "Ranked players with points: overall, or of a season or an episode",
    {
        200: ("Players by rank", {"type": "array", "items": ref("LeaderboardEntry")}),
        404: ("No such season or episode", ref("Error")),
    },
    parameters=[
        *_SCOPE_PARAMS,
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
        query_param("offset", {"type": "integer", "minimum": 0}),
    ],
    tags=["clues"],
)
def leaderboard_list() -> ResponseReturnValue:
    scope = _scope()
    limit = min(max(request.args.get("limit", 50, type=int_arg), 1), 200)
    offset = max(request.args.get("offset", 0, type=int_arg), 0)
    rows = leaderboard.standings(db.session, scope, now())
    response = jsonify(leaderboard.public_entries(rows, limit, offset))
    response.headers["X-Total-Count"] = str(len(rows))
    return response


@bp.route("/leaderboard/me")
@operation(
    "The caller's own standing (never cached for anyone else)",
    {
        200: (
            "Rank, points and the number of ranked players; null when not ranked",
            {"type": "object", "nullable": True},
        ),
        404: ("No such season or episode", ref("Error")),
    },
    parameters=_SCOPE_PARAMS,
    tags=["clues"],
)
def leaderboard_me() -> ResponseReturnValue:
    scope = _scope()
    rows = leaderboard.standings(db.session, scope, now())
    response = jsonify(leaderboard.standing_of(rows, players.current_player()))
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- Accusation ----


def _investigation(number: int) -> tuple[Season, Any]:
    season = catalogue.get_season(db.session, number)
    found = accusation.investigation_of(db.session, season) if season else None
    if season is None or found is None or not season.episodes:
        raise ApiError(404, "not_found", _("Pas d'enquête pour cette saison."))
    first = min(season.episodes, key=lambda e: e.number)
    if not first.is_released(now()) and not catalogue.can_see_unreleased(current_user):
        raise ApiError(404, "not_found", _("Pas d'enquête pour cette saison."))
    return season, found


@bp.route("/seasons/<int:number>/investigation")
@operation(
    "The season's investigation: what to choose from, the deadline, the sealed solution",
    {
        200: ("The investigation", {"type": "object"}),
        404: ("No investigation for this season (or not started)", ref("Error")),
    },
    tags=["clues"],
)
def investigation(number: int) -> ResponseReturnValue:
    season, found = _investigation(number)
    deadline = accusation.deadline_of(found)
    return jsonify(
        {
            "season": season.number,
            "suspects": accusation.options(found, "suspect"),
            "motives": accusation.options(found, "motive"),
            "places": accusation.options(found, "place"),
            "deadline": deadline.isoformat() if deadline else None,
            "revealed": accusation.is_revealed(found, now()),
            "solution_commitment": found.solution_commitment,
        }
    )


@bp.route("/seasons/<int:number>/accusations", methods=["POST"])
@operation(
    "Seal the caller's one accusation for the season",
    {
        201: ("Sealed: keep the receipt", ref("Receipt")),
        403: ("not_open or deadline_passed", ref("Error")),
        404: ("No investigation for this season", ref("Error")),
        409: ("already_accused: one accusation per player, sealed", ref("Error")),
        422: ("invalid_choice", ref("Error")),
    },
    request_body={
        "type": "object",
        "required": ["suspect", "motive", "place"],
        "properties": {
            "suspect": {"type": "string"},
            "motive": {"type": "string"},
            "place": {"type": "string"},
        },
    },
    tags=["clues"],
)
def accuse(number: int) -> ResponseReturnValue:
    season, found = _investigation(number)
    player = players.current_player(create=True)
    assert player is not None
    sealed = accusation.submit_accusation(
        db.session, found, player, request.get_json(silent=True), now()
    )
    db.session.commit()
    response = jsonify(accusation.receipt(sealed, season.number))
    response.headers["Cache-Control"] = "private, no-store"
    return response, 201


@bp.route("/seasons/<int:number>/accusations")
@operation(
    "The public ledger: commitments and their hash chain; openings after the reveal",
    {
        200: ("The ledger", {"type": "object"}),
        404: ("No investigation for this season", ref("Error")),
    },
    tags=["clues"],
)
def accusations(number: int) -> ResponseReturnValue:
    _season, found = _investigation(number)
    return jsonify(accusation.ledger(db.session, found, now()))


@bp.route("/accusations/verify", methods=["POST"])
@operation(
    "Check a receipt: its seal, and whether the season's ledger holds it",
    {
        200: (
            "valid: the commitment matches the choice; included: it is in the ledger",
            {
                "type": "object",
                "properties": {
                    "valid": {"type": "boolean"},
                    "included": {"type": "boolean"},
                    "points": {"type": "integer", "nullable": True},
                },
            },
        )
    },
    request_body=ref("Receipt"),
    tags=["clues"],
)
@csrf_exempt
def verify() -> ResponseReturnValue:
    data = request.get_json(silent=True)
    valid = accusation.verify_receipt(data)
    included, points = False, None
    if valid:
        assert isinstance(data, dict)
        season = catalogue.get_season(db.session, data["season"])
        found = accusation.investigation_of(db.session, season) if season else None
        sealed = accusation.by_commitment(db.session, found, data["commitment"]) if found else None
        if found is not None and sealed is not None:
            included, points = True, accusation.points_of(sealed, found, now())
    return jsonify({"valid": valid, "included": included, "points": points})
