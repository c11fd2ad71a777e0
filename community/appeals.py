"""Appeals: the author of a rejected or hidden tip asks a moderator to look again.

One appeal per removal of a tip (a rejection, a hide by flags or with a ban), only by its
author, never while one is open; a banned member cannot appeal. An upheld appeal publishes the
tip again (and no longer counts its rejection against the author); a denied one says why.
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community import decisions, flags, trust
from community.models import (
    Appeal,
    AppealStatus,
    ModerationAction,
    ModerationLog,
    Tip,
    TipStatus,
)
from core.accounts.models import User
from core.errors import ApiError
from core.i18n import gettext as _

logger = logging.getLogger(__name__)

APPEAL_LENGTH = (10, 1000)
#: Decisions that take a tip down, each of which its author may appeal once.
REMOVALS = (ModerationAction.REJECT, ModerationAction.AUTO_HIDE, ModerationAction.BAN)


def appeal(session: Session, tip: Tip, author: User, text: str, now: dt.datetime) -> Appeal:
    """The author contests the rejection or hiding of their tip (once per decision)."""
    if tip.author_id != author.id:
        raise ApiError(403, "not_author", _("Seul l'auteur peut faire appel."))
    if trust.member(session, author).banned:
        raise ApiError(403, "banned", _("Votre compte est banni."))
    text = " ".join(text.split())
    low, high = APPEAL_LENGTH
    if not low <= len(text) <= high:
        raise ApiError(
            422,
            "invalid_appeal",
            _("Expliquez-vous en %(a)s à %(b)s caractères.", a=low, b=high),
            fields={"text": ""},
        )
    # One appeal at a time per tip: concurrent clicks take turns on the tip's row.
    session.execute(sa.select(Tip.id).where(Tip.id == tip.id).with_for_update())
    session.refresh(tip)
    if tip.status not in (TipStatus.REJECTED, TipStatus.HIDDEN):
        raise decisions.conflict("not_appealable", _("Ce bon plan n'est ni refusé ni masqué."))
    made: dict[AppealStatus, int] = dict(
        session.execute(
            sa.select(Appeal.status, sa.func.count())
            .where(Appeal.tip_id == tip.id)
            .group_by(Appeal.status)
        ).all()
    )
    if made.get(AppealStatus.OPEN):
        raise decisions.conflict("appeal_open", _("Votre appel est en cours d'examen."))
    removals = session.scalar(
        sa.select(sa.func.count())
        .select_from(ModerationLog)
        .where(
            ModerationLog.tip_id == tip.id,
            ModerationLog.comment_id.is_(None),
            ModerationLog.action.in_(REMOVALS),
        )
    )
    if sum(made.values()) >= (removals or 0):
        raise decisions.conflict("appeal_used", _("Vous avez déjà fait appel de cette décision."))
    entry = Appeal(tip_id=tip.id, author_id=author.id, text=text, created_at=now)
    session.add(entry)
    session.flush()
    decisions.record(
        session, ModerationAction.APPEAL, None, now, tip_id=tip.id, target_user_id=author.id
    )
    logger.info("appeal %s on tip %s made by %s", entry.id, tip.id, author.email)
    return entry


def decide_appeal(
    session: Session, appeal: Appeal, moderator: User, uphold: bool, reason: str, now: dt.datetime
) -> None:
    """Uphold an appeal (the tip is published again) or deny it (with a reason)."""
    decisions.require_staff(moderator)
    reason = decisions.clean_reason(reason, required=not uphold)
    status = AppealStatus.UPHELD if uphold else AppealStatus.DENIED
    if not decisions.move(session, appeal, status, [AppealStatus.OPEN], decided_at=now):
        raise decisions.conflict("appeal_decided", _("Cet appel a déjà été tranché."))
    tip = session.get(Tip, appeal.tip_id)
    assert tip is not None
    if uphold:
        was_rejected = tip.status == TipStatus.REJECTED
        removed = [TipStatus.REJECTED, TipStatus.HIDDEN]
        if decisions.move(
            session,
            tip,
            TipStatus.PUBLISHED,
            removed,
            published_at=tip.published_at or now,
            moderation_reason="",
            updated_at=now,
        ):
            flags.resolve(session, tip.id, now)
            if was_rejected:
                decisions.count_post(session, tip.author_id, approved=False, delta=-1)
                decisions.count_post(session, tip.author_id, approved=True)
    action = ModerationAction.APPEAL_UPHELD if uphold else ModerationAction.APPEAL_DENIED
    decisions.record(
        session,
        action,
        moderator,
        now,
        tip_id=tip.id,
        target_user_id=appeal.author_id,
        reason=reason,
    )
    logger.info("appeal %s %s by %s", appeal.id, status.value, moderator.email)
