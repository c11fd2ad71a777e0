"""The passport's part of an account's data (core.accounts.privacy): export and deletion.

A passport is its owner's alone (where and when they went): it goes with the account, with its
stamps, used codes and reward claims. A claimed code not yet used at a counter gives its unit
of stock back (nobody can show it any more); a redeemed one stays counted as given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.accounts.models import User
from passport.models import FilmingLocation, Passport, Stamp, UsedCode
from passport.reward_models import Reward, RewardClaim
from series.episodes.hotspot_models import Partner


def _passport_of(session: Session, user: User) -> Passport | None:
    return session.scalar(sa.select(Passport).where(Passport.user_id == user.id))


def _stamps(session: Session, passport: Passport) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Stamp, FilmingLocation.name)
        .join(FilmingLocation, FilmingLocation.id == Stamp.location_id)
        .where(Stamp.passport_id == passport.id)
        .order_by(Stamp.taken_at, Stamp.id)
    )
    return [
        {
            "place": name,
            "taken_at": stamp.taken_at,
            "stamped_at": stamp.stamped_at,
            "method": stamp.method,
            "distance_band": stamp.distance_band,
            "status": stamp.status,
        }
        for stamp, name in rows
    ]


def _claims(session: Session, passport: Passport) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(RewardClaim, Reward.title, Partner.name)
        .join(Reward, Reward.id == RewardClaim.reward_id)
        .join(Partner, Partner.id == Reward.partner_id)
        .where(RewardClaim.passport_id == passport.id)
        .order_by(RewardClaim.claimed_at, RewardClaim.id)
    )
    return [
        {
            "reward": title,
            "partner": partner,
            "code": claim.code,
            "claimed_at": claim.claimed_at,
            "redeemed_at": claim.redeemed_at,
        }
        for claim, title, partner in rows
    ]


def export_passport(session: Session, user: User) -> dict[str, Any]:
    """The account's passport: its stamps (place, time, method, band) and reward claims."""
    passport = _passport_of(session, user)
    redeemed = session.scalar(
        sa.select(sa.func.count()).where(RewardClaim.redeemed_by_id == user.id)
    )
    out: dict[str, Any] = {}
    if passport is not None:
        out = {
            "created_at": passport.created_at,
            "stamps": _stamps(session, passport),
            "reward_claims": _claims(session, passport),
        }
    if redeemed:
        out["codes_redeemed_for_a_partner"] = redeemed
    return out


def erase_passport(session: Session, user: User, now: dt.datetime) -> None:
    """Delete the account's passport; codes it redeemed for a partner stay, by nobody."""
    session.execute(
        sa.update(RewardClaim)
        .where(RewardClaim.redeemed_by_id == user.id)
        .values(redeemed_by_id=None)
    )
    passport = _passport_of(session, user)
    if passport is None:
        return
    unused = session.scalars(
        sa.select(RewardClaim.reward_id).where(
            RewardClaim.passport_id == passport.id, RewardClaim.redeemed_at.is_(None)
        )
    ).all()
    for reward_id in unused:
        session.execute(
            sa.update(Reward)
            .where(Reward.id == reward_id, Reward.claimed > 0)
            .values(claimed=Reward.claimed - 1)
            .execution_options(synchronize_session=False)
        )
    for model in (RewardClaim, UsedCode, Stamp):
        session.execute(sa.delete(model).where(model.passport_id == passport.id))
    session.delete(passport)
    session.flush()
