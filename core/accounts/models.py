"""Accounts: users, roles, API tokens and linked OpenID Connect identities."""

from __future__ import annotations

import datetime as dt
import enum
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, intpk, str_enum, utcnow


class Role(enum.StrEnum):
    """What a user may do; admin may do everything."""

    VIEWER = "viewer"
    RESIDENT = "resident"
    PARTNER = "partner"
    MODERATOR = "moderator"
    EDITOR = "editor"
    ADMIN = "admin"


def _new_session_nonce() -> str:
    return secrets.token_hex(8)


class User(Base):
    """A person with an account (local password, OpenID Connect, or both)."""

    __tablename__ = "users"

    id: Mapped[intpk]
    #: Stored lower-cased; unique across the platform.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(80))
    #: argon2id hash; None for accounts that only sign in through OpenID Connect.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        str_enum(Role, 20, validate_strings=True),
        default=Role.VIEWER,
    )
    #: Preferred interface language ("fr" or "en"); None follows the browser.
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified: Mapped[bool] = mapped_column(default=False)
    #: Part of the login session id: changing it (password change) signs out every session.
    session_nonce: Mapped[str] = mapped_column(sa.String(16), default=_new_session_nonce)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id"
    )
    identities: Mapped[list[OidcIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}"

    def has_role(self, *roles: Role | str) -> bool:
        """True when the user holds one of the roles (admin holds them all)."""
        return self.role == Role.ADMIN or self.role in {Role(r) for r in roles}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 hex digest of the token; the token itself is shown once at creation.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: First characters of the token, so its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    label: Mapped[str] = mapped_column(sa.String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class OidcIdentity(Base):
    """A link between a user and an account at an OpenID Connect provider."""

    __tablename__ = "oidc_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject"),)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: Provider name as given in OIDC_PROVIDERS (lower-case).
    provider: Mapped[str] = mapped_column(sa.String(40))
    #: The provider's `sub` claim: stable for this user at this provider.
    subject: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="identities")
