"""Timed hotspots, the partners' offers they point to, and their audience figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, intpk, long_text, utcnow
from series.models import Episode


class Partner(Base):
    """An organisation (business, tourism office) owning offers; partner users belong to it."""

    __tablename__ = "partners"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: "entreprise" or "office_de_tourisme".
    kind: Mapped[str] = mapped_column(sa.String(30), default="entreprise")
    website: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    offers: Mapped[list[Offer]] = relationship(back_populates="partner", order_by="Offer.id")


class PartnerMember(Base):
    """A user acting for a partner (a partner-role user may belong to one partner)."""

    __tablename__ = "partner_members"
    __table_args__ = (sa.UniqueConstraint("user_id"),)

    id: Mapped[intpk]
    partner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))

    partner: Mapped[Partner] = relationship()


class Offer(Base):
    """What a partner sells or shows: a product, a recipe or a place."""

    __tablename__ = "offers"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('product', 'recipe', 'place')", name="kind"),
        sa.CheckConstraint("price_cents IS NULL OR price_cents >= 0", name="price"),
    )

    id: Mapped[intpk]
    partner_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(200))
    text: Mapped[long_text] = mapped_column(default="")
    #: Image path under MEDIA_ROOT (or a static path for seeded offers).
    image_path: Mapped[str | None] = mapped_column(sa.String(255))
    merchant: Mapped[str] = mapped_column(sa.String(120), default="")
    price_cents: Mapped[int | None]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    #: The registered destination: clicks can only ever be sent here (no open redirect).
    url: Mapped[str | None] = mapped_column(sa.String(500))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    opening_hours: Mapped[str] = mapped_column(sa.String(300), default="")
    #: A place offer may point at a passport filming location (issue 7).
    location_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="offers")


class Hotspot(Base):
    """A timed, possibly moving, region of an episode's picture."""

    __tablename__ = "hotspots"
    __table_args__ = (sa.CheckConstraint("end_s > start_s", name="time_order"),)

    id: Mapped[intpk]
    episode_id: Mapped[int] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    #: A key of series.episodes.hotspot_kinds.KINDS ("clue", "product", "recipe", …).
    kind: Mapped[str] = mapped_column(sa.String(20))
    start_s: Mapped[float]
    end_s: Mapped[float]
    #: [{"t", "x", "y", "w", "h"}] in seconds and % of the video box, sorted by t; the box is
    #: interpolated linearly between keyframes and holds its first/last value outside them.
    keyframes: Mapped[list[dict[str, float]]] = mapped_column(sa.JSON)
    #: "rect" or "ellipse".
    shape: Mapped[str] = mapped_column(sa.String(10), default="rect")
    label: Mapped[str] = mapped_column(sa.String(120))
    #: What screen readers announce (defaults to the label).
    accessible_label: Mapped[str] = mapped_column(sa.String(200), default="")
    pause_on_show: Mapped[bool] = mapped_column(default=False)
    #: "card", "url", "seek" or "location".
    action: Mapped[str] = mapped_column(sa.String(10), default="card")
    offer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("offers.id", ondelete="SET NULL"), index=True
    )
    #: For "seek": where to jump (s); for "location": the filming location id.
    action_value: Mapped[float | None]
    #: Kind-specific data (a clue's text, image and points live here, never sent publicly).
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    episode: Mapped[Episode] = relationship()
    offer: Mapped[Offer | None] = relationship()


class HotspotDailyStat(Base):
    """Anonymous audience of a hotspot per day: impressions and clicks, no identifier."""

    __tablename__ = "hotspot_daily_stats"
    __table_args__ = (sa.UniqueConstraint("hotspot_id", "day"),)

    id: Mapped[intpk]
    hotspot_id: Mapped[int] = mapped_column(sa.ForeignKey("hotspots.id", ondelete="CASCADE"))
    day: Mapped[dt.date]
    impressions: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)


class HotspotEvent(Base):
    """One impression or click of a visitor who consented to audience measurement."""

    __tablename__ = "hotspot_events"

    id: Mapped[intpk]
    hotspot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hotspots.id", ondelete="CASCADE"), index=True
    )
    #: "impression" or "click".
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: Pseudonymous visitor id (random, kept in the visitor's consent cookie).
    visitor: Mapped[str] = mapped_column(sa.String(40), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
