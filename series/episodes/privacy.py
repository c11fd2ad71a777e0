"""Partners and media: their part of an account's data (core.accounts.privacy).

Audience events are not here: they carry the pseudonymous id of a consent cookie, never an
account (series.episodes.attribution), so nothing ties them to one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.accounts.models import User
from series.episodes.hotspot_models import Partner, PartnerMember
from series.episodes.models import IngestJob


def export_partner(session: Session, user: User) -> dict[str, Any]:
    """The partner the account acts for, and how many videos it sent in."""
    out: dict[str, Any] = {}
    partner = session.scalar(
        sa.select(Partner).join(PartnerMember).where(PartnerMember.user_id == user.id)
    )
    if partner is not None:
        out["partner"] = partner.name
    uploads = session.scalar(sa.select(sa.func.count()).where(IngestJob.created_by_id == user.id))
    if uploads:
        out["videos_sent"] = uploads
    return out


def erase_partner(session: Session, user: User, now: dt.datetime) -> None:
    """Leave the partner; the videos sent stay, sent by nobody."""
    session.execute(sa.delete(PartnerMember).where(PartnerMember.user_id == user.id))
    session.execute(
        sa.update(IngestJob).where(IngestJob.created_by_id == user.id).values(created_by_id=None)
    )
