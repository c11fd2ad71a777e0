"""Moderation, as the pages and the API call it: the staff's decisions on tips and members
here, and (re-exported) flags, comments, appeals, the review queue and the public log.

| module                | what                                                          |
| --------------------- | ------------------------------------------------------------- |
| community.flags       | flags, and the automatic hiding of a tip on trusted flags     |
| community.decisions   | what every decision shares: staff check, reason, one log row  |
| community.moderation  | approve, reject, edit, restore; silence, ban, trust, badges   |
| community.comments    | comments: posting (limits, review) and their moderation       |
| community.appeals     | an author's appeal, and its decision                          |
| community.review      | the moderators' queue and the public moderation log           |

Rules decided here:

- Reasons are required where the author or the public must understand the decision (reject,
  edit, silence, ban, a denied appeal); they are public, so they should not quote the tip.
- A moderator's decision on a tip (approve, reject, restore, an upheld appeal) resolves its
  open flags, so the same flaggers cannot hide it again; new flaggers still can.
- Approvals (tips and comments) count towards the author's trust level, rejections against it;
  a moderator cannot set a level below what the member has earned, since the next promotion
  would undo it: silence is the tool to hold someone back.
- A ban refuses everything the member would post (check_limits treats banned as silenced),
  rejects what they have waiting for review, and leaves their published tips up unless
  `hide_tips` is given (a spammer's): tips that passed review or trust keep serving readers.
- Staff members cannot be silenced, banned or given a trust level here (they act at level 4).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from community import flags, services, trust, words
from community.appeals import appeal, decide_appeal
from community.comments import add_comment, approve_comment, reject_comment
from community.decisions import clean_reason, conflict, count_post, move, record, require_staff
from community.flags import FlagResult, flag_tip
from community.models import (
    CommentStatus,
    CommunityMember,
    ModerationAction,
    Tip,
    TipComment,
    TipStatus,
)
from community.review import PublicEntry, QueueItem, QueueKind, public_log, queue
from core.accounts.models import User
from core.errors import ApiError
from core.i18n import gettext as _

__all__ = [
    "BADGES",
    "FlagResult",
    "PublicEntry",
    "QueueItem",
    "QueueKind",
    "add_comment",
    "appeal",
    "approve",
    "approve_comment",
    "badge_of",
    "ban",
    "decide_appeal",
    "edit",
    "flag_tip",
    "highlighted",
    "highlighted_authors",
    "public_log",
    "queue",
    "reject",
    "reject_comment",
    "require_staff",
    "restore",
    "set_badge",
    "set_trust",
    "silence",
]

logger = logging.getLogger(__name__)

SILENCE_DAYS = (1, 365)
#: Badges a moderator may give ("" removes it); their holders' picks are highlighted.
BADGES = ("", "ambassador", "guest_star")


# ---------------------------------------------------------------- tips


def approve(session: Session, tip: Tip, moderator: User, now: dt.datetime) -> None:
    """Publish a tip waiting for review."""
    require_staff(moderator)
    if not move(
        session,
        tip,
        TipStatus.PUBLISHED,
        [TipStatus.PENDING],
        published_at=tip.published_at or now,
        updated_at=now,
        moderation_reason="",
    ):
        raise conflict("not_pending", _("Ce bon plan n'attend plus de validation."))
    flags.resolve(session, tip.id, now)
    record(session, ModerationAction.APPROVE, moderator, now, tip_id=tip.id)
    count_post(session, tip.author_id, approved=True)
    logger.info("tip %s approved by %s", tip.id, moderator.email)


def reject(session: Session, tip: Tip, moderator: User, reason: str, now: dt.datetime) -> None:
    """Refuse a tip (waiting, published or hidden) with a reason its author sees."""
    require_staff(moderator)
    reason = clean_reason(reason)
    allowed = [TipStatus.PENDING, TipStatus.PUBLISHED, TipStatus.HIDDEN]
    if not move(
        session, tip, TipStatus.REJECTED, allowed, moderation_reason=reason, updated_at=now
    ):
        raise conflict("already_decided", _("Ce bon plan est déjà refusé ou retiré."))
    flags.resolve(session, tip.id, now)
    record(session, ModerationAction.REJECT, moderator, now, tip_id=tip.id, reason=reason)
    count_post(session, tip.author_id, approved=False)
    logger.info("tip %s rejected by %s", tip.id, moderator.email)


def edit(
    session: Session,
    tip: Tip,
    moderator: User,
    title: str,
    body: str,
    reason: str,
    now: dt.datetime,
) -> None:
    """Correct a tip's title and text, saying why."""
    require_staff(moderator)
    reason = clean_reason(reason)
    title, body = title.strip(), body.strip()
    fields = {}
    if not services.TITLE_LENGTH[0] <= len(title) <= services.TITLE_LENGTH[1]:
        low, high = services.TITLE_LENGTH
        fields["title"] = _("Un titre de %(a)s à %(b)s caractères.", a=low, b=high)
    if not services.BODY_LENGTH[0] <= len(body) <= services.BODY_LENGTH[1]:
        low, high = services.BODY_LENGTH
        fields["body"] = _("Un texte de %(a)s à %(b)s caractères.", a=low, b=high)
    if fields:
        raise services.InvalidTip(fields)
    if tip.status == TipStatus.WITHDRAWN:
        raise conflict("withdrawn", _("Ce bon plan a été retiré par son auteur."))
    if (title, body) == (tip.title, tip.body):
        raise conflict("unchanged", _("Le titre et le texte sont inchangés."))
    tip.title, tip.body, tip.updated_at = title, body, now
    tip.search_text = words.search_text(title, body, tip.commune, tip.place_label)
    session.flush()
    record(session, ModerationAction.EDIT, moderator, now, tip_id=tip.id, reason=reason)
    logger.info("tip %s edited by %s", tip.id, moderator.email)


