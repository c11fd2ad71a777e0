"""Account rules: sign-up, passwords, API tokens, OpenID Connect linking."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from core.accounts.models import ApiToken, OidcIdentity, Role, User
from core.db import utcnow
from core.errors import ApiError
from core.i18n import lazy_gettext as _l

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "xna_"  # noqa: S105 -- a public prefix, not a secret
MIN_PASSWORD_LENGTH = 10


class EmailTaken(ApiError):
    def __init__(self) -> None:
        super().__init__(409, "email_taken", _l("Un compte existe déjà avec cette adresse e-mail."))


class WeakPassword(ApiError):
    def __init__(self) -> None:
        super().__init__(
            422,
            "weak_password",
            _l("Le mot de passe doit contenir au moins %(n)s caractères.", n=MIN_PASSWORD_LENGTH),
        )


def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=current_app.config["ARGON2_TIME_COST"],
        memory_cost=current_app.config["ARGON2_MEMORY_COST"],
    )


def normalise_email(email: str) -> str:
    """E-mail addresses compare lower-cased and trimmed."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword()
    return _hasher().hash(password)


def get_user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail address, if any."""
    return session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    email: str,
    password: str | None,
    display_name: str | None = None,
    role: Role = Role.VIEWER,
    locale: str | None = None,
) -> User:
    """Create an account; refuses an e-mail already taken."""
    email = normalise_email(email)
    if get_user_by_email(session, email) is not None:
        raise EmailTaken()
    user = User(
        email=email,
        display_name=(display_name or email.split("@")[0])[:80],
        password_hash=hash_password(password) if password is not None else None,
        role=role,
        locale=locale,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:
        # Two sign-ups raced for the same address: the unique constraint decides.
        raise EmailTaken() from None
    logger.info("user %s added (%s)", user.email, user.role)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = get_user_by_email(session, email)
    if user is None or user.password_hash is None or not user.is_active:
        # Spend the same time as a real check so response time does not reveal accounts.
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return None
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    return user


def check_password(user: User, password: str) -> bool:
    """Whether this is the account's password (asked again before a grave action)."""
    if user.password_hash is None:
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[tuple[int, int], str] = {}


def _dummy_hash() -> str:
    key = (current_app.config["ARGON2_TIME_COST"], current_app.config["ARGON2_MEMORY_COST"])
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = _hasher().hash(secrets.token_hex(16))
    return _DUMMY_HASHES[key]


def record_login(user: User) -> None:
    """Note the time of a successful login."""
    user.last_login_at = utcnow()


def set_password(user: User, password: str) -> None:
    """Change the password and sign out every other session."""
    user.password_hash = hash_password(password)
    user.session_nonce = secrets.token_hex(8)
    logger.info("password of %s changed", user.email)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    # A reset link dies once the password it was issued against changes (single use).
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    """A signed, expiring, single-use password reset token."""
    return _reset_serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user)})


def user_from_reset_token(session: Session, token: str) -> User | None:
    """The user a valid reset token was issued to, or None."""
    try:
        data: dict[str, Any] = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except BadSignature:
        return None
    user = session.get(User, data.get("uid"))
    if user is None or not user.is_active or data.get("fp") != _password_fingerprint(user):
        return None
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create an API token; returns the row and the clear token (shown once)."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, token_hash=_hash_token(clear), prefix=clear[:12], label=label[:80])
    session.add(token)
    session.flush()
    logger.info("api token %s added for %s", token.prefix, user.email)
    return token, clear


def user_for_api_token(session: Session, clear: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(clear)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    # Write the last use at most once a minute, not on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user


def revoke_api_token(token: ApiToken) -> None:
    """Revoke a token; it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        logger.info("api token %s revoked", token.prefix)


def user_for_oidc_login(
    session: Session, provider: str, claims: dict[str, Any]
) -> tuple[User, bool]:
    """Find, link or create the user for verified OpenID Connect claims.

    Returns the user and whether the account was just created. An existing account is
    linked by e-mail only when the provider says the address is verified.
    """
    subject = str(claims["sub"])
    identity = session.scalar(
        sa.select(OidcIdentity).where(
            OidcIdentity.provider == provider, OidcIdentity.subject == subject
        )
    )
    if identity is not None:
        return identity.user, False
    email = claims.get("email")
    verified = bool(claims.get("email_verified"))
    created = False
    user = get_user_by_email(session, email) if email else None
    if user is not None and not verified:
        raise ApiError(
            409,
            "email_unverified",
            _l(
                "Un compte existe déjà avec cette adresse, mais le fournisseur ne l'a pas "
                "vérifiée : connectez-vous avec votre mot de passe pour lier les comptes."
            ),
        )
    if user is None:
        if not email:
            email = f"{provider}-{subject}@oidc.invalid"
        name = claims.get("name") or claims.get("preferred_username") or email.split("@")[0]
        user = create_user(session, email, None, display_name=str(name))
        user.email_verified = verified
        created = True
    session.add(OidcIdentity(user=user, provider=provider, subject=subject))
    session.flush()
    logger.info("oidc identity %s/%s linked to %s", provider, subject, user.email)
    return user, created
