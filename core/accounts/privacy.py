"""Privacy (RGPD): everything tied to an account, to download, and the account's deletion.

Each domain states its part of an account's data once, as a `DataSection` of `SECTIONS`: how
to export it, what deleting the account does to it, and which columns referring to `users.id`
it takes care of. A new domain adds one section (tests check that every column of the schema
referring to users is taken care of by a section).

Deletion keeps, detached from the account, what others rely on (tips and comments, ballots in a
poll's count and audit chain, clue finds holding ranks) and deletes what was the account's
alone (tokens, consent history, passport, sign-ups, standing, follows); each domain's module
says why, table by table.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from community.privacy import erase_community, export_community
from core import consent
from core.accounts import services
from core.accounts.models import User
from core.consent_models import ConsentEvent
from core.i18n import lazy_gettext as _l
from passport.privacy import erase_passport, export_passport
from series.clues.privacy import erase_clue_game, export_clue_game
from series.episodes.privacy import erase_partner, export_partner
from series.votes.privacy import erase_ballots, erase_casting, export_ballots, export_casting

logger = logging.getLogger(__name__)

#: What an exporter returns: plain dicts, lists and values (datetimes allowed, see `to_json`).
Exporter = Callable[[Session, User], Any]
#: Called in the deletion's transaction, before the user row goes; flushes, never commits.
Eraser = Callable[[Session, User, dt.datetime], None]


@dataclass(frozen=True)
class DataSection:
    """One domain's part of an account's data."""

    #: Key of the part in the export (JSON), and anchor on the readable page.
    key: str
    #: Heading of the part on the readable page.
    title: Any
    export: Exporter
    erase: Eraser
    #: The "table.column" references to users.id whose rows `erase` deals with.
    covers: tuple[str, ...]


def _issuers() -> dict[str, str]:
    """Issuer URL of each configured OpenID Connect provider, by name."""
    if not has_app_context():
        return {}
    return {p.name: p.issuer for p in current_app.config.get("OIDC_PROVIDERS") or []}


def export_account(session: Session, user: User) -> dict[str, Any]:
    """Profile, API tokens (names and dates, never the token) and sign-in providers."""
    issuers = _issuers()
    return {
        "profile": {
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "locale": user.locale,
            "email_verified": user.email_verified,
            "has_password": user.password_hash is not None,
            "created_at": user.created_at,
            "last_login_at": user.last_login_at,
        },
        "api_tokens": [
            {
                "label": token.label,
                "created_at": token.created_at,
                "last_used_at": token.last_used_at,
                "revoked_at": token.revoked_at,
            }
            for token in user.tokens
        ],
        "sign_in_providers": [
            {
                "provider": identity.provider,
                "issuer": issuers.get(identity.provider),
                "linked_at": identity.created_at,
            }
            for identity in sorted(user.identities, key=lambda i: i.created_at)
        ],
    }


def erase_account(session: Session, user: User, now: dt.datetime) -> None:
    """Tokens and linked identities go with the user row (the relationships' cascade)."""


def export_consents(session: Session, user: User) -> list[dict[str, Any]]:
    """The account's consent choices, the latest first."""
    return [
        {
            "purpose": event.purpose,
            "granted": event.granted,
            "text_version": event.text_version,
            "decided_at": event.decided_at,
        }
        for event in consent.history_of(session, user.id)
    ]


def erase_consents(session: Session, user: User, now: dt.datetime) -> None:
    """The consent history is the account's own: it goes."""
    session.execute(sa.delete(ConsentEvent).where(ConsentEvent.user_id == user.id))


SECTIONS: list[DataSection] = [
    DataSection(
        "account",
        _l("Compte"),
        export_account,
        erase_account,
        ("api_tokens.user_id", "oidc_identities.user_id"),
    ),
    DataSection(
        "consents",
        _l("Choix de consentement"),
        export_consents,
        erase_consents,
        ("consent_events.user_id",),
    ),
    DataSection(
        "clue_game", _l("Jeu d'enquête"), export_clue_game, erase_clue_game, ("players.user_id",)
    ),
    DataSection("votes", _l("Votes"), export_ballots, erase_ballots, ("ballots.user_id",)),
    DataSection(
        "casting", _l("Figuration"), export_casting, erase_casting, ("casting_signups.user_id",)
    ),
    DataSection(
        "passport",
        _l("Passeport"),
        export_passport,
        erase_passport,
        ("passports.user_id", "reward_claims.redeemed_by_id"),
    ),
    DataSection(
        "community",
        _l("Bons plans"),
        export_community,
        erase_community,
        (
            "tips.author_id",
            "tip_comments.author_id",
            "tip_votes.user_id",
            "tip_confirmations.user_id",
            "tip_flags.user_id",
            "community_members.user_id",
            "departement_follows.user_id",
            "moderation_log.moderator_id",
            "moderation_log.target_user_id",
            "appeals.author_id",
        ),
    ),
    DataSection(
        "partner",
        _l("Espace partenaires"),
        export_partner,
        erase_partner,
        ("partner_members.user_id", "ingest_jobs.created_by_id"),
    ),
]


def export_user_data(session: Session, user: User) -> dict[str, Any]:
    """Everything tied to the account, one key per section (in the order of SECTIONS)."""
    return {section.key: section.export(session, user) for section in SECTIONS}


def _encode(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not exportable")


def to_json(data: dict[str, Any]) -> str:
    """The export as readable JSON (UTF-8 text, ISO 8601 times, keys in their order)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_encode)


#: What an account without a password types to confirm its deletion.
CONFIRMATION_PHRASE = _l("SUPPRIMER MON COMPTE")


def confirms_deletion(user: User, typed: str) -> bool:
    """Re-authentication before deletion: the password, or the phrase for an account without
    one (OpenID Connect only)."""
    if user.password_hash is not None:
        return services.check_password(user, typed)
    phrases = {str(CONFIRMATION_PHRASE).casefold(), "supprimer mon compte"}
    return " ".join(typed.split()).casefold() in phrases


def delete_account(session: Session, user: User, now: dt.datetime) -> None:
    """Delete the account: each section anonymises or deletes its rows, then the user row goes.

    One transaction (this flushes; the caller commits, then signs the user out).
    """
    user_id = user.id
    for section in SECTIONS:
        section.erase(session, user, now)
    session.delete(user)
    session.flush()
    logger.info("user %s deleted", user_id)
