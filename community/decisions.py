"""The mechanics every moderation decision shares: the staff check, the reason, one log row,
the atomic move of a row between states, and the author's post counts.

A decision moves a row from the states it applies to with one `UPDATE … WHERE status IN (…)`,
and only the call that moved it writes to the log: deciding twice, or two moderators deciding
at once, gives the second a 409 and no second row.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community import trust
from community.models import (
    Appeal,
    CommunityMember,
    ModerationAction,
    ModerationLog,
    Tip,
    TipComment,
)
from core.accounts.models import User
from core.errors import ApiError
from core.i18n import gettext as _

logger = logging.getLogger(__name__)

REASON_LENGTH = (3, 500)


def require_staff(user: User) -> None:
    """Refuse anyone but moderators, editors and admins (403)."""
    if not trust.is_staff(user):
        raise ApiError(403, "staff_only", _("Seule l'équipe de modération peut faire cela."))


def clean_reason(reason: str, required: bool = True) -> str:
    """The reason given, whitespace collapsed; 422 when required and missing or too long."""
    reason = " ".join(reason.split())
    low, high = REASON_LENGTH
    if (required or reason) and not low <= len(reason) <= high:
        raise ApiError(
            422,
            "reason_required",
            _("Donnez une raison de %(a)s à %(b)s caractères.", a=low, b=high),
            fields={"reason": ""},
        )
    return reason


def record(
    session: Session,
    action: ModerationAction,
    moderator: User | None,
    now: dt.datetime,
    *,
    tip_id: int | None = None,
    comment_id: int | None = None,
    target_user_id: int | None = None,
    reason: str = "",
) -> ModerationLog:
    """Write a decision to the moderation log (moderator None: the system or the author)."""
    entry = ModerationLog(
        action=action,
        moderator_id=moderator.id if moderator is not None else None,
        tip_id=tip_id,
        comment_id=comment_id,
        target_user_id=target_user_id,
        reason=reason,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def move(
    session: Session, row: Tip | TipComment | Appeal, to: Any, allowed: Any, **values: Any
) -> bool:
    """Move a row to a status if it is in one of `allowed`, atomically; True when this call did."""
    model = type(row)
    moved = cast(
        sa.CursorResult[Any],
        session.execute(
            sa.update(model)
            .where(model.id == row.id, model.status.in_(allowed))
            .values(status=to, **values)
            .execution_options(synchronize_session=False)
        ),
    )
    session.refresh(row)
    return moved.rowcount == 1


def count_post(session: Session, author_id: int | None, approved: bool, delta: int = 1) -> None:
    """Count an approved or rejected post for the author, then promote them if they earned it."""
    author = session.get(User, author_id) if author_id is not None else None
    if author is None:
        return
    standing = trust.member(session, author)
    column = CommunityMember.approved_posts if approved else CommunityMember.rejected_posts
    value = column + delta if delta > 0 else sa.case((column > 0, column + delta), else_=0)
    session.execute(
        sa.update(CommunityMember)
        .where(CommunityMember.user_id == author.id)
        .values({column.key: value})
        .execution_options(synchronize_session=False)
    )
    session.refresh(standing)
    if trust.promote(session, standing):
        logger.info("%s promoted to level %s", author.email, standing.trust_level)


def conflict(code: str, message: str) -> ApiError:
    """409: the decision was already made (or the state no longer allows it)."""
    return ApiError(409, code, message)
