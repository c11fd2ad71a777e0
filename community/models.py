"""The board of "bons plans": tips by residents, their photos, "utile" votes, comments, flags,
and the moderation that keeps it clean (trust levels, decisions logged, appeals).

Near-me queries use a grid of cells (see community/search.py): each tip stores the cell of its
point, and an index on (status, cell) finds the few cells around a point.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts.models import User
from core.db import Base, intpk, long_text, str_enum, utcnow


class TipCategory(enum.StrEnum):
    RESTAURANT = "restaurant"
    VISITE = "visite"
    EVENEMENT = "evenement"
    PRODUIT_LOCAL = "produit-local"
    NATURE = "nature"
    HEBERGEMENT = "hebergement"
    SORTIE = "sortie"
    PRATIQUE = "pratique"


class TipStatus(enum.StrEnum):
    #: A new author's tip, waiting for a moderator.
    PENDING = "pending_review"
    PUBLISHED = "published"
    #: Refused by a moderator (with a reason the author sees; they may appeal).
    REJECTED = "rejected"
    #: Hidden by flags from trusted residents until a moderator looks.
    HIDDEN = "hidden"
    #: Withdrawn by its author.
    WITHDRAWN = "withdrawn"


class Tip(Base):
    """A resident's tip: a place, a category, a short text, photos; public once published."""

    __tablename__ = "tips"
    __table_args__ = (
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="lat_lon"),
        # Near me: the published tips of the cells around a point (community.geo); with the point
        # columns, the bounding box is checked in the index before any row is read.
        sa.Index("ix_tips_status_cell", "status", "cell", "lat", "lon"),
        sa.Index("ix_tips_status_published", "status", "published_at"),
    )

    id: Mapped[intpk]
    #: None once the author's account is deleted (the tip stays, anonymised).
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(120))
    #: The small Markdown subset the author typed (rendered through community.text).
    body: Mapped[long_text]
    category: Mapped[TipCategory] = mapped_column(str_enum(TipCategory, 20))
    status: Mapped[TipStatus] = mapped_column(str_enum(TipStatus, 20), default=TipStatus.PENDING)
    #: The place of the tip (a public place, not anyone's position).
    lat: Mapped[float]
    lon: Mapped[float]
    #: Grid cell of (lat, lon) for near-me queries (community.geo.cell_of).
    cell: Mapped[int]
    #: The address typed or the commune found for the pin ("Place du Marché, Coulon").
    place_label: Mapped[str] = mapped_column(sa.String(200), default="")
    commune: Mapped[str] = mapped_column(sa.String(120), default="")
    departement_code: Mapped[str] = mapped_column(sa.String(3), index=True)
    episode_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("episodes.id", ondelete="SET NULL"), index=True
    )
    location_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("filming_locations.id", ondelete="SET NULL"), index=True
    )
    #: For events: the tip expires after ends_on.
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]
    #: Language of the text ("fr", "en", "oc"…).
    language: Mapped[str] = mapped_column(sa.String(5), default="fr")
    #: Accent-free French stems of title and text, what full-text search indexes.
    search_text: Mapped[long_text] = mapped_column(default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]
    #: Last time someone confirmed it is still true (the author at creation); stale after a year.
    confirmed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    helpful_count: Mapped[int] = mapped_column(default=0)
    comment_count: Mapped[int] = mapped_column(default=0)
    #: Why a moderator rejected it (shown to the author).
    moderation_reason: Mapped[str] = mapped_column(sa.String(500), default="")

    author: Mapped[User | None] = relationship()
    photos: Mapped[list[TipPhoto]] = relationship(
        back_populates="tip", cascade="all, delete-orphan", order_by="TipPhoto.position"
    )


