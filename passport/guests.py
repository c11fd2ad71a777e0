"""Whose passport: the signed-in account's, or a guest's known by a random token in a cookie.

A tourist can stamp without an account. The first stamp attempt creates a guest passport and
sets the `passeport` cookie, an HttpOnly random token whose SHA-256 alone is stored. When the
visitor later signs in or signs up, the guest's stamps (and what hangs on the passport, such
as claimed rewards) move into the account's passport (merge_guest_into); nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from core import counters
from core.accounts.models import User
from core.db import db
from core.errors import ApiError
from core.guests import GuestCookie
from core.i18n import gettext as _
from passport.models import Passport, Stamp, UsedCode

logger = logging.getLogger(__name__)

GUEST_COOKIE = "passeport"
COOKIE = GuestCookie(GUEST_COOKIE)
#: New guest passports per address and hour (a guest's attempts are limited per passport).
GUESTS_PER_ADDRESS_HOUR = 30

#: Called as hook(session, guest, target) before a guest passport is deleted by a merge: other
#: modules move what they keep per passport (e.g. claimed rewards).
MERGE_HOOKS: list[Callable[[Session, Passport, Passport], None]] = []


def passport_for_user(session: Session, user_id: int) -> Passport:
    """The account's passport, created on first use (concurrent first uses make one)."""
    from passport.services import passport_for_user as ensure

    return ensure(session, user_id)


def guest_passport(session: Session) -> Passport | None:
    """The guest passport of this request's cookie, if it exists."""
    token_hash = COOKIE.token_hash()
    if token_hash is None:
        return None
    return session.scalar(sa.select(Passport).where(Passport.guest_token_hash == token_hash))


def new_guest(session: Session) -> Passport:
    """A new guest passport; its token goes in this request's response cookie."""
    address = (request.remote_addr or "?") if has_request_context() else "?"
    key = f"passport-guests:{address}"
    if counters.incr(key, ttl=3600) > GUESTS_PER_ADDRESS_HOUR:
        error = ApiError(
            429,
            "too_many_attempts",
            _("Trop de passeports créés depuis cette adresse : réessayez plus tard."),
            reason="too_many_attempts",
        )
        error.headers["Retry-After"] = str(max(counters.ttl(key), 1))
        raise error
    passport = Passport(guest_token_hash=COOKIE.issue())
    session.add(passport)
    session.flush()
    logger.info("guest passport %s created", passport.id)
    return passport


def visitor_passport(session: Session, create: bool = False) -> Passport | None:
    """The caller's passport: their account's, else their guest cookie's (made when `create`)."""
    from passport.services import find_passport

    if current_user.is_authenticated:
        if create:
            return passport_for_user(session, current_user.id)
        return find_passport(session, current_user.id)
    passport = guest_passport(session)
    if passport is None and create:
        passport = new_guest(session)
    return passport


def merge_guest_into(session: Session, guest: Passport, target: Passport) -> int:
    """Move a guest's stamps and used codes into another passport, then delete the guest.

    Where both stamped the same place, the earlier stamp is kept. Returns the number of
    stamps moved.
    """
    moved = 0
    mine = {
        s.location_id: s
        for s in session.scalars(sa.select(Stamp).where(Stamp.passport_id == target.id))
    }
    for stamp in session.scalars(sa.select(Stamp).where(Stamp.passport_id == guest.id)).all():
        kept = mine.get(stamp.location_id)
        if kept is not None and kept.taken_at <= stamp.taken_at:
            session.delete(stamp)
            continue
        if kept is not None:
            session.delete(kept)
            session.flush()
        stamp.passport_id = target.id
        moved += 1
    used = set(
        session.scalars(sa.select(UsedCode.code_hash).where(UsedCode.passport_id == target.id))
    )
    for code in session.scalars(sa.select(UsedCode).where(UsedCode.passport_id == guest.id)):
        if code.code_hash in used:
            session.delete(code)
        else:
            code.passport_id = target.id
    session.flush()
    for hook in MERGE_HOOKS:
        hook(session, guest, target)
    session.flush()
    session.delete(guest)
    session.flush()
    logger.info("guest passport %s merged into passport %s (%d stamps)", guest.id, target.id, moved)
    return moved


def _on_login(user: User) -> None:
    """A guest who signs in or signs up keeps their stamps."""
    guest = guest_passport(db.session)
    if guest is not None:
        merge_guest_into(db.session, guest, passport_for_user(db.session, user.id))


def init_guests(app: Flask) -> None:
    """Merge guest passports at sign-in; write the cookie after requests that made one."""
    COOKIE.install(app, _on_login)
