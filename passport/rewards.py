"""Rewards of the passport, on the visitor's side: what a passport may claim, and the claims.

A claim is written once per reward and passport (a unique constraint and INSERT … ON CONFLICT
DO NOTHING: a second claim answers the first code); the stock is taken by a conditional UPDATE
of the reward's counter, so concurrent claims never exceed it. Places of remembrance carry no
reward. A guest's claims follow the guest into the account they sign in to (a merge hook).
The partners' side (creating rewards, redeeming codes) is in passport.reward_partners.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.db import conflict_insert
from core.i18n import gettext as _
from core.i18n import ngettext
from passport import badges, guests, services
from passport.models import FilmingLocation, Passport, Stamp, StampStatus
from passport.reward_models import Reward, RewardClaim, RewardCondition
from series.episodes.hotspot_models import Partner
from series.models import DEPARTEMENTS

logger = logging.getLogger(__name__)

#: Letters and digits that cannot be mistaken for one another (no 0/O, 1/I).
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_PREFIX = "EXP"
_CODE = re.compile(rf"^(?:{CODE_PREFIX})?([{CODE_ALPHABET}]{{4}})([{CODE_ALPHABET}]{{4}})$")


class RewardRefused(Exception):
    """A claim, a reward or a code refused: a reason code and a message for people."""

    def __init__(self, reason: str, message: str, status: int = 422, field: str = "") -> None:
        super().__init__(reason)
        self.reason, self.message, self.status, self.field = reason, message, status, field


class RewardState(enum.StrEnum):
    LOCKED = "locked"
    CLAIMABLE = "claimable"
    CLAIMED = "claimed"
    REDEEMED = "redeemed"
    OUT_OF_STOCK = "out_of_stock"
    EXPIRED = "expired"


@dataclass(frozen=True)
class RewardOffer:
    """A reward as one visitor sees it."""

    reward: Reward
    state: RewardState
    #: What unlocks it ("Badge Vienne (86)").
    condition: str
    #: For a locked reward: what is still missing.
    missing: str = ""
    claim: RewardClaim | None = None

    @property
    def code(self) -> str | None:
        return self.claim.code if self.claim else None


def new_code() -> str:
    """A random claim code: EXP-XXXX-XXXX over an unambiguous alphabet (40 bits)."""
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{CODE_PREFIX}-{letters[:4]}-{letters[4:]}"


def normalise_code(typed: str) -> str | None:
    """A code as typed at the counter ("exp 7k4q m2xd") in its stored form, or None."""
    compact = re.sub(r"[\s\-_.]", "", typed).upper()
    match = _CODE.match(compact)
    return f"{CODE_PREFIX}-{match.group(1)}-{match.group(2)}" if match else None


# ---- Conditions ----


def _place(session: Session, reward: Reward) -> FilmingLocation | None:
    if reward.condition != RewardCondition.PLACE or not reward.condition_key.isdigit():
        return None
    return session.get(FilmingLocation, int(reward.condition_key))


def condition_label(session: Session, reward: Reward) -> str:
    """What unlocks a reward, for people."""
    key = reward.condition_key
    if reward.condition == RewardCondition.DEPARTEMENT:
        return _("Badge %(name)s (%(code)s)", name=DEPARTEMENTS.get(key, key), code=key)
    if reward.condition == RewardCondition.SEASON:
        return _("Badge de la saison %(n)s", n=key)
    if reward.condition == RewardCondition.REGION:
        return _("Badge Nouvelle-Aquitaine")
    place = _place(session, reward)
    return _("Tampon du lieu « %(name)s »", name=place.name if place else key)


def _group(progress: badges.Progress, reward: Reward) -> badges.Group | None:
    groups = progress.departements if reward.condition == "departement" else progress.seasons
    return next((g for g in groups if g.key == reward.condition_key), None)


def _missing(session: Session, reward: Reward, progress: badges.Progress) -> str:
    """What a passport still lacks for a reward."""
    if reward.condition == RewardCondition.PLACE:
        place = _place(session, reward)
        return _("Tamponnez le lieu « %(name)s ».", name=place.name if place else "?")
    if reward.condition == RewardCondition.REGION:
        left = progress.total - progress.stamped
    else:
        group = _group(progress, reward)
        if group is None or not group.places:
            return _("Ce badge n'a pas encore de lieux à tamponner.")
        left = group.total - group.done
    return ngettext("Encore %(num)s lieu à tamponner.", "Encore %(num)s lieux à tamponner.", left)


def _accepted_places(session: Session, passport: Passport | None) -> set[int]:
    if passport is None:
        return set()
    return set(
        session.scalars(
            sa.select(Stamp.location_id).where(
                Stamp.passport_id == passport.id, Stamp.status == StampStatus.ACCEPTED
            )
        )
    )


def _met(reward: Reward, progress: badges.Progress, stamped: set[int]) -> bool:
    if reward.condition == RewardCondition.PLACE:
        return reward.condition_key.isdigit() and int(reward.condition_key) in stamped
    return progress.has_badge(reward.condition.value, reward.condition_key)


def _remembrance(session: Session, reward: Reward) -> bool:
    place = _place(session, reward)
    return place is not None and place.remembrance


def progress_of(session: Session, passport: Passport, at: dt.datetime) -> badges.Progress:
    """A passport's badges now."""
    places = services.locations(session)
    return badges.progress(session, places, services.stamps_of(session, passport), at)


