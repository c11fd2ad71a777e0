"""The history of consent choices: one row per choice made, never updated."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, intpk, utcnow


class ConsentEvent(Base):
    """A choice made on a consent form: who (an account, or nobody known), what, when."""

    __tablename__ = "consent_events"

    id: Mapped[intpk]
    #: The signed-in account that chose; None for a visitor without one (nothing else is kept
    #: about them: no visitor id, no IP address). Deleted with the account.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: What the consent is for ("audience": audience measurement, core.consent).
    purpose: Mapped[str] = mapped_column(sa.String(20))
    #: True for an acceptance, False for a refusal.
    granted: Mapped[bool]
    #: Version of the text the visitor was shown when choosing (core.consent.TEXT_VERSIONS).
    text_version: Mapped[str] = mapped_column(sa.String(20))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