class TipPhoto(Base):
    """A photo of a tip, re-encoded without metadata (community.photos)."""

    __tablename__ = "tip_photos"
    __table_args__ = (sa.UniqueConstraint("tip_id", "position"),)

    id: Mapped[intpk]
    tip_id: Mapped[int] = mapped_column(sa.ForeignKey("tips.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    #: Paths under MEDIA_ROOT (random names: never the uploaded file name).
    path: Mapped[str] = mapped_column(sa.String(255))
    thumb_path: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    width: Mapped[int]
    height: Mapped[int]
    #: Text alternative written by the author (or the title when none).
    alt: Mapped[str] = mapped_column(sa.String(200), default="")

    tip: Mapped[Tip] = relationship(back_populates="photos")


class TipVote(Base):
    """An "utile" vote: one per account and tip."""

    __tablename__ = "tip_votes"
    __table_args__ = (sa.UniqueConstraint("tip_id", "user_id"),)

    id: Mapped[intpk]
    tip_id: Mapped[int] = mapped_column(sa.ForeignKey("tips.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TipConfirmation(Base):
    """A resident confirming the tip is still true (one per account and tip, latest kept)."""

    __tablename__ = "tip_confirmations"
    __table_args__ = (sa.UniqueConstraint("tip_id", "user_id"),)

    id: Mapped[intpk]
    tip_id: Mapped[int] = mapped_column(sa.ForeignKey("tips.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    confirmed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CommentStatus(enum.StrEnum):
    PENDING = "pending_review"
    PUBLISHED = "published"
    REJECTED = "rejected"
    HIDDEN = "hidden"


class TipComment(Base):
    """A comment under a tip (plain text; moderated like tips)."""

    __tablename__ = "tip_comments"
    __table_args__ = (sa.Index("ix_tip_comments_tip_status", "tip_id", "status"),)

    id: Mapped[intpk]
    tip_id: Mapped[int] = mapped_column(sa.ForeignKey("tips.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[long_text]
    status: Mapped[CommentStatus] = mapped_column(
        str_enum(CommentStatus, 20), default=CommentStatus.PENDING
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    OFF_TOPIC = "off_topic"
    INAPPROPRIATE = "inappropriate"
    OUTDATED = "outdated"
    WRONG_PLACE = "wrong_place"


class TipFlag(Base):
    """A resident's flag on a tip (one per account and tip); weighed by the flagger's trust."""

    __tablename__ = "tip_flags"
    __table_args__ = (sa.UniqueConstraint("tip_id", "user_id"),)

    id: Mapped[intpk]
    tip_id: Mapped[int] = mapped_column(sa.ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[FlagReason] = mapped_column(str_enum(FlagReason, 20))
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    #: The flagger's trust level when flagging (trusted flags hide a tip sooner).
    trust_level: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Set when a moderator handled the flag (agreed or not).
    resolved_at: Mapped[dt.datetime | None]


class CommunityMember(Base):
    """A resident's standing on the board: trust level, what it rests on, sanctions, badges."""

    __tablename__ = "community_members"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    #: 0 new, 1 basic, 2 member, 3 regular, 4 leader (set by moderators only).
    trust_level: Mapped[int] = mapped_column(default=0)
    tips_read: Mapped[int] = mapped_column(default=0)
    days_visited: Mapped[int] = mapped_column(default=0)
    last_visit_on: Mapped[dt.date | None]
    approved_posts: Mapped[int] = mapped_column(default=0)
    rejected_posts: Mapped[int] = mapped_column(default=0)
    #: Silenced members cannot post until then.
    silenced_until: Mapped[dt.datetime | None]
    banned: Mapped[bool] = mapped_column(default=False)
    #: "ambassador" (resident ambassador) or "guest_star"; their picks are highlighted.
    badge: Mapped[str] = mapped_column(sa.String(20), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class DepartementFollow(Base):
    """A resident following a département's new tips."""

    __tablename__ = "departement_follows"
    __table_args__ = (sa.UniqueConstraint("user_id", "departement_code"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    departement_code: Mapped[str] = mapped_column(sa.String(3))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ModerationAction(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    AUTO_HIDE = "auto_hide"
    RESTORE = "restore"
    SILENCE = "silence"
    BAN = "ban"
    APPEAL = "appeal"
    APPEAL_UPHELD = "appeal_upheld"
    APPEAL_DENIED = "appeal_denied"
    TRUST = "trust"
    BADGE = "badge"


class ModerationLog(Base):
    """Every moderation decision, in order; the public log shows them without private notes."""

    __tablename__ = "moderation_log"

    id: Mapped[intpk]
    action: Mapped[ModerationAction] = mapped_column(str_enum(ModerationAction, 20))
    #: None for the system (a tip hidden by flags).
    moderator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    tip_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tips.id", ondelete="SET NULL"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("tip_comments.id", ondelete="SET NULL")
    )
    target_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    #: The reason given (public).
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DENIED = "denied"


class Appeal(Base):
    """An author's appeal of a decision on their tip (one open appeal per tip)."""

    __tablename__ = "appeals"

    id: Mapped[intpk]
    tip_id: Mapped[int] = mapped_column(sa.ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.String(1000))
    status: Mapped[AppealStatus] = mapped_column(
        str_enum(AppealStatus, 10), default=AppealStatus.OPEN
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