# ---- What a visitor sees ----


def _open(at: dt.datetime) -> Any:
    """Rewards on offer at `at`."""
    return sa.and_(
        Reward.active.is_(True),
        sa.or_(Reward.valid_from.is_(None), Reward.valid_from <= at),
        sa.or_(Reward.valid_until.is_(None), Reward.valid_until > at),
    )


def is_expired(reward: Reward, at: dt.datetime) -> bool:
    return reward.valid_until is not None and reward.valid_until <= at


def offers_for(
    session: Session, passport: Passport | None, progress: badges.Progress, at: dt.datetime
) -> list[RewardOffer]:
    """The rewards on offer, and those the passport claimed, each with its state for it."""
    claims: dict[int, RewardClaim] = {}
    if passport is not None:
        claims = {
            c.reward_id: c
            for c in session.scalars(
                sa.select(RewardClaim).where(RewardClaim.passport_id == passport.id)
            )
        }
    rewards = session.scalars(
        sa.select(Reward)
        .join(Partner)
        .where(sa.or_(_open(at), Reward.id.in_(list(claims))))
        .options(selectinload(Reward.partner))
        .order_by(Partner.name, Reward.created_at, Reward.id)
    ).all()
    stamped = _accepted_places(session, passport)
    offers = []
    for reward in rewards:
        claim = claims.get(reward.id)
        if claim is None and _remembrance(session, reward):
            continue
        label = condition_label(session, reward)
        if claim is not None:
            if claim.redeemed_at is not None:
                state = RewardState.REDEEMED
            elif is_expired(reward, at):
                state = RewardState.EXPIRED
            else:
                state = RewardState.CLAIMED
            offers.append(RewardOffer(reward, state, label, claim=claim))
        elif reward.stock is not None and reward.claimed >= reward.stock:
            offers.append(RewardOffer(reward, RewardState.OUT_OF_STOCK, label))
        elif _met(reward, progress, stamped):
            offers.append(RewardOffer(reward, RewardState.CLAIMABLE, label))
        else:
            missing = _missing(session, reward, progress)
            offers.append(RewardOffer(reward, RewardState.LOCKED, label, missing))
    return offers


# ---- Claims ----


@dataclass(frozen=True)
class ClaimResult:
    claim: RewardClaim
    created: bool


