"""Pages of the passport rewards: a visitor's claim, the partners' rewards and code checks, and
the visitor's offers as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_login import current_user

from core.accounts.auth import roles_required
from core.accounts.models import Role
from core.api import SCHEMAS, operation, ref
from core.clock import now
from core.db import db
from core.i18n import gettext as _
from passport import badges, guests, reward_partners, rewards, services
from passport.reward_forms import RewardForm, condition_choices
from passport.reward_models import Reward
from series.episodes.partners import Scope
from series.episodes.partners import _scope as partner_scope

bp = Blueprint("passport_rewards", __name__, template_folder="templates")


@bp.app_template_filter("day")
def day(value: dt.date) -> str:
    """A day for people ("31 décembre 2026")."""
    return format_date(value, "long")


# ---- A visitor claims ----


@bp.route("/passeport/recompenses/<int:reward_id>", methods=["POST"])
def claim(reward_id: int) -> ResponseReturnValue:
    """Claim a reward for the visitor's passport (an account's or a guest's)."""
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        abort(404)
    passport = guests.visitor_passport(db.session, create=True)
    assert passport is not None
    db.session.commit()
    back = redirect(url_for("passport.page", _anchor="recompenses"))
    try:
        result = rewards.claim_reward(db.session, reward, passport, now())
    except rewards.RewardRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return back
    db.session.commit()
    if result.created:
        message = _(
            "Récompense « %(title)s » obtenue : montrez le code %(code)s au partenaire.",
            title=reward.title,
            code=result.claim.code,
        )
    else:
        message = _(
            "Vous aviez déjà obtenu cette récompense : code %(code)s.", code=result.claim.code
        )
    flash(message, "success")
    return back