def restore(session: Session, tip: Tip, moderator: User, now: dt.datetime) -> None:
    """Put a tip hidden by flags back in public, its flags resolved."""
    require_staff(moderator)
    if not move(session, tip, TipStatus.PUBLISHED, [TipStatus.HIDDEN], updated_at=now):
        raise conflict("not_hidden", _("Ce bon plan n'est pas masqué."))
    if tip.published_at is None:
        tip.published_at = now
        session.flush()
    flags.resolve(session, tip.id, now)
    record(session, ModerationAction.RESTORE, moderator, now, tip_id=tip.id)
    logger.info("tip %s restored by %s", tip.id, moderator.email)


# ---------------------------------------------------------------- members


def _sanctionable(moderator: User, user: User) -> None:
    require_staff(moderator)
    if trust.is_staff(user):
        raise ApiError(
            409, "staff_member", _("Un membre de l'équipe ne peut pas être sanctionné ici.")
        )


def silence(
    session: Session, user: User, moderator: User, days: int, reason: str, now: dt.datetime
) -> dt.datetime:
    """Stop a member posting, commenting and flagging for some days; returns the end."""
    _sanctionable(moderator, user)
    reason = clean_reason(reason)
    if not SILENCE_DAYS[0] <= days <= SILENCE_DAYS[1]:
        raise ApiError(
            422,
            "invalid_days",
            _("De %(a)s à %(b)s jours.", a=SILENCE_DAYS[0], b=SILENCE_DAYS[1]),
            fields={"days": ""},
        )
    standing = trust.member(session, user)
    until = now + dt.timedelta(days=days)
    if standing.banned:
        raise conflict("banned", _("Ce membre est banni."))
    current = standing.silenced_until
    if current is not None and current >= until:
        raise conflict(
            "silenced",
            _("Ce membre est déjà réduit au silence jusqu'au %(d)s.", d=current.date().isoformat()),
        )
    standing.silenced_until = until
    session.flush()
    record(session, ModerationAction.SILENCE, moderator, now, target_user_id=user.id, reason=reason)
    logger.info("%s silenced until %s by %s", user.email, until.isoformat(), moderator.email)
    return until


