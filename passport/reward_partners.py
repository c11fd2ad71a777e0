"""What partners do with passport rewards: create and deactivate them, follow their claims, and
check and redeem the codes visitors show at the counter.

A code is redeemed once, by an UPDATE … WHERE redeemed_at IS NULL (concurrent redemptions give
one success). A code of another partner's reward is answered as unknown; checks are limited
per partner user, so codes cannot be guessed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import format_datetime
from sqlalchemy.orm import Session, selectinload

from core import counters
from core.i18n import gettext as _
from passport.models import FilmingLocation
from passport.reward_models import Reward, RewardClaim, RewardCondition, RewardKind
from passport.rewards import RewardRefused, condition_label, is_expired, normalise_code
from series.episodes.hotspot_models import Partner
from series.episodes.hotspot_seed import PARTNERS
from series.models import DEPARTEMENTS, Season

logger = logging.getLogger(__name__)

#: Code checks per partner user and minute before refusing (codes must not be guessable).
CHECKS_PER_MINUTE = 30


def _condition_key(session: Session, condition: str, key: str) -> str:
    """The key of a reward's condition, checked: no unknown place, none of remembrance."""
    if condition == RewardCondition.REGION:
        return ""
    if condition == RewardCondition.DEPARTEMENT and key in DEPARTEMENTS:
        return key
    if condition == RewardCondition.SEASON and key.isdigit():
        if session.scalar(sa.select(Season.id).where(Season.number == int(key))) is None:
            raise RewardRefused("invalid", _("Cette saison n'existe pas."), field="condition")
        return key
    if condition == RewardCondition.PLACE and key.isdigit():
        place = session.get(FilmingLocation, int(key))
        if place is None:
            raise RewardRefused("invalid", _("Ce lieu n'existe pas."), field="condition")
        if place.remembrance:
            raise RewardRefused(
                "remembrance",
                _(
                    "« %(name)s » est un lieu de mémoire : on y passe sans points ni "
                    "célébration, aucune récompense ne peut y être attachée.",
                    name=place.name,
                ),
                field="condition",
            )
        return key
    raise RewardRefused(
        "invalid", _("Choisissez ce qui débloque la récompense."), field="condition"
    )


def create_reward(
    session: Session,
    partner: Partner,
    user_id: int,
    *,
    title: str,
    description: str,
    kind: str,
    condition: str,
    condition_key: str,
    valid_from: dt.datetime | None,
    valid_until: dt.datetime | None,
    stock: int | None,
) -> Reward:
    """Create a partner's reward, or refuse it with the field at fault."""
    if not title.strip():
        raise RewardRefused("invalid", _("Donnez un titre à la récompense."), field="title")
    if kind not in {k.value for k in RewardKind}:
        raise RewardRefused("invalid", _("Choisissez une réduction ou un cadeau."), field="kind")
    key = _condition_key(session, condition, condition_key.strip())
    if valid_from and valid_until and valid_until <= valid_from:
        raise RewardRefused(
            "invalid", _("La fin de validité précède son début."), field="valid_until"
        )
    if stock is not None and stock < 1:
        raise RewardRefused("invalid", _("Le stock est d'au moins 1."), field="stock")
    reward = Reward(
        partner_id=partner.id,
        title=title.strip(),
        description=description.strip(),
        kind=RewardKind(kind),
        condition=RewardCondition(condition),
        condition_key=key,
        valid_from=valid_from,
        valid_until=valid_until,
        stock=stock,
    )
    session.add(reward)
    session.flush()
    logger.info("reward %s added by %s", reward.id, user_id)
    return reward


def deactivate_reward(session: Session, reward: Reward, user_id: int) -> None:
    """Offer a reward no more (codes already claimed stay good)."""
    reward.active = False
    session.flush()
    logger.info("reward %s deactivated by %s", reward.id, user_id)


@dataclass(frozen=True)
class RewardFigures:
    reward: Reward
    condition: str
    claimed: int
    redeemed: int