SCHEMAS["RewardOffer"] = {
    "type": "object",
    "required": ["id", "title", "partner", "kind", "condition", "state"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "partner": {"type": "string"},
        "kind": {"type": "string", "enum": ["discount", "gift"]},
        "condition": {"type": "string", "description": "what unlocks it, for people"},
        "state": {
            "type": "string",
            "enum": [s.value for s in rewards.RewardState],
        },
        "missing": {"type": "string", "description": "for a locked reward: what is missing"},
        "code": {"type": "string", "nullable": True, "description": "once claimed"},
        "valid_until": {"type": "string", "format": "date-time", "nullable": True},
        "redeemed_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}


@bp.route("/api/v1/passport/rewards")
@operation(
    "The partners' rewards for the caller's passport (account or guest cookie), with their "
    "state and, once claimed, the code to show at the counter",
    {200: ("Rewards", {"type": "array", "items": ref("RewardOffer")})},
    tags=["passport"],
)
def api_offers() -> ResponseReturnValue:
    at = now()
    passport = guests.visitor_passport(db.session)
    stamps = services.stamps_of(db.session, passport) if passport else {}
    progress = badges.progress(db.session, services.locations(db.session), stamps, at)
    body = []
    for offer in rewards.offers_for(db.session, passport, progress, at):
        reward, claim_ = offer.reward, offer.claim
        body.append(
            {
                "id": reward.id,
                "title": reward.title,
                "description": reward.description,
                "partner": reward.partner.name,
                "kind": reward.kind.value,
                "condition": offer.condition,
                "state": offer.state.value,
                "missing": offer.missing,
                "code": offer.code,
                "valid_until": reward.valid_until.isoformat() if reward.valid_until else None,
                "redeemed_at": claim_.redeemed_at.isoformat()
                if claim_ and claim_.redeemed_at
                else None,
            }
        )
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, no-store"  # claimed codes are personal
    return response


# ---- Partners: their rewards ----


def _scope_args(scope: Scope) -> dict[str, Any]:
    """The query string that keeps an admin's chosen partner."""
    return {"partenaire": scope.partner.id} if scope.is_admin and scope.partner else {}


def _render_index(scope: Scope, form: RewardForm, status: int = 200) -> ResponseReturnValue:
    figures = reward_partners.partner_rewards(db.session, scope.partner) if scope.partner else []
    return render_template(
        "passport/rewards/partner.html",
        scope=scope,
        partner=scope.partner,
        figures=figures,
        form=form,
        args=_scope_args(scope),
        has_errors=status != 200,
    ), status


@bp.route("/partenaire/recompenses", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def partner_index() -> ResponseReturnValue:
    """A partner's rewards with their claims, a new reward, and the code check."""
    scope = partner_scope()
    form = RewardForm() if request.method == "POST" else RewardForm(formdata=None)
    form.condition.choices = condition_choices(db.session)
    if request.method == "GET" or scope.partner is None:
        return _render_index(scope, form)
    if not form.validate():
        return _render_index(scope, form, 422)
    try:
        reward = reward_partners.create_reward(
            db.session, scope.partner, current_user.id, **form.reward_values()
        )
    except rewards.RewardRefused as refused:
        db.session.rollback()
        getattr(form, refused.field or "title").errors = [refused.message]
        return _render_index(scope, form, 422)
    db.session.commit()
    flash(_("Récompense « %(title)s » créée.", title=reward.title), "success")
    return redirect(url_for(".partner_index", **_scope_args(scope)))


def _partner_ids(scope: Scope) -> list[int]:
    """Whose codes the caller may check: their partner's (every partner's for admins)."""
    if scope.is_admin:
        return [p.id for p in scope.choices]
    return [scope.partner.id] if scope.partner else []


def _own_reward(scope: Scope, reward_id: int) -> Reward:
    """The reward if the caller may manage it; 404 otherwise (another partner's included)."""
    reward = db.session.get(Reward, reward_id)
    if reward is None or reward.partner_id not in _partner_ids(scope):
        abort(404)
    return reward


@bp.route("/partenaire/recompenses/<int:reward_id>/desactiver", methods=["POST"])
@roles_required(Role.PARTNER)
def deactivate(reward_id: int) -> ResponseReturnValue:
    scope = partner_scope()
    reward = _own_reward(scope, reward_id)
    reward_partners.deactivate_reward(db.session, reward, current_user.id)
    db.session.commit()
    flash(_("Récompense « %(title)s » désactivée.", title=reward.title), "success")
    return redirect(url_for(".partner_index", **_scope_args(scope)))


# ---- Partners: the codes shown at the counter ----


@bp.route("/partenaire/recompenses/verifier", methods=["POST"])
@roles_required(Role.PARTNER)
def check_code() -> ResponseReturnValue:
    """Show what a code is worth, and offer to mark it used (a second POST)."""
    scope = partner_scope()
    typed = request.form.get("code", "")[:40]
    try:
        found = reward_partners.find_code(db.session, typed, _partner_ids(scope), current_user.id)
    except rewards.RewardRefused as refused:
        return render_template(
            "passport/rewards/check.html", code=typed, error=refused.message, claim=None
        ), refused.status
    return render_template(
        "passport/rewards/check.html",
        code=found.code,
        claim=found,
        error=None,
        expired=rewards.is_expired(found.reward, now()),
    )


@bp.route("/partenaire/recompenses/utiliser", methods=["POST"])
@roles_required(Role.PARTNER)
def redeem() -> ResponseReturnValue:
    """Mark a checked code used, once."""
    scope = partner_scope()
    typed = request.form.get("code", "")[:40]
    try:
        used = reward_partners.redeem_code(
            db.session, typed, _partner_ids(scope), current_user.id, now()
        )
    except rewards.RewardRefused as refused:
        db.session.rollback()
        return render_template(
            "passport/rewards/check.html", code=typed, error=refused.message, claim=None
        ), refused.status
    db.session.commit()
    flash(
        _("Code %(code)s utilisé : « %(title)s ».", code=used.code, title=used.reward.title),
        "success",
    )
    return redirect(url_for(".partner_index", **_scope_args(scope)))
