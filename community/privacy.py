"""The tips board's part of an account's data (core.accounts.privacy): export and deletion.

Tips and comments are what other residents read, vote on and answer: they stay, by "un ancien
membre" (their author set to None). So do appeals and the moderation log, the record of
decisions. What was only the account's (its standing, follows, "utile" votes, confirmations
and flags) goes; a tip keeps its counts of votes and comments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community.models import (
    Appeal,
    CommunityMember,
    DepartementFollow,
    ModerationLog,
    Tip,
    TipComment,
    TipConfirmation,
    TipFlag,
    TipVote,
)
from core.accounts.models import User


def _standing(session: Session, user: User) -> dict[str, Any]:
    member = session.get(CommunityMember, user.id)
    if member is None:
        return {}
    return {
        "trust_level": member.trust_level,
        "badge": member.badge,
        "tips_read": member.tips_read,
        "days_visited": member.days_visited,
        "last_visit_on": member.last_visit_on,
        "approved_posts": member.approved_posts,
        "rejected_posts": member.rejected_posts,
        "silenced_until": member.silenced_until,
        "banned": member.banned,
        "created_at": member.created_at,
    }


def _tips(session: Session, user: User) -> list[dict[str, Any]]:
    tips = session.scalars(sa.select(Tip).where(Tip.author_id == user.id).order_by(Tip.id))
    return [
        {
            "id": tip.id,
            "title": tip.title,
            "body": tip.body,
            "category": tip.category,
            "status": tip.status,
            "place": tip.place_label,
            "commune": tip.commune,
            "departement": tip.departement_code,
            "latitude": tip.lat,
            "longitude": tip.lon,
            "starts_on": tip.starts_on,
            "ends_on": tip.ends_on,
            "language": tip.language,
            "photos": [photo.alt for photo in tip.photos],
            "helpful_count": tip.helpful_count,
            "comment_count": tip.comment_count,
            "moderation_reason": tip.moderation_reason,
            "created_at": tip.created_at,
            "published_at": tip.published_at,
        }
        for tip in tips
    ]


def _rows(session: Session, query: sa.Executable, *names: str) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in session.execute(query)]


def _comments(session: Session, user: User) -> list[dict[str, Any]]:
    query = (
        sa.select(Tip.id, Tip.title, TipComment.body, TipComment.status, TipComment.created_at)
        .join(Tip, Tip.id == TipComment.tip_id)
        .where(TipComment.author_id == user.id)
        .order_by(TipComment.created_at, TipComment.id)
    )
    return _rows(session, query, "tip", "tip_title", "body", "status", "created_at")


def _votes(session: Session, user: User) -> list[dict[str, Any]]:
    query = (
        sa.select(Tip.id, Tip.title, TipVote.created_at)
        .join(Tip, Tip.id == TipVote.tip_id)
        .where(TipVote.user_id == user.id)
        .order_by(TipVote.created_at, TipVote.id)
    )
    return _rows(session, query, "tip", "tip_title", "created_at")


def _confirmations(session: Session, user: User) -> list[dict[str, Any]]:
    query = (
        sa.select(Tip.id, Tip.title, TipConfirmation.confirmed_at)
        .join(Tip, Tip.id == TipConfirmation.tip_id)
        .where(TipConfirmation.user_id == user.id)
        .order_by(TipConfirmation.confirmed_at, TipConfirmation.id)
    )
    return _rows(session, query, "tip", "tip_title", "confirmed_at")


def _flags(session: Session, user: User) -> list[dict[str, Any]]:
    query = (
        sa.select(
            Tip.id, Tip.title, TipFlag.reason, TipFlag.note, TipFlag.created_at, TipFlag.resolved_at
        )
        .join(Tip, Tip.id == TipFlag.tip_id)
        .where(TipFlag.user_id == user.id)
        .order_by(TipFlag.created_at, TipFlag.id)
    )
    return _rows(session, query, "tip", "tip_title", "reason", "note", "created_at", "resolved_at")


def _appeals(session: Session, user: User) -> list[dict[str, Any]]:
    query = (
        sa.select(
            Tip.id, Tip.title, Appeal.text, Appeal.status, Appeal.created_at, Appeal.decided_at
        )
        .join(Tip, Tip.id == Appeal.tip_id)
        .where(Appeal.author_id == user.id)
        .order_by(Appeal.created_at, Appeal.id)
    )
    return _rows(session, query, "tip", "tip_title", "text", "status", "created_at", "decided_at")


def _decisions_about(session: Session, user: User) -> list[dict[str, Any]]:
    query = (
        sa.select(
            ModerationLog.action,
            ModerationLog.tip_id,
            ModerationLog.reason,
            ModerationLog.created_at,
        )
        .where(ModerationLog.target_user_id == user.id)
        .order_by(ModerationLog.created_at, ModerationLog.id)
    )
    return _rows(session, query, "action", "tip", "reason", "created_at")


def export_community(session: Session, user: User) -> dict[str, Any]:
    """The account's standing, tips, comments, votes, confirmations, flags, follows, appeals
    and the moderation decisions about it."""
    follows = session.execute(
        sa.select(DepartementFollow.departement_code, DepartementFollow.created_at)
        .where(DepartementFollow.user_id == user.id)
        .order_by(DepartementFollow.departement_code)
    )
    return {
        "standing": _standing(session, user),
        "tips": _tips(session, user),
        "comments": _comments(session, user),
        "helpful_votes": _votes(session, user),
        "confirmations": _confirmations(session, user),
        "flags": _flags(session, user),
        "follows": [{"departement": code, "created_at": at} for code, at in follows],
        "appeals": _appeals(session, user),
        "moderation_decisions": _decisions_about(session, user),
    }


def erase_community(session: Session, user: User, now: dt.datetime) -> None:
    """Anonymise the account's tips, comments and appeals; delete what was only its own."""
    for model, column in (
        (Tip, Tip.author_id),
        (TipComment, TipComment.author_id),
        (Appeal, Appeal.author_id),
        (ModerationLog, ModerationLog.moderator_id),
        (ModerationLog, ModerationLog.target_user_id),
    ):
        session.execute(sa.update(model).where(column == user.id).values({column.key: None}))
    for owned, owner in (
        (TipVote, TipVote.user_id),
        (TipConfirmation, TipConfirmation.user_id),
        (TipFlag, TipFlag.user_id),
        (DepartementFollow, DepartementFollow.user_id),
        (CommunityMember, CommunityMember.user_id),
    ):
        session.execute(sa.delete(owned).where(owner == user.id))