def partner_rewards(session: Session, partner: Partner) -> list[RewardFigures]:
    """A partner's rewards with their claims and redemptions, newest first."""
    counts = {
        reward_id: (claimed, redeemed)
        for reward_id, claimed, redeemed in session.execute(
            sa.select(
                RewardClaim.reward_id,
                sa.func.count(RewardClaim.id),
                sa.func.count(RewardClaim.redeemed_at),
            )
            .join(Reward)
            .where(Reward.partner_id == partner.id)
            .group_by(RewardClaim.reward_id)
        )
    }
    rewards = session.scalars(
        sa.select(Reward)
        .where(Reward.partner_id == partner.id)
        .order_by(Reward.created_at.desc(), Reward.id.desc())
    )
    return [
        RewardFigures(r, condition_label(session, r), *counts.get(r.id, (0, 0))) for r in rewards
    ]


def _check_rate(user_id: int) -> None:
    if counters.incr(f"reward-code-checks:{user_id}", ttl=60) > CHECKS_PER_MINUTE:
        raise RewardRefused(
            "too_many_attempts",
            _("Trop de codes vérifiés : réessayez dans une minute."),
            status=429,
        )


def _unknown() -> RewardRefused:
    return RewardRefused("unknown_code", _("Code inconnu : vérifiez sa saisie."), 404)


def find_code(
    session: Session, typed: str, partner_ids: Sequence[int], user_id: int
) -> RewardClaim:
    """The claim of a code typed by a partner's member; another partner's code is unknown."""
    _check_rate(user_id)
    code = normalise_code(typed)
    claim = None
    if code is not None:
        claim = session.scalar(
            sa.select(RewardClaim)
            .join(Reward)
            .where(RewardClaim.code == code, Reward.partner_id.in_(list(partner_ids)))
            .options(selectinload(RewardClaim.reward))
        )
    if claim is None:
        raise _unknown()
    return claim


def redeem_code(
    session: Session, typed: str, partner_ids: Sequence[int], user_id: int, at: dt.datetime
) -> RewardClaim:
    """Mark a code used, once: a second redemption is refused with the date of the first."""
    claim = find_code(session, typed, partner_ids, user_id)
    if is_expired(claim.reward, at):
        assert claim.reward.valid_until is not None
        raise RewardRefused(
            "expired",
            _("Ce code a expiré le %(at)s.", at=format_datetime(claim.reward.valid_until, "short")),
        )
    done = session.execute(
        sa.update(RewardClaim)
        .where(RewardClaim.id == claim.id, RewardClaim.redeemed_at.is_(None))
        .values(redeemed_at=at, redeemed_by_id=user_id)
        .returning(RewardClaim.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    session.refresh(claim)
    if done is None:
        assert claim.redeemed_at is not None
        raise RewardRefused(
            "already_used",
            _("Code déjà utilisé le %(at)s.", at=format_datetime(claim.redeemed_at, "short")),
            409,
        )
    logger.info("reward claim %s redeemed by %s", claim.id, user_id)
    return claim


#: Demo rewards: (title, description, kind, condition, key: a département, season or place slug).
DEMO_REWARDS = [
    (
        "−10 % à la boutique du Futuroscope",
        "Sur présentation du code, 10 % de réduction sur un achat à la boutique du parc.",
        RewardKind.DISCOUNT,
        RewardCondition.DEPARTEMENT,
        "86",
    ),
    (
        "Un sac en toile de la série offert",
        "À retirer à l'accueil de l'Office de tourisme de Poitiers, dans la limite du stock.",
        RewardKind.GIFT,
        RewardCondition.SEASON,
        "1",
    ),
]


def seed_rewards(session: Session) -> list[str]:
    """The demo partner's rewards (the partner account's office), when missing."""
    partner = session.scalar(sa.select(Partner).where(Partner.name == PARTNERS[0][0]))
    if partner is None:
        return []
    created = []
    for title, description, kind, condition, key in DEMO_REWARDS:
        if session.scalar(sa.select(Reward.id).where(Reward.title == title)) is not None:
            continue
        session.add(
            Reward(
                partner_id=partner.id,
                title=title,
                description=description,
                kind=kind,
                condition=condition,
                condition_key=key,
                stock=50 if kind == RewardKind.GIFT else None,
            )
        )
        created.append(f"reward {title}")
    session.flush()
    return created
