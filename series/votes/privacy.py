"""Polls and casting calls: their part of an account's data (core.accounts.privacy).

A deleted account's ballots stay, detached from it: they are counted in the totals and sealed
in the public audit chain (series.votes.audit) by their commitment alone, so deleting them
would change a closed poll's result and break its published chain. The voter's receipt still
finds their commitment; nothing ties the ballot to them any more. Casting sign-ups are
personal details kept for one call only: they go.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.accounts.models import User
from series.votes.models import Ballot, CastingCall, CastingSignup, Poll, PollOption
from series.votes.services import receipt_of


def export_ballots(session: Session, user: User) -> list[dict[str, Any]]:
    """The account's votes: the question, the answer chosen, when, and the receipt."""
    rows = session.execute(
        sa.select(Ballot, Poll, PollOption.label)
        .join(Poll, Poll.id == Ballot.poll_id)
        .join(PollOption, PollOption.id == Ballot.option_id)
        .where(Ballot.user_id == user.id)
        .order_by(Ballot.cast_at, Ballot.id)
    )
    return [
        {
            "poll": poll.question,
            "choice": label,
            "cast_at": ballot.cast_at,
            # The voter's own proof that the vote is counted (checked on the poll's audit page).
            "receipt": receipt_of(poll, ballot.user_id, ballot.key),
        }
        for ballot, poll, label in rows
    ]


def erase_ballots(session: Session, user: User, now: dt.datetime) -> None:
    """Detach the account's ballots: counts and the audit chain stay as they were."""
    for ballot in session.scalars(sa.select(Ballot).where(Ballot.user_id == user.id)).all():
        ballot.user_id = None
        # The client's idempotency key could be found in the voter's own device or logs.
        ballot.key = str(uuid.uuid4())
    session.flush()


def export_casting(session: Session, user: User) -> list[dict[str, Any]]:
    """The account's casting sign-ups, every detail given."""
    rows = session.execute(
        sa.select(CastingSignup, CastingCall.title, CastingCall.territory)
        .join(CastingCall, CastingCall.id == CastingSignup.call_id)
        .where(CastingSignup.user_id == user.id)
        .order_by(CastingSignup.created_at, CastingSignup.id)
    )
    return [
        {
            "call": title,
            "territory": territory,
            "full_name": signup.full_name,
            "email": signup.email,
            "phone": signup.phone,
            "commune": signup.commune,
            "age_range": signup.age_range,
            "availability": list(signup.availability),
            "note": signup.note,
            "consent_at": signup.consent_at,
            "created_at": signup.created_at,
        }
        for signup, title, territory in rows
    ]


def erase_casting(session: Session, user: User, now: dt.datetime) -> None:
    """Delete the account's casting sign-ups."""
    session.execute(sa.delete(CastingSignup).where(CastingSignup.user_id == user.id))
