"""Catalogue rules: what each caller may see, and the release schedule."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core.accounts.models import Role
from series.models import Episode, Extra, Season

logger = logging.getLogger(__name__)

RELEASE_INTERVAL = dt.timedelta(weeks=1)
#: Releases keep their wall-clock time in France across daylight-saving changes.
RELEASE_TIMEZONE = ZoneInfo("Europe/Paris")


def can_see_unreleased(user: object) -> bool:
    """Editors (and admins) see episodes before their release."""
    has_role = getattr(user, "has_role", None)
    return bool(has_role and has_role(Role.EDITOR))


def released_clause(now: dt.datetime) -> sa.ColumnElement[bool]:
    """SQL condition: the episode is out."""
    return sa.and_(Episode.publish_at.is_not(None), Episode.publish_at <= now)


def list_seasons(session: Session) -> Sequence[Season]:
    """The seasons in order."""
    return session.scalars(sa.select(Season).order_by(Season.number)).all()


def get_season(session: Session, number: int) -> Season | None:
    """A season by number."""
    return session.scalar(sa.select(Season).where(Season.number == number))


def released_counts(session: Session, now: dt.datetime) -> dict[int, int]:
    """Season id -> number of released episodes."""
    rows = session.execute(
        sa.select(Episode.season_id, sa.func.count())
        .where(released_clause(now))
        .group_by(Episode.season_id)
    )
    return {int(row[0]): int(row[1]) for row in rows}


def visible_episodes(
    session: Session, season: Season, user: object, now: dt.datetime
) -> Sequence[Episode]:
    """The season's episodes the caller may see (released ones, all for editors)."""
    query = (
        sa.select(Episode)
        .where(Episode.season_id == season.id)
        .options(selectinload(Episode.guest_stars))
        .order_by(Episode.number)
    )
    if not can_see_unreleased(user):
        query = query.where(released_clause(now))
    return session.scalars(query).all()


def upcoming_episodes(session: Session, season: Season, now: dt.datetime) -> Sequence[Episode]:
    """Scheduled episodes not yet out (for the countdown; titles may be secret)."""
    return session.scalars(
        sa.select(Episode)
        .where(
            Episode.season_id == season.id,
            Episode.publish_at.is_not(None),
            Episode.publish_at > now,
        )
        .order_by(Episode.publish_at)
    ).all()


def get_visible_episode(
    session: Session, episode_id: int, user: object, now: dt.datetime
) -> Episode | None:
    """The episode if the caller may see it; None otherwise (callers answer 404)."""
    episode = session.get(Episode, episode_id)
    if episode is None:
        return None
    if not episode.is_released(now) and not can_see_unreleased(user):
        return None
    return episode


def neighbours(
    session: Session, episode: Episode, user: object, now: dt.datetime
) -> tuple[Episode | None, Episode | None]:
    """Previous and next visible episodes of the same season."""
    episodes = list(visible_episodes(session, episode.season, user, now))
    index = next((i for i, e in enumerate(episodes) if e.id == episode.id), None)
    if index is None:
        return None, None
    previous = episodes[index - 1] if index > 0 else None
    following = episodes[index + 1] if index + 1 < len(episodes) else None
    return previous, following


def schedule_season(season: Season, premiere_at: dt.datetime) -> None:
    """Set the premiere: episode k is released (k - 1) weeks after it."""
    season.premiere_at = premiere_at
    local = premiere_at.astimezone(RELEASE_TIMEZONE)
    for episode in season.episodes:
        # Aware arithmetic in the local zone keeps 18:00 at 18:00 when the clocks change.
        release = local + (episode.number - 1) * RELEASE_INTERVAL
        episode.publish_at = release.astimezone(dt.UTC)
    logger.info("season %s scheduled from %s", season.number, premiere_at.isoformat())


def search_episodes(
    session: Session, text: str, user: object, now: dt.datetime, limit: int = 20
) -> Sequence[Episode]:
    """Visible episodes whose title or synopsis contains the text (case-insensitive)."""
    pattern = f"%{text.strip().lower()}%"
    query = (
        sa.select(Episode)
        .join(Episode.season)
        .where(
            sa.or_(
                sa.func.lower(Episode.title).like(pattern),
                sa.func.lower(Episode.synopsis).like(pattern),
            )
        )
        .order_by(Season.number, Episode.number)
        .limit(limit)
    )
    if not can_see_unreleased(user):
        query = query.where(released_clause(now))
    return session.scalars(query).all()


def visible_extras(session: Session, episode: Episode, now: dt.datetime) -> Sequence[Extra]:
    """Extras of an episode (and of its season) that are out."""
    return session.scalars(
        sa.select(Extra)
        .where(
            Extra.season_id == episode.season_id,
            sa.or_(Extra.episode_id == episode.id, Extra.episode_id.is_(None)),
            Extra.publish_at.is_not(None),
            Extra.publish_at <= now,
        )
        .order_by(Extra.publish_at)
    ).all()
