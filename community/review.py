"""What moderators and the public read: the review queue and the public moderation log.

The queue gives a moderator what a decision needs: the tip (or comment, or appeal), the
author's standing, and the open flags counted by reason (never who flagged). The public log
shows each decision without naming the moderator, the flaggers or the member sanctioned, and
names a tip only while it is published: a rejected tip's content never leaks through it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import LazyString
from sqlalchemy.orm import Session

from community.flags import FlagSummary, reason_labels, summaries
from community.models import (
    Appeal,
    AppealStatus,
    CommentStatus,
    CommunityMember,
    ModerationAction,
    ModerationLog,
    Tip,
    TipComment,
    TipFlag,
    TipStatus,
)
from core.accounts.models import User
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l

#: Most entries one call returns.
MAX_LIMIT = 200


class QueueKind(enum.StrEnum):
    PENDING_TIP = "pending_tip"
    HIDDEN_TIP = "hidden_tip"
    PENDING_COMMENT = "pending_comment"
    APPEAL = "appeal"


@dataclass(frozen=True)
class Standing:
    """An author as a moderator sees them."""

    user_id: int
    display_name: str
    trust_level: int = 0
    approved_posts: int = 0
    rejected_posts: int = 0
    silenced_until: dt.datetime | None = None
    banned: bool = False
    badge: str = ""


@dataclass(frozen=True)
class QueueItem:
    """One thing waiting for a moderator, with what the decision needs."""

    kind: QueueKind
    #: Since when it waits (created, hidden, appealed).
    since: dt.datetime
    tip: Tip
    comment: TipComment | None = None
    appeal: Appeal | None = None
    #: The author of the tip, or of the comment for a comment (None: account deleted).
    author: Standing | None = None
    #: The tip's open flags (pending and hidden tips, appeals), never who flagged.
    flags: FlagSummary = field(default_factory=FlagSummary)


def _standings(session: Session, user_ids: set[int]) -> dict[int, Standing]:
    if not user_ids:
        return {}
    rows = session.execute(
        sa.select(User.id, User.display_name, CommunityMember)
        .outerjoin(CommunityMember, CommunityMember.user_id == User.id)
        .where(User.id.in_(user_ids))
    )
    found = {}
    for user_id, name, member in rows:
        if member is None:
            found[user_id] = Standing(user_id, name)
            continue
        found[user_id] = Standing(
            user_id,
            name,
            member.trust_level,
            member.approved_posts,
            member.rejected_posts,
            member.silenced_until,
            member.banned,
            member.badge,
        )
    return found


def queue(session: Session, limit: int = 50) -> list[QueueItem]:
    """What waits for a moderator, oldest first: tips to review, hidden tips, comments, appeals."""
    limit = max(1, min(limit, MAX_LIMIT))
    items: list[tuple[QueueItem, int | None]] = []
    pending = session.scalars(
        sa.select(Tip)
        .where(Tip.status == TipStatus.PENDING)
        .order_by(Tip.created_at, Tip.id)
        .limit(limit)
    )
    items += [(QueueItem(QueueKind.PENDING_TIP, t.created_at, t), t.author_id) for t in pending]
    # Hidden on flags and not yet looked at (a tip hidden with its author's ban has no open flag).
    open_flag = sa.exists().where(TipFlag.tip_id == Tip.id, TipFlag.resolved_at.is_(None))
    hidden = session.scalars(
        sa.select(Tip)
        .where(Tip.status == TipStatus.HIDDEN, open_flag)
        .order_by(Tip.updated_at, Tip.id)
        .limit(limit)
    )
    items += [(QueueItem(QueueKind.HIDDEN_TIP, t.updated_at, t), t.author_id) for t in hidden]
    comments = session.execute(
        sa.select(TipComment, Tip)
        .join(Tip, Tip.id == TipComment.tip_id)
        .where(TipComment.status == CommentStatus.PENDING)
        .order_by(TipComment.created_at, TipComment.id)
        .limit(limit)
    )
    items += [
        (QueueItem(QueueKind.PENDING_COMMENT, c.created_at, t, comment=c), c.author_id)
        for c, t in comments
    ]
    appeals = session.execute(
        sa.select(Appeal, Tip)
        .join(Tip, Tip.id == Appeal.tip_id)
        .where(Appeal.status == AppealStatus.OPEN)
        .order_by(Appeal.created_at, Appeal.id)
        .limit(limit)
    )
    items += [
        (QueueItem(QueueKind.APPEAL, a.created_at, t, appeal=a), t.author_id) for a, t in appeals
    ]
    items.sort(key=lambda pair: pair[0].since)
    items = items[:limit]
    standings = _standings(session, {author for _, author in items if author is not None})
    flagged = summaries(
        session, {i.tip.id for i, _ in items if i.kind != QueueKind.PENDING_COMMENT}
    )
    return [
        dataclasses.replace(
            item,
            author=standings.get(author) if author is not None else None,
            flags=FlagSummary()
            if item.kind == QueueKind.PENDING_COMMENT
            else flagged.get(item.tip.id, FlagSummary()),
        )
        for item, author in items
    ]


# ---------------------------------------------------------------- public log

ACTION_LABELS: dict[ModerationAction, LazyString] = {
    ModerationAction.APPROVE: _l("validé"),
    ModerationAction.REJECT: _l("refusé"),
    ModerationAction.EDIT: _l("corrigé"),
    ModerationAction.AUTO_HIDE: _l("masqué après des signalements"),
    ModerationAction.RESTORE: _l("rétabli"),
    ModerationAction.SILENCE: _l("membre réduit au silence"),
    ModerationAction.BAN: _l("membre banni"),
    ModerationAction.APPEAL: _l("appel déposé"),
    ModerationAction.APPEAL_UPHELD: _l("appel accepté"),
    ModerationAction.APPEAL_DENIED: _l("appel rejeté"),
    ModerationAction.BADGE: _l("badge attribué"),
}
BADGE_LABELS: dict[str, LazyString] = {
    "ambassador": _l("ambassadeur ou ambassadrice"),
    "guest_star": _l("invité vedette"),
}
#: A member's trust level is their own business: not in the public log.
PRIVATE_ACTIONS = (ModerationAction.TRUST,)


@dataclass(frozen=True)
class PublicEntry:
    """A decision as the public log shows it: no names, no content of a tip taken down."""

    id: int
    action: ModerationAction
    label: str
    created_at: dt.datetime
    #: "tip", "comment" or "member".
    subject: str
    #: The tip's id and title while it is published; else no id and a neutral phrase.
    tip_id: int | None
    tip_title: str
    reason: str
    #: "un modérateur", "le système" or "l'auteur".
    actor: str


def _label(entry: ModerationLog) -> str:
    if entry.action == ModerationAction.BAN and entry.tip_id is not None:
        return _("retiré avec le bannissement de son auteur")
    if entry.action == ModerationAction.BADGE and not entry.reason:
        return _("badge retiré")
    return str(ACTION_LABELS[entry.action])


def _reason(entry: ModerationLog) -> str:
    if entry.action == ModerationAction.AUTO_HIDE:
        return reason_labels(entry.reason)
    if entry.action == ModerationAction.BADGE:
        return str(BADGE_LABELS.get(entry.reason, ""))
    return entry.reason


def _actor(action: ModerationAction) -> str:
    if action == ModerationAction.AUTO_HIDE:
        return _("le système")
    if action == ModerationAction.APPEAL:
        return _("l'auteur")
    return _("un modérateur")


def _tip_title(status: TipStatus | None, title: str | None) -> str:
    if status is None:
        return ""
    if status == TipStatus.PUBLISHED:
        return title or ""
    if status == TipStatus.PENDING:
        return _("un bon plan en attente de validation")
    return _("un bon plan retiré")


def public_log(
    session: Session, limit: int = 50, before_id: int | None = None
) -> list[PublicEntry]:
    """The public moderation log, newest first (page on with the last entry's id)."""
    query = (
        sa.select(ModerationLog, Tip.status, Tip.title)
        .outerjoin(Tip, Tip.id == ModerationLog.tip_id)
        .where(ModerationLog.action.not_in(PRIVATE_ACTIONS))
        .order_by(ModerationLog.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT)))
    )
    if before_id is not None:
        query = query.where(ModerationLog.id < before_id)
    entries = []
    for entry, status, title in session.execute(query):
        if entry.comment_id is not None:
            subject = "comment"
        elif entry.tip_id is not None:
            subject = "tip"
        else:
            subject = "member"
        entries.append(
            PublicEntry(
                id=entry.id,
                action=entry.action,
                label=_label(entry),
                created_at=entry.created_at,
                subject=subject,
                tip_id=entry.tip_id if status == TipStatus.PUBLISHED else None,
                tip_title=_tip_title(status, title),
                reason=_reason(entry),
                actor=_actor(entry.action),
            )
        )
    return entries
