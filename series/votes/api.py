"""JSON API of polls (CONTRACT.md): list, read, vote, audit; editors create, open and close."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.accounts.auth import csrf_exempt, login_required, roles_required
from core.api import SCHEMAS, operation, query_param, ref
from core.clock import now
from core.db import as_id, db, int_arg
from core.errors import ApiError
from core.i18n import gettext as _
from series import services as catalogue
from series.models import Episode
from series.votes import audit, endings, services, tally
from series.votes.models import Poll, PollScope, ResultsShown

logger = logging.getLogger(__name__)

bp = Blueprint("votes_api", __name__, url_prefix="/api/v1")

SCHEMAS["PollOption"] = {
    "type": "object",
    "required": ["id", "label", "position"],
    "properties": {
        "id": {"type": "integer"},
        "label": {"type": "string"},
        "description": {"type": "string"},
        "position": {"type": "integer"},
        "has_ending": {"type": "boolean", "description": "carries an alternative ending"},
        "ending_url": {
            "type": "string",
            "nullable": True,
            "description": "the ending's video, once the caller may watch it",
        },
    },
}
SCHEMAS["Poll"] = {
    "type": "object",
    "required": ["id", "question", "state", "options"],
    "properties": {
        "id": {"type": "integer"},
        "question": {"type": "string"},
        "description": {"type": "string"},
        "scope": {"type": "string", "enum": [s.value for s in PollScope]},
        "episode": {"type": "integer", "nullable": True},
        "season": {"type": "integer", "nullable": True, "description": "season number"},
        "is_ending": {"type": "boolean"},
        "state": {"type": "string", "enum": [s.value for s in services.PollState]},
        "opens_at": {"type": "string", "format": "date-time", "nullable": True},
        "closes_at": {"type": "string", "format": "date-time", "nullable": True},
        "results": {"type": "string", "enum": [r.value for r in ResultsShown]},
        "options": {"type": "array", "items": ref("PollOption")},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "total": {"type": "integer"},
        "winner": {"type": "integer", "nullable": True},
        "my_vote": {"type": "object", "nullable": True},
    },
}
SCHEMAS["Vote"] = {
    "type": "object",
    "required": ["poll", "option", "key", "receipt"],
    "properties": {
        "poll": {"type": "integer"},
        "option": {"type": "integer"},
        "key": {"type": "string"},
        "receipt": {"type": "string", "description": "keep it to check the vote was counted"},
        "cast_at": {"type": "string", "format": "date-time"},
        "replayed": {"type": "boolean", "description": "the same key again: nothing new"},
    },
}
SCHEMAS["VoteRefusal"] = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {
            "type": "string",
            "description": "already_voted, poll_closed, poll_not_open, invalid_option, "
            "invalid_key, key_reused",
        },
        "message": {"type": "string"},
    },
}
_POLL_ID: dict[int, tuple[str, dict[str, Any] | None]] = {
    404: ("No such poll, or not visible to the caller", ref("Error"))
}


def poll_json(poll: Poll, at: dt.datetime) -> dict[str, Any]:
    """What the caller may see of a poll."""
    state = services.state_of(poll, at)
    winner, watchable = services.ending_access(db.session, poll, current_user, at)
    show_winner = poll.is_ending or services.results_public(poll, at)
    body: dict[str, Any] = {
        "id": poll.id,
        "question": poll.question,
        "description": poll.description,
        "scope": poll.scope.value,
        "episode": poll.episode_id,
        "season": poll.season.number if poll.season is not None else None,
        "is_ending": poll.is_ending,
        "state": state.value,
        "opens_at": poll.opens_at.isoformat() if poll.opens_at else None,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "results": poll.results.value,
        "options": [
            {
                "id": o.id,
                "label": o.label,
                "description": o.description,
                "position": o.position,
                "has_ending": o.ending is not None,
                "ending_url": endings.ending_url(o.ending)
                if o.id in watchable and o.ending
                else None,
            }
            for o in poll.options
        ],
        "winner": winner.id if winner is not None and show_winner else None,
    }
    if services.results_public(poll, at) or services.is_editor(current_user):
        counts = tally.counts_for(db.session, poll, at)
        body["counts"] = {str(k): v for k, v in counts.items()}
        body["total"] = sum(counts.values())
    ballot = services.ballot_of(db.session, poll, current_user)
    body["my_vote"] = (
        {
            "option": ballot.option_id,
            "receipt": services.receipt_of(poll, ballot.user_id, ballot.key),
        }
        if ballot is not None
        else None
    )
    return body


def _visible_poll(poll_id: int) -> Poll:
    poll = services.get_visible_poll(db.session, poll_id, current_user, now())
    if poll is None:
        raise ApiError(404, "not_found", _("Ce sondage n'existe pas ou n'est pas encore public."))
    return poll


@bp.route("/polls")
@operation(
    "Polls visible to the caller, newest first",
    {200: ("Polls", {"type": "array", "items": ref("Poll")}), 422: ("Bad filter", ref("Error"))},
    parameters=[
        query_param("state", {"type": "string", "enum": [s.value for s in services.PollState]}),
        query_param("episode", {"type": "integer"}, "an episode's polls"),
        query_param("season", {"type": "integer"}, "a season's polls (season number)"),
    ],
    tags=["polls"],
)
def list_polls() -> ResponseReturnValue:
    at = now()
    raw_state = request.args.get("state")
    try:
        state = services.PollState(raw_state) if raw_state else None
    except ValueError:
        raise ApiError(422, "invalid_state", _("État inconnu."), field="state") from None
    episode_id = request.args.get("episode", type=int_arg)
    season_id = None
    if (number := request.args.get("season", type=int_arg)) is not None:
        season = catalogue.get_season(db.session, number)
        season_id = season.id if season is not None else -1
    polls = services.visible_polls(db.session, current_user, at, state, episode_id, season_id)
    return jsonify([poll_json(p, at) for p in polls])


@bp.route("/polls/<int:poll_id>")
@operation(
    "A poll: question, options, state, and the tally when it is visible",
    {200: ("The poll", ref("Poll"))} | _POLL_ID,
    tags=["polls"],
)
def get_poll(poll_id: int) -> ResponseReturnValue:
    return jsonify(poll_json(_visible_poll(poll_id), now()))


@bp.route("/polls/<int:poll_id>/votes", methods=["POST"])
@login_required
@operation(
    "Vote once: the same key again answers 200 with the first answer",
    {
        201: ("Counted", ref("Vote")),
        200: ("The same key replayed: the vote as first recorded", ref("Vote")),
        401: ("Not signed in", ref("Error")),
        403: ("Outside the voting window", ref("VoteRefusal")),
        409: ("Already voted with another key", ref("VoteRefusal")),
        422: ("Bad option or key", ref("VoteRefusal")),
    }
    | _POLL_ID,
    request_body={
        "type": "object",
        "required": ["option", "key"],
        "properties": {"option": {"type": "integer"}, "key": {"type": "string", "format": "uuid"}},
    },
    tags=["polls"],
    auth=True,
)
def vote(poll_id: int) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", _('Envoyez {"option": id, "key": uuid}.'))
    status, answer = vote_and_count(poll_id, body.get("option"), body.get("key"))
    return jsonify(answer), status


def vote_and_count(poll_id: int, option: object, key: object) -> tuple[int, dict[str, Any]]:
    """The signed-in caller's vote, committed before the answer (HTTP and Socket.IO)."""
    voter = current_user
    at = now()
    rules = services.rules_of(db.session, poll_id)
    if rules is None or not services.may_vote_in(rules, voter, at):
        raise ApiError(404, "not_found", _("Ce sondage n'existe pas ou n'est pas encore public."))
    try:
        result = services.cast_vote(db.session, rules, int(voter.id), option, key, at)
    except services.VoteRefused as refused:
        db.session.rollback()
        raise ApiError(refused.status, refused.code, refused.message) from None
    db.session.commit()
    if result.status == 201:
        try:
            tally.counted(poll_id, result.body["option"])
        except Exception:
            # The vote is committed: a failing live counter only delays its display.
            logger.exception("live tally of poll %s not updated", poll_id)
    return result.status, result.body


