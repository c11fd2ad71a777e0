"""Partners' rewards for passport badges, and the codes visitors claim to show at the counter.

A reward is a discount or a gift a partner offers for a badge (a département, a season, the
whole region) or for one place's stamp; never for a place of remembrance. A passport claims it
once and gets a code the partner redeems once.
"""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, intpk, long_text, str_enum, utcnow
from series.episodes.hotspot_models import Partner

#: Validity days typed by partners are days in this timezone.
REWARD_TIMEZONE = ZoneInfo("Europe/Paris")


class RewardKind(enum.StrEnum):
    DISCOUNT = "discount"
    GIFT = "gift"


class RewardCondition(enum.StrEnum):
    """What unlocks a reward; the key says which département, season or place."""

    DEPARTEMENT = "departement"
    SEASON = "season"
    REGION = "region"
    PLACE = "place"


class Reward(Base):
    """A partner's discount or gift, unlocked by a badge or a place's stamp."""

    __tablename__ = "rewards"
    __table_args__ = (
        sa.CheckConstraint("stock IS NULL OR stock >= 1", name="stock_positive"),
        sa.CheckConstraint("claimed >= 0", name="claimed_positive"),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from",
            name="validity_order",
        ),
    )

    id: Mapped[intpk]
    partner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[long_text] = mapped_column(default="")
    kind: Mapped[RewardKind] = mapped_column(str_enum(RewardKind, 10))
    condition: Mapped[RewardCondition] = mapped_column(str_enum(RewardCondition, 12))
    #: The département code ("86"), the season number ("1") or the FilmingLocation id ("12");
    #: empty for the region.
    condition_key: Mapped[str] = mapped_column(sa.String(20), default="")
    #: Claims are taken from this moment (None: at once).
    valid_from: Mapped[dt.datetime | None]
    #: Claims and redemptions stop at this moment (None: no end).
    valid_until: Mapped[dt.datetime | None]
    #: How many passports may claim it at most (None: no limit).
    stock: Mapped[int | None]
    #: Claims taken so far, raised by a conditional UPDATE so the stock holds under concurrency.
    claimed: Mapped[int] = mapped_column(default=0)
    #: A deactivated reward is offered no more; codes already claimed stay good.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship()

    @property
    def first_day(self) -> dt.date | None:
        """The first day of validity, as typed by the partner."""
        return self.valid_from.astimezone(REWARD_TIMEZONE).date() if self.valid_from else None

    @property
    def last_day(self) -> dt.date | None:
        """The last day of validity (included), as typed by the partner."""
        if self.valid_until is None:
            return None
        return (self.valid_until.astimezone(REWARD_TIMEZONE) - dt.timedelta(microseconds=1)).date()


class RewardClaim(Base):
    """A passport's claim of a reward: the code to show at the counter, redeemed once."""

    __tablename__ = "reward_claims"
    __table_args__ = (sa.UniqueConstraint("reward_id", "passport_id"),)

    id: Mapped[intpk]
    reward_id: Mapped[int] = mapped_column(sa.ForeignKey("rewards.id", ondelete="CASCADE"))
    passport_id: Mapped[int] = mapped_column(
        sa.ForeignKey("passports.id", ondelete="CASCADE"), index=True
    )
    #: "EXP-7K4Q-M2XD": read aloud or typed by the partner (no 0/O/1/I to confuse).
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Set once, by an UPDATE … WHERE redeemed_at IS NULL.
    redeemed_at: Mapped[dt.datetime | None]
    #: The partner's member who redeemed it.
    redeemed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    reward: Mapped[Reward] = relationship()
