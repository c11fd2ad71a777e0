"""Helpers of the passport rewards' tests: rewards, passports and stamps made directly, and the
app on a database of its own for concurrent requests."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from core.db import db as database
from passport import badges, reward_partners, rewards, services
from passport.models import FilmingLocation, Passport, Stamp, StampMethod, StampStatus
from passport.reward_models import Reward
from series.episodes.hotspot_models import Partner
from tests.support.clock import Clock
from tests.support.databases import migrated_database

OFFICE = "Office de tourisme Grand Poitiers"
GROCER = "Saveurs du Poitou (épicerie fine)"
CODE = re.compile(r"^EXP-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


def partner_id(db: Any, name: str) -> int:
    found = db.session.scalar(sa.select(Partner.id).where(Partner.name == name))
    assert found is not None
    return int(found)


def new_reward(db: Any, partner: str = OFFICE, **values: Any) -> int:
    """A reward (the Vienne badge's unless told), created through the service."""
    fields: dict[str, Any] = {
        "title": "−10 % à la boutique",
        "description": "Sur présentation du code.",
        "kind": "discount",
        "condition": "departement",
        "condition_key": "86",
        "valid_from": None,
        "valid_until": None,
        "stock": None,
    } | values
    owner = db.session.get(Partner, partner_id(db, partner))
    reward = reward_partners.create_reward(db.session, owner, 0, **fields)
    db.session.commit()
    return reward.id


def place_id(db: Any, slug: str) -> int:
    found = db.session.scalar(sa.select(FilmingLocation.id).where(FilmingLocation.slug == slug))
    assert found is not None
    return int(found)


def new_passport(db: Any, user_id: int | None = None) -> Passport:
    passport = Passport(
        user_id=user_id, guest_token_hash=None if user_id else uuid.uuid4().hex + uuid.uuid4().hex
    )
    db.session.add(passport)
    db.session.flush()
    return passport


def stamp(
    db: Any, passport: Passport, location: int, at: dt.datetime, status: str = "accepted"
) -> None:
    db.session.add(
        Stamp(
            passport_id=passport.id,
            location_id=location,
            method=StampMethod.CODE,
            status=StampStatus(status),
            distance_band="code",
            taken_at=at,
        )
    )
    db.session.flush()


def offers(db: Any, passport: Passport | None, at: dt.datetime) -> list[rewards.RewardOffer]:
    """What the passport page passes to its partial (views.page)."""
    stamps = services.stamps_of(db.session, passport) if passport else {}
    progress = badges.progress(db.session, services.locations(db.session), stamps, at)
    return rewards.offers_for(db.session, passport, progress, at)


def claimed_code(db: Any, places: dict[str, int], clock: Clock, **reward: Any) -> tuple[int, str]:
    """A reward of the office and the code a passport with the Vienne badge claimed."""
    reward_id = new_reward(db, **reward)
    passport = new_passport(db)
    stamp(db, passport, places["futuroscope"], clock.now)
    claim = rewards.claim_reward(db.session, db.session.get(Reward, reward_id), passport, clock.now)
    db.session.commit()
    return reward_id, claim.claim.code


@contextmanager
def own_server(tmp_path: Path, database_url: str, config: dict[str, Any]) -> Iterator[Flask]:
    """The app, seeded, on a migrated database of its own: requests and threads commit."""
    from core.app import create_app
    from core.seed import seed_demo

    postgres = None if database_url.startswith("sqlite") else database_url
    with migrated_database(tmp_path, postgres) as url:
        flask_app = create_app(config | {"SQLALCHEMY_DATABASE_URI": url})
        with flask_app.app_context():
            seed_demo()
        yield flask_app
        database.registry.remove()
        assert database.engine is not None
        database.engine.dispose()


@pytest.fixture
def no_demo_rewards(app: Flask, seeded: Any) -> None:
    """The demo season without its demo rewards: these tests make their own."""
    with app.app_context():
        seeded.session.execute(sa.delete(Reward))
        seeded.session.commit()
