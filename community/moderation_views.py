"""Moderators' pages (the review queue and its decisions) and the public moderation log."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from community import moderation, trust
from community.models import Appeal, CommunityMember, Tip, TipComment
from community.views import FLAG_NAMES
from core.accounts.auth import roles_required
from core.accounts.models import User
from core.clock import now
from core.db import db, int_arg
from core.errors import ApiError
from core.i18n import gettext as _

bp = Blueprint("community_moderation", __name__, template_folder="templates")

STAFF = ("moderator", "editor")


@bp.route("/moderation/bons-plans")
@roles_required(*STAFF)
def queue() -> ResponseReturnValue:
    return render_template(
        "community/moderation.html", items=moderation.queue(db.session), flag_names=FLAG_NAMES
    )


def _get(model: type, key: int) -> object:
    found = db.session.get(model, key)
    if found is None:
        abort(404)
    return found


@bp.route("/moderation/bons-plans/decision", methods=["POST"])
@roles_required(*STAFF)
def decide() -> ResponseReturnValue:
    """One form handler for every decision of the queue (the button says which)."""
    form = request.form
    action = form.get("action", "")
    reason = form.get("reason", "").strip()
    at = now()
    me = current_user
    try:
        if action in ("approve", "reject", "restore", "edit"):
            tip = _get(Tip, form.get("tip", type=int_arg) or 0)
            assert isinstance(tip, Tip)
            if action == "approve":
                moderation.approve(db.session, tip, me, at)
            elif action == "reject":
                moderation.reject(db.session, tip, me, reason, at)
            elif action == "restore":
                moderation.restore(db.session, tip, me, at)
            else:
                moderation.edit(
                    db.session, tip, me, form.get("title", ""), form.get("body", ""), reason, at
                )
        elif action in ("approve_comment", "reject_comment"):
            comment = _get(TipComment, form.get("comment", type=int_arg) or 0)
            assert isinstance(comment, TipComment)
            if action == "approve_comment":
                moderation.approve_comment(db.session, comment, me, at)
            else:
                moderation.reject_comment(db.session, comment, me, reason, at)
        elif action in ("uphold", "deny"):
            appeal = _get(Appeal, form.get("appeal", type=int_arg) or 0)
            assert isinstance(appeal, Appeal)
            moderation.decide_appeal(db.session, appeal, me, action == "uphold", reason, at)
        elif action in ("silence", "ban"):
            user = _get(User, form.get("user", type=int_arg) or 0)
            assert isinstance(user, User)
            if action == "silence":
                moderation.silence(
                    db.session, user, me, form.get("days", type=int_arg) or 0, reason, at
                )
            else:
                moderation.ban(db.session, user, me, reason, at, hide_tips=bool(form.get("hide")))
        else:
            abort(400)
    except ApiError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        return redirect(url_for(".queue"))
    db.session.commit()
    flash(_("Décision enregistrée."), "success")
    return redirect(url_for(".queue"))


@bp.route("/bons-plans/journal")
def public_log() -> ResponseReturnValue:
    before = request.args.get("avant", type=int_arg)
    entries = moderation.public_log(db.session, limit=50, before_id=before)
    return render_template("community/log.html", entries=entries)


@bp.route("/moderation/membres")
@roles_required(*STAFF)
def members() -> ResponseReturnValue:
    """Find a member (name or e-mail) to set their trust level or their badge."""
    query = request.args.get("q", "").strip()[:100]
    found: list[tuple[User, CommunityMember | None]] = []
    if query:
        pattern = f"%{query.lower()}%"
        rows = db.session.execute(
            sa.select(User, CommunityMember)
            .outerjoin(CommunityMember, CommunityMember.user_id == User.id)
            .where(
                sa.func.lower(User.email).like(pattern)
                | sa.func.lower(User.display_name).like(pattern)
            )
            .order_by(User.display_name)
            .limit(30)
        ).all()
        found = [(user, standing) for user, standing in rows]
    return render_template(
        "community/members.html",
        query=query,
        found=found,
        level_names=trust.LEVEL_NAMES,
        badges=moderation.BADGES,
        is_staff=trust.is_staff,
    )


@bp.route("/moderation/membres/<int:user_id>", methods=["POST"])
@roles_required(*STAFF)
def member_standing(user_id: int) -> ResponseReturnValue:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        if "level" in request.form:
            level = request.form.get("level", type=int_arg)
            moderation.set_trust(
                db.session, user, current_user, -1 if level is None else level, now()
            )
        else:
            moderation.set_badge(
                db.session, user, current_user, request.form.get("badge", ""), now()
            )
    except ApiError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
    else:
        db.session.commit()
        flash(_("Décision enregistrée."), "success")
    return redirect(url_for(".members", q=request.form.get("q", "")))