def ban(
    session: Session,
    user: User,
    moderator: User,
    reason: str,
    now: dt.datetime,
    hide_tips: bool = False,
) -> None:
    """Ban a member: nothing more from them, their waiting posts refused (their tips too, if
    `hide_tips`)."""
    _sanctionable(moderator, user)
    reason = clean_reason(reason)
    standing = trust.member(session, user)
    banned = cast(
        sa.CursorResult[Any],
        session.execute(
            sa.update(CommunityMember)
            .where(CommunityMember.user_id == user.id, CommunityMember.banned.is_(False))
            .values(banned=True)
            .execution_options(synchronize_session=False)
        ),
    )
    session.refresh(standing)
    if banned.rowcount != 1:
        raise conflict("banned", _("Ce membre est déjà banni."))
    record(session, ModerationAction.BAN, moderator, now, target_user_id=user.id, reason=reason)
    waiting = session.scalars(
        sa.select(Tip).where(Tip.author_id == user.id, Tip.status == TipStatus.PENDING)
    ).all()
    for tip in waiting:
        if move(
            session,
            tip,
            TipStatus.REJECTED,
            [TipStatus.PENDING],
            moderation_reason=reason,
            updated_at=now,
        ):
            record(session, ModerationAction.REJECT, moderator, now, tip_id=tip.id, reason=reason)
    comments = session.scalars(
        sa.select(TipComment).where(
            TipComment.author_id == user.id, TipComment.status == CommentStatus.PENDING
        )
    ).all()
    for comment in comments:
        if move(session, comment, CommentStatus.REJECTED, [CommentStatus.PENDING]):
            record(
                session,
                ModerationAction.REJECT,
                moderator,
                now,
                tip_id=comment.tip_id,
                comment_id=comment.id,
                reason=reason,
            )
    if hide_tips:
        published = session.scalars(
            sa.select(Tip).where(Tip.author_id == user.id, Tip.status == TipStatus.PUBLISHED)
        ).all()
        for tip in published:
            if move(session, tip, TipStatus.HIDDEN, [TipStatus.PUBLISHED], updated_at=now):
                record(session, ModerationAction.BAN, moderator, now, tip_id=tip.id, reason=reason)
    logger.info("%s banned by %s", user.email, moderator.email)


def set_trust(session: Session, user: User, moderator: User, level: int, now: dt.datetime) -> None:
    """Set a member's trust level (4, référent, is only given this way)."""
    require_staff(moderator)
    if trust.is_staff(user):
        raise conflict("staff_member", _("Un membre de l'équipe agit déjà au niveau 4."))
    if level not in trust.LIMITS:
        raise ApiError(422, "invalid_level", _("Niveau inconnu."), fields={"level": ""})
    standing = trust.member(session, user)
    previous = standing.trust_level
    if level == previous:
        raise conflict("unchanged", _("Ce membre est déjà à ce niveau."))
    earned = trust.earned_level(standing)
    if level < earned:
        raise conflict(
            "earned",
            _(
                "Ce membre a gagné le niveau %(n)s par sa participation : "
                "pour le retenir, réduisez-le au silence.",
                n=earned,
            ),
        )
    standing.trust_level = level
    session.flush()
    record(
        session,
        ModerationAction.TRUST,
        moderator,
        now,
        target_user_id=user.id,
        reason=f"{previous} → {level}",
    )
    logger.info("%s set to level %s by %s", user.email, level, moderator.email)


def set_badge(session: Session, user: User, moderator: User, badge: str, now: dt.datetime) -> None:
    """Give a member the ambassador or guest-star badge, or take it back ("")."""
    require_staff(moderator)
    if badge not in BADGES:
        raise ApiError(422, "invalid_badge", _("Badge inconnu."), fields={"badge": ""})
    standing = trust.member(session, user)
    if standing.badge == badge:
        raise conflict("unchanged", _("Ce membre a déjà ce badge."))
    standing.badge = badge
    session.flush()
    record(session, ModerationAction.BADGE, moderator, now, target_user_id=user.id, reason=badge)
    logger.info("%s given badge %r by %s", user.email, badge, moderator.email)


def highlighted(who: User | CommunityMember | None) -> bool:
    """Whether the author carries an ambassador or guest-star badge (their picks stand out)."""
    if isinstance(who, CommunityMember):
        return who.badge in BADGES[1:]
    session = object_session(who) if who is not None else None
    if who is None or session is None:
        return False
    return highlighted(session.get(CommunityMember, who.id))


def badge_of(session: Session, user_id: int | None) -> str:
    """The member's badge ("ambassador", "guest_star"), "" for none or a deleted account."""
    if user_id is None:
        return ""
    standing = session.get(CommunityMember, user_id)
    return standing.badge if standing is not None else ""


def highlighted_authors(session: Session, author_ids: Iterable[int | None]) -> set[int]:
    """Of these authors, the ones whose picks are highlighted (one query for a list of tips)."""
    ids = {i for i in author_ids if i is not None}
    if not ids:
        return set()
    return set(
        session.scalars(
            sa.select(CommunityMember.user_id).where(
                CommunityMember.user_id.in_(ids), CommunityMember.badge.in_(BADGES[1:])
            )
        )
    )