@bp.route("/polls/<int:poll_id>/audit")
@operation(
    "After close: the hash-chained log of anonymous ballot commitments and the totals",
    {
        200: ("The audit log", {"type": "object"}),
        403: ("The poll's results are never published", ref("Error")),
        409: ("The poll is not closed yet", ref("Error")),
    }
    | _POLL_ID,
    tags=["polls"],
)
def audit_log(poll_id: int) -> ResponseReturnValue:
    poll = _visible_poll(poll_id)
    at = now()
    if services.state_of(poll, at) is not services.PollState.CLOSED:
        raise ApiError(409, "not_closed", _("Le registre est publié à la clôture du vote."))
    if not services.audit_published(poll, at, current_user):
        # The register holds the totals: it stays with the editors like the results.
        raise ApiError(
            403, "results_not_published", _("Les résultats de ce vote ne sont pas publiés.")
        )
    return jsonify(audit.log_of(db.session, poll))


@bp.route("/polls/<int:poll_id>/receipts/verify", methods=["POST"])
@operation(
    "Check with a receipt that a vote is in the count (only its holder learns its option)",
    {
        200: ("Found or not", {"type": "object"}),
        400: ("No receipt given", ref("Error")),
    }
    | _POLL_ID,
    request_body={
        "type": "object",
        "required": ["receipt"],
        "properties": {"receipt": {"type": "string"}},
    },
    tags=["polls"],
)
@csrf_exempt
def verify_receipt(poll_id: int) -> ResponseReturnValue:
    poll = _visible_poll(poll_id)
    body = request.get_json(silent=True)
    receipt = body.get("receipt") if isinstance(body, dict) else None
    if not isinstance(receipt, str) or not receipt.strip():
        raise ApiError(400, "invalid_body", _('Envoyez {"receipt": "…"}.'))
    return jsonify(audit.verify(db.session, poll, receipt.strip().lower()))