def _claim_of(session: Session, reward: Reward, passport: Passport) -> RewardClaim | None:
    return session.scalar(
        sa.select(RewardClaim).where(
            RewardClaim.reward_id == reward.id, RewardClaim.passport_id == passport.id
        )
    )


def _release(session: Session, reward_id: int) -> None:
    """Give back one unit of a reward's stock."""
    session.execute(
        sa.update(Reward)
        .where(Reward.id == reward_id, Reward.claimed > 0)
        .values(claimed=Reward.claimed - 1)
        .execution_options(synchronize_session=False)
    )


def claim_reward(
    session: Session, reward: Reward, passport: Passport, at: dt.datetime
) -> ClaimResult:
    """Claim a reward for a passport whose badges unlock it; a second claim gets the first code."""
    existing = _claim_of(session, reward, passport)
    if existing is not None:
        return ClaimResult(existing, False)
    if not reward.active or _remembrance(session, reward):
        raise RewardRefused("not_offered", _("Cette récompense n'est plus proposée."), 404)
    if reward.valid_from is not None and reward.valid_from > at:
        raise RewardRefused("not_yet", _("Cette récompense n'est pas encore proposée."))
    if is_expired(reward, at):
        raise RewardRefused("expired", _("Cette récompense n'est plus valable."))
    progress = progress_of(session, passport, at)
    if not _met(reward, progress, _accepted_places(session, passport)):
        raise RewardRefused("locked", _missing(session, reward, progress))
    # Take one unit of stock atomically: concurrent claims of the last unit get one success.
    taken = session.execute(
        sa.update(Reward)
        .where(
            Reward.id == reward.id,
            sa.or_(Reward.stock.is_(None), Reward.claimed < Reward.stock),
        )
        .values(claimed=Reward.claimed + 1)
        .returning(Reward.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    session.expire(reward, ["claimed"])
    if taken is None:
        # The last unit may have gone to this very passport, claiming twice at once.
        existing = _claim_of(session, reward, passport)
        if existing is not None:
            return ClaimResult(existing, False)
        raise RewardRefused("out_of_stock", _("Cette récompense est épuisée."))
    for _attempt in range(5):  # another try only when a random code is already taken
        inserted = session.execute(
            conflict_insert(session, RewardClaim)
            .values(reward_id=reward.id, passport_id=passport.id, code=new_code(), claimed_at=at)
            .on_conflict_do_nothing()
            .returning(RewardClaim.id)
        ).scalar()
        if inserted is not None:
            claim = session.get(RewardClaim, inserted)
            assert claim is not None
            logger.info("reward %s claimed by passport %s", reward.id, passport.id)
            return ClaimResult(claim, True)
        existing = _claim_of(session, reward, passport)
        if existing is not None:  # a concurrent claim of the same passport won
            _release(session, reward.id)
            return ClaimResult(existing, False)
    raise RuntimeError("no free reward code after 5 attempts")


def move_claims(session: Session, guest: Passport, target: Passport) -> None:
    """Move a guest's claims into an account's passport (a merge hook).

    For a reward both claimed, the account's claim is kept, unless only the guest's code was
    already used at a counter: that one is kept then, so the gift is not given twice.
    """
    mine = {
        c.reward_id: c
        for c in session.scalars(sa.select(RewardClaim).where(RewardClaim.passport_id == target.id))
    }
    theirs = session.scalars(sa.select(RewardClaim).where(RewardClaim.passport_id == guest.id))
    for claim in theirs.all():
        kept = mine.get(claim.reward_id)
        if kept is not None:
            dropped = kept if kept.redeemed_at is None and claim.redeemed_at else claim
            session.delete(dropped)
            session.flush()
            if dropped.redeemed_at is None:
                _release(session, dropped.reward_id)
            if dropped is claim:
                continue
        claim.passport_id = target.id
    session.flush()


if move_claims not in guests.MERGE_HOOKS:
    guests.MERGE_HOOKS.append(move_claims)
