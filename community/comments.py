"""Comments under a tip: plain text, limited by the author's trust level like tips, waiting
for review from a new member, approved or refused by moderators (logged)."""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community import decisions, flags, trust
from community.models import CommentStatus, ModerationAction, Tip, TipComment, TipStatus
from community.text import count_links
from core import counters
from core.accounts.models import User
from core.errors import ApiError
from core.i18n import gettext as _

logger = logging.getLogger(__name__)

COMMENT_LENGTH = (2, 2000)
#: Bidirectional overrides and isolates can disguise text; dropped with control characters.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _plain(body: str) -> str:
    """The text as typed, without control characters (newlines kept), trimmed."""
    body = unicodedata.normalize("NFC", body.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(
        char
        for char in body
        if char == "\n"
        or (unicodedata.category(char) not in ("Cc", "Cs") and char not in _BIDI_CONTROLS)
    ).strip()


def add_comment(
    session: Session, tip: Tip, author: User, body: str, now: dt.datetime
) -> TipComment:
    """Store a comment on a published tip: waiting for review from a new member."""
    if tip.status != TipStatus.PUBLISHED:
        raise ApiError(409, "tip_not_published", _("On ne commente qu'un bon plan publié."))
    standing = trust.member(session, author)
    staff = trust.is_staff(author)
    if trust.silenced(standing, now) and not staff:
        raise ApiError(403, "silenced", _("Votre compte ne peut pas publier pour le moment."))
    body = _plain(body)
    low, high = COMMENT_LENGTH
    if not low <= len(body) <= high:
        raise ApiError(
            422,
            "invalid_comment",
            _("Un commentaire de %(a)s à %(b)s caractères.", a=low, b=high),
            fields={"body": ""},
        )
    limits = trust.limits_for(session, author)
    if count_links(body) > limits.links_per_tip:
        raise ApiError(
            422,
            "invalid_comment",
            _("%(n)s liens au plus dans un commentaire.", n=limits.links_per_tip),
            fields={"body": ""},
        )
    day_key = f"comments-day:{author.id}:{now.date().isoformat()}"
    if counters.get(day_key) >= limits.comments_per_day:
        raise flags.rate_limited(
            day_key,
            _("Vous avez écrit %(n)s commentaires aujourd'hui.", n=limits.comments_per_day),
        )
    interval_key = f"comments-interval:{author.id}"
    if limits.comment_interval_s and counters.incr(interval_key, ttl=limits.comment_interval_s) > 1:
        raise flags.rate_limited(
            interval_key,
            _("Un commentaire toutes les %(n)s secondes au plus.", n=limits.comment_interval_s),
        )
    counters.incr(day_key, ttl=24 * 3600)
    status = CommentStatus.PENDING if limits.reviewed else CommentStatus.PUBLISHED
    comment = TipComment(
        tip_id=tip.id, author_id=author.id, body=body, status=status, created_at=now
    )
    session.add(comment)
    session.flush()
    if status == CommentStatus.PUBLISHED:
        _count_comment(session, tip.id, 1)
    logger.info(
        "comment %s on tip %s added by %s (%s)", comment.id, tip.id, author.email, status.value
    )
    return comment


def _count_comment(session: Session, tip_id: int, delta: int) -> None:
    session.execute(
        sa.update(Tip)
        .where(Tip.id == tip_id)
        .values(comment_count=Tip.comment_count + delta)
        .execution_options(synchronize_session=False)
    )
    tip = session.get(Tip, tip_id)
    if tip is not None:
        session.refresh(tip, ["comment_count"])


def approve_comment(
    session: Session, comment: TipComment, moderator: User, now: dt.datetime
) -> None:
    """Publish a comment waiting for review."""
    decisions.require_staff(moderator)
    if not decisions.move(session, comment, CommentStatus.PUBLISHED, [CommentStatus.PENDING]):
        raise decisions.conflict("not_pending", _("Ce commentaire n'attend plus de validation."))
    _count_comment(session, comment.tip_id, 1)
    decisions.record(
        session,
        ModerationAction.APPROVE,
        moderator,
        now,
        tip_id=comment.tip_id,
        comment_id=comment.id,
    )
    decisions.count_post(session, comment.author_id, approved=True)
    logger.info("comment %s approved by %s", comment.id, moderator.email)


def reject_comment(
    session: Session, comment: TipComment, moderator: User, reason: str, now: dt.datetime
) -> None:
    """Refuse a comment, waiting or published, with a reason."""
    decisions.require_staff(moderator)
    reason = decisions.clean_reason(reason)
    if decisions.move(session, comment, CommentStatus.REJECTED, [CommentStatus.PUBLISHED]):
        _count_comment(session, comment.tip_id, -1)
    elif not decisions.move(session, comment, CommentStatus.REJECTED, [CommentStatus.PENDING]):
        raise decisions.conflict("already_decided", _("Ce commentaire est déjà refusé."))
    decisions.record(
        session,
        ModerationAction.REJECT,
        moderator,
        now,
        tip_id=comment.tip_id,
        comment_id=comment.id,
        reason=reason,
    )
    decisions.count_post(session, comment.author_id, approved=False)
    logger.info("comment %s rejected by %s", comment.id, moderator.email)