# ---- Editors ----


def _window(body: dict[str, Any], name: str) -> dt.datetime | None:
    raw = body.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(str(raw))
    except ValueError:
        raise ApiError(422, "invalid_" + name, _("Date invalide (ISO 8601)."), field=name) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@bp.route("/polls", methods=["POST"])
@roles_required("editor")
@operation(
    "Create a poll (editors)",
    {
        201: ("Created", ref("Poll")),
        401: ("Not signed in", ref("Error")),
        403: ("Not an editor", ref("Error")),
        422: ("Invalid poll", ref("Error")),
    },
    request_body={
        "type": "object",
        "required": ["question", "options", "scope"],
        "properties": {
            "question": {"type": "string"},
            "options": {"type": "array", "items": {"type": "string"}},
            "scope": {"type": "string", "enum": [s.value for s in PollScope]},
            "episode": {"type": "integer"},
            "season": {"type": "integer", "description": "season number"},
            "is_ending": {"type": "boolean"},
            "results": {"type": "string", "enum": [r.value for r in ResultsShown]},
            "opens_at": {"type": "string", "format": "date-time"},
            "closes_at": {"type": "string", "format": "date-time"},
        },
    },
    tags=["polls", "editor"],
    auth=True,
)
def create_poll() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", _("Envoyez un objet JSON."))
    try:
        scope = PollScope(str(body.get("scope")))
        results = ResultsShown(body.get("results", "live"))
    except ValueError:
        raise ApiError(422, "invalid_scope", _("Portée ou affichage inconnu.")) from None
    episode = None
    if scope is PollScope.EPISODE:
        episode_id = as_id(body.get("episode"))
        episode = db.session.get(Episode, episode_id) if episode_id else None
    season_id = None
    if scope is PollScope.SEASON and (number := as_id(body.get("season"))):
        season = catalogue.get_season(db.session, number)
        season_id = season.id if season is not None else None
    options = body.get("options")
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ApiError(422, "invalid_options", _("Un sondage propose de 2 à 5 réponses."))
    try:
        poll = services.create_poll(
            db.session,
            question=str(body.get("question", "")),
            options=options,
            scope=scope,
            episode=episode,
            season_id=season_id,
            is_ending=bool(body.get("is_ending", False)),
            results=results,
            opens_at=_window(body, "opens_at"),
            closes_at=_window(body, "closes_at"),
            description=str(body.get("description", "")),
        )
    except services.PollInvalid as invalid:
        db.session.rollback()
        raise ApiError(
            422, "invalid_" + invalid.field, invalid.message, field=invalid.field
        ) from None
    db.session.commit()
    tally.watch_close(poll)
    return jsonify(poll_json(poll, now())), 201


@bp.route("/polls/<int:poll_id>/open", methods=["POST"])
@roles_required("editor")
@operation(
    "Open a poll now (editors), for `duration_s` seconds (15–1800) or until closed",
    {
        200: ("Opened", ref("Poll")),
        409: ("Already open or closed", ref("Error")),
        422: ("duration_s out of range", ref("Error")),
    }
    | _POLL_ID,
    request_body={"type": "object", "properties": {"duration_s": {"type": "integer"}}},
    tags=["polls", "editor"],
    auth=True,
)
def open_poll(poll_id: int) -> ResponseReturnValue:
    poll = _visible_poll(poll_id)
    body = request.get_json(silent=True) or {}
    duration = body.get("duration_s") if isinstance(body, dict) else None
    try:
        services.open_now(poll, now(), duration if isinstance(duration, int) else None)
    except services.PollInvalid as invalid:
        status = 409 if invalid.field == "state" else 422
        raise ApiError(status, "invalid_" + invalid.field, invalid.message) from None
    db.session.commit()
    tally.watch_close(poll)
    tally.push(db.session, poll.id)
    return jsonify(poll_json(poll, now()))


@bp.route("/polls/<int:poll_id>/close", methods=["POST"])
@roles_required("editor")
@operation(
    "Close a poll now (editors): the final tally is pushed to everyone",
    {200: ("Closed", ref("Poll")), 409: ("Not open", ref("Error"))} | _POLL_ID,
    tags=["polls", "editor"],
    auth=True,
)
def close_poll(poll_id: int) -> ResponseReturnValue:
    poll = _visible_poll(poll_id)
    try:
        services.close_now(poll, now())
    except services.PollInvalid as invalid:
        raise ApiError(409, "invalid_state", invalid.message) from None
    db.session.commit()
    tally.push(db.session, poll.id)
    return jsonify(poll_json(poll, now()))
