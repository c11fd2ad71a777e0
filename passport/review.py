"""Stamps held for review (travel faster than plausible but not impossible): a moderator or an
editor accepts them, so they count towards badges and rewards, or removes them."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session, selectinload

from core.accounts.auth import roles_required
from core.db import db
from core.i18n import gettext as _
from passport.models import Stamp, StampStatus

logger = logging.getLogger(__name__)

bp = Blueprint("passport_review", __name__, template_folder="templates")


def held_stamps(session: Session) -> Sequence[Stamp]:
    """Stamps waiting for a decision, oldest first."""
    return session.scalars(
        sa.select(Stamp)
        .where(Stamp.status == StampStatus.HELD)
        .options(selectinload(Stamp.location))
        .order_by(Stamp.stamped_at, Stamp.id)
    ).all()


def decide(session: Session, stamp: Stamp, accept: bool, moderator: str) -> None:
    """Accept a held stamp (it then counts) or remove it (the visitor may stamp again)."""
    if accept:
        stamp.status = StampStatus.ACCEPTED
        stamp.review_note = (stamp.review_note + " · accepted")[:200]
    else:
        session.delete(stamp)
    session.flush()
    logger.info("held stamp %s %s by %s", stamp.id, "accepted" if accept else "removed", moderator)


@bp.route("/moderation/passeport")
@roles_required("moderator", "editor")
def index() -> ResponseReturnValue:
    return render_template("passport/review.html", stamps=held_stamps(db.session))


@bp.route("/moderation/passeport/<int:stamp_id>", methods=["POST"])
@roles_required("moderator", "editor")
def review(stamp_id: int) -> ResponseReturnValue:
    stamp = db.session.get(Stamp, stamp_id)
    if stamp is None or stamp.status != StampStatus.HELD:
        abort(404)
    accept = request.form.get("decision") == "accept"
    decide(db.session, stamp, accept, current_user.email)
    db.session.commit()
    flash(_("Tampon accepté.") if accept else _("Tampon retiré."), "success")
    return redirect(url_for(".index"))
