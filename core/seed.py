"""`experts seed demo`: demo content for every domain, idempotent."""

from __future__ import annotations

import logging

from community.seed import seed_tips
from core.accounts.models import Role
from core.accounts.services import create_user, get_user_by_email
from core.clock import now
from core.db import db
from passport.reward_partners import seed_rewards
from passport.seed import seed_locations
from series.clues.seed import seed_clue_game
from series.episodes.hotspot_seed import seed_offers_and_hotspots
from series.seed import seed_catalogue
from series.votes.casting_seed import seed_casting
from series.votes.seed import seed_polls

logger = logging.getLogger(__name__)

#: Local demo accounts (documented in the README); never loaded in production.
DEMO_PASSWORD = "demo-experts-2026"  # noqa: S105 -- public demo password, local only
DEMO_USERS: list[tuple[str, str, Role]] = [
    ("admin@experts.example", "Admin démo", Role.ADMIN),
    ("editrice@experts.example", "Éditrice démo", Role.EDITOR),
    ("moderateur@experts.example", "Modérateur démo", Role.MODERATOR),
    ("partenaire@experts.example", "Partenaire démo (Office de tourisme)", Role.PARTNER),
    ("habitante@experts.example", "Habitante de Chauvigny", Role.RESIDENT),
    ("camille@experts.example", "Camille", Role.VIEWER),
    ("hugo@experts.example", "Hugo", Role.VIEWER),
    ("lea@experts.example", "Léa", Role.VIEWER),
]


def seed_users() -> list[str]:
    """The demo accounts that are missing."""
    created = []
    for email, name, role in DEMO_USERS:
        if get_user_by_email(db.session, email) is None:
            user = create_user(db.session, email, DEMO_PASSWORD, display_name=name, role=role)
            user.email_verified = True
            created.append(f"user {email}")
    return created


def seed_demo(media: bool = False) -> list[str]:
    """Load the demo content; returns what was created (empty the second time).

    With media, the pilot's episodes get short generated videos (ffmpeg, a few seconds).
    """
    from flask import current_app

    if current_app.config["EXPERTS_ENV"] == "production":
        raise RuntimeError("the demo seed is not for production")
    created = seed_users()
    created += seed_catalogue(db.session, now())
    created += seed_offers_and_hotspots(db.session)
    created += seed_clue_game(db.session, now())
    created += seed_locations(db.session)
    created += seed_rewards(db.session)
    created += seed_casting(db.session, now())
    if media:
        from series.episodes.seed import seed_pilot_media

        created += seed_pilot_media(db.session)
    created += seed_polls(db.session, now(), media=media)
    created += seed_tips(db.session, now())
    db.session.commit()
    logger.info("demo seed: %d objects created", len(created))
    return created or ["demo content already present: nothing changed"]
