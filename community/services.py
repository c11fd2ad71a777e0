"""Tips: what a valid tip is, who may post how often, and what happens to a new one.

A new tip is checked whole before anything is written (a clear reason per field), then the
author's limits (tips per interval and per day, links per tip) are applied, then it is stored:
published at once for trusted authors, queued for review for new ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from community import geo, photos, text, trust, words
from community.models import (
    Tip,
    TipCategory,
    TipConfirmation,
    TipPhoto,
    TipStatus,
    TipVote,
)
from core import counters
from core.accounts.models import User
from core.db import as_id, conflict_insert
from core.errors import ApiError
from core.i18n import gettext as _
from passport.models import FilmingLocation
from series.models import DEPARTEMENTS, Episode

logger = logging.getLogger(__name__)

TITLE_LENGTH = (5, 120)
BODY_LENGTH = (20, text.MAX_TEXT_LENGTH)
#: A tip not confirmed for this long is marked stale.
STALE_AFTER = dt.timedelta(days=365)
#: Nouvelle-Aquitaine's bounding box, a first check before the commune lookup.
REGION_BOX = (42.77, 47.18, -1.80, 2.62)


@dataclass
class TipInput:
    """A tip as typed, checked."""

    title: str
    body: str
    category: TipCategory
    lat: float
    lon: float
    place_label: str = ""
    commune: str = ""
    departement_code: str = ""
    episode_id: int | None = None
    location_id: int | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    language: str = "fr"


class InvalidTip(ApiError):
    """422 with a message per field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(
            422,
            "invalid_tip",
            _("Le bon plan n'est pas complet : voyez les champs."),
            fields=fields,
        )
        self.fields = fields


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _coordinate(value: Any, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and low <= number <= high else None


def clean_tip(raw: Mapping[str, Any], today: dt.date) -> TipInput:
    """Check a tip as typed (form or JSON); raise InvalidTip with every problem at once."""
    fields: dict[str, str] = {}
    title = str(raw.get("title") or "").strip()
    body = str(raw.get("body") or raw.get("text") or "").strip()
    if not TITLE_LENGTH[0] <= len(title) <= TITLE_LENGTH[1]:
        fields["title"] = _("Un titre de %(a)s à %(b)s caractères.", a=5, b=120)
    if not BODY_LENGTH[0] <= len(body) <= BODY_LENGTH[1]:
        fields["body"] = _("Un texte de %(a)s à %(b)s caractères.", a=20, b=BODY_LENGTH[1])
    try:
        category = TipCategory(str(raw.get("category") or ""))
    except ValueError:
        fields["category"] = _("Choisissez une catégorie.")
        category = TipCategory.PRATIQUE
    lat = _coordinate(raw.get("lat"), -90, 90)
    lon = _coordinate(raw.get("lon"), -180, 180)
    if lat is None or lon is None:
        fields["place"] = _("Placez le bon plan sur la carte ou donnez une adresse.")
    try:
        starts_on, ends_on = _date(raw.get("starts_on")), _date(raw.get("ends_on"))
    except ValueError:
        fields["dates"] = _("Dates invalides (format AAAA-MM-JJ).")
        starts_on = ends_on = None
    if category == TipCategory.EVENEMENT and "dates" not in fields:
        if ends_on is None:
            fields["dates"] = _("Un événement a une date de fin.")
        elif ends_on < today:
            fields["dates"] = _("Cet événement est déjà passé.")
        elif starts_on is not None and starts_on > ends_on:
            fields["dates"] = _("La date de début suit la date de fin.")
    language = str(raw.get("language") or "fr")[:5]
    episode_id = raw.get("episode") or raw.get("episode_id") or None
    location_id = raw.get("location") or raw.get("location_id") or None
    for name, value in (("episode", episode_id), ("location", location_id)):
        if value is not None and _row_id(value) is None:
            fields[name] = _("Valeur invalide.")
    if fields:
        raise InvalidTip(fields)
    assert lat is not None
    assert lon is not None
    return TipInput(
        title=title,
        body=body,
        category=category,
        lat=lat,
        lon=lon,
        place_label=str(raw.get("place_label") or raw.get("address") or "").strip()[:200],
        episode_id=_row_id(episode_id) if episode_id else None,
        location_id=_row_id(location_id) if location_id else None,
        starts_on=starts_on,
        ends_on=ends_on,
        language=language,
    )


def locate(data: TipInput) -> None:
    """Name the commune and département of the tip's point; refuse a point outside the region."""
    from community import geocoding

    south, north, west, east = REGION_BOX
    found = None
    if south <= data.lat <= north and west <= data.lon <= east:
        found = geocoding.reverse(data.lat, data.lon)
    if found is None or found.departement_code not in DEPARTEMENTS:
        raise InvalidTip({"place": _("Ce lieu n'est pas en Nouvelle-Aquitaine.")})
    data.commune = found.commune
    data.departement_code = found.departement_code
    if not data.place_label:
        data.place_label = found.commune


def _too_many(key: str, message: str) -> ApiError:
    error = ApiError(429, "rate_limited", message, retry_after=max(counters.ttl(key), 1))
    error.headers["Retry-After"] = str(error.extra["retry_after"])
    return error


def check_limits(session: Session, author: User, data: TipInput, now: dt.datetime) -> bool:
    """Apply the author's limits; return whether the tip waits for review."""
    standing = trust.member(session, author)
    if trust.silenced(standing, now) and not trust.is_staff(author):
        raise ApiError(403, "silenced", _("Votre compte ne peut pas publier pour le moment."))
    limits = trust.LIMITS[trust.level_of(session, author)]
    if text.count_links(data.body) > limits.links_per_tip:
        raise InvalidTip(
            {"body": _("%(n)s liens au plus dans un bon plan.", n=limits.links_per_tip)}
        )
    day_key = f"tips-day:{author.id}:{now.date().isoformat()}"
    if counters.get(day_key) >= limits.tips_per_day:
        raise _too_many(
            day_key, _("Vous avez publié %(n)s bons plans aujourd'hui.", n=limits.tips_per_day)
        )
    interval_key = f"tips-interval:{author.id}"
    if limits.tip_interval_s and counters.incr(interval_key, ttl=limits.tip_interval_s) > 1:
        raise _too_many(
            interval_key,
            _("Un bon plan toutes les %(n)s secondes au plus.", n=limits.tip_interval_s),
        )
    counters.incr(day_key, ttl=24 * 3600)
    return limits.reviewed


def _row_id(value: object) -> int | None:
    """An id given as a number or as digits (a form), within the columns' range."""
    text = str(value)
    return as_id(int(text)) if text.isdecimal() and len(text) <= 10 else None


def _check_links(session: Session, data: TipInput) -> None:
    """The episode and the filming place a tip names exist (a 422, not a foreign key error)."""
    fields = {}
    if data.episode_id is not None and session.get(Episode, data.episode_id) is None:
        fields["episode"] = _("Valeur invalide.")
    if data.location_id is not None and session.get(FilmingLocation, data.location_id) is None:
        fields["location"] = _("Valeur invalide.")
    if fields:
        raise InvalidTip(fields)


def create_tip(
    session: Session,
    author: User,
    data: TipInput,
    now: dt.datetime,
    uploads: list[Upload] | None = None,
) -> Tip:
    """Store a checked tip and its photos: published, or pending review for a new author."""
    _check_links(session, data)
    cleaned = check_photos(uploads or [])
    locate(data)
    reviewed = check_limits(session, author, data, now)
    tip = Tip(
        author_id=author.id,
        title=data.title,
        body=data.body,
        category=data.category,
        status=TipStatus.PENDING if reviewed else TipStatus.PUBLISHED,
        lat=data.lat,
        lon=data.lon,
        cell=geo.cell_of(data.lat, data.lon),
        place_label=data.place_label,
        commune=data.commune,
        departement_code=data.departement_code,
        episode_id=data.episode_id,
        location_id=data.location_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        language=data.language,
        search_text=words.search_text(data.title, data.body, data.commune, data.place_label),
        created_at=now,
        updated_at=now,
        confirmed_at=now,
        published_at=None if reviewed else now,
    )
    session.add(tip)
    session.flush()
    if cleaned:
        store_photos(session, tip, cleaned)
    logger.info("tip %s added by %s (%s)", tip.id, author.email, tip.status.value)
    return tip


def publish(session: Session, tip: Tip, now: dt.datetime) -> None:
    """Make a tip public (approval or restore)."""
    tip.status = TipStatus.PUBLISHED
    tip.published_at = tip.published_at or now
    session.flush()


def is_stale(tip: Tip, now: dt.datetime) -> bool:
    confirmed = tip.confirmed_at
    if confirmed.tzinfo is None:
        confirmed = confirmed.replace(tzinfo=dt.UTC)
    return now - confirmed > STALE_AFTER


def is_expired(tip: Tip, today: dt.date) -> bool:
    return tip.ends_on is not None and tip.ends_on < today


def confirm(session: Session, tip: Tip, user: User, now: dt.datetime) -> None:
    """A resident confirms the tip is still true."""
    session.execute(
        conflict_insert(session, TipConfirmation)
        .values(tip_id=tip.id, user_id=user.id, confirmed_at=now)
        .on_conflict_do_update(index_elements=["tip_id", "user_id"], set_={"confirmed_at": now})
    )
    tip.confirmed_at = now
    session.flush()


def vote_helpful(session: Session, tip: Tip, user: User) -> bool:
    """One "utile" per account; True when this call counted it."""
    added = session.execute(
        conflict_insert(session, TipVote)
        .values(tip_id=tip.id, user_id=user.id)
        .on_conflict_do_nothing()
        .returning(TipVote.id)
    ).scalar()
    if added is None:
        return False
    session.execute(
        sa.update(Tip).where(Tip.id == tip.id).values(helpful_count=Tip.helpful_count + 1)
    )
    session.refresh(tip)
    return True


def visible_to(tip: Tip, user: Any) -> bool:
    """Published tips for all; the author and staff also see pending, hidden and rejected."""
    if tip.status == TipStatus.PUBLISHED:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return tip.author_id == user.id or trust.is_staff(user)


# ---- Photos (re-encoded without metadata by community.photos, stored under MEDIA_ROOT) ----

MAX_PHOTOS = 4
PHOTO_FOLDER = "tips"


@dataclass(frozen=True)
class Upload:
    """An uploaded photo and the text alternative its author wrote."""

    data: bytes
    alt: str = ""


def check_photos(uploads: list[Upload]) -> list[tuple[photos.ProcessedPhoto, str]]:
    """Decode and clean every photo before anything is stored (one bad file refuses all)."""
    if len(uploads) > MAX_PHOTOS:
        raise InvalidTip({"photos": _("%(n)s photos au plus.", n=MAX_PHOTOS)})
    cleaned = []
    for number, upload in enumerate(uploads, start=1):
        try:
            cleaned.append((photos.process_photo(upload.data), upload.alt.strip()[:200]))
        except photos.PhotoRefused as refused:
            raise InvalidTip(
                {"photos": _("Photo %(n)s : %(why)s", n=number, why=refused.message)}
            ) from None
    return cleaned


def store_photos(
    session: Session, tip: Tip, cleaned: list[tuple[photos.ProcessedPhoto, str]]
) -> None:
    """Write the cleaned photos under a random name and attach them to the tip."""
    folder = Path(current_app.config["MEDIA_ROOT"]) / PHOTO_FOLDER / str(tip.id)
    folder.mkdir(parents=True, exist_ok=True)
    start = len(tip.photos)
    for offset, (photo, alt) in enumerate(cleaned):
        name = secrets.token_urlsafe(12)
        (folder / f"{name}.{photo.extension}").write_bytes(photo.data)
        (folder / f"{name}-s.{photo.thumbnail.extension}").write_bytes(photo.thumbnail.data)
        tip.photos.append(
            TipPhoto(
                position=start + offset,
                path=f"{name}.{photo.extension}",
                thumb_path=f"{name}-s.{photo.thumbnail.extension}",
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                alt=alt,
            )
        )
    session.flush()
