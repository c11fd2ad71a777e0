"""Tips near the places of the show: each filming location's nearest tips, for the passport
page and the episode pages (the viewer's path: episode → place → tips around it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community.search import Found, tips_near_location
from passport.models import FilmingLocation, LocationEpisode

#: How far around a filming location its tips are looked for, and how many are shown.
NEAR_KM = 5.0
SHOWN = 3


def tips_near_places(
    session: Session, places: Iterable[FilmingLocation], today: dt.date, limit: int = SHOWN
) -> dict[int, list[Found]]:
    """Per filming location id: its nearest published tips within NEAR_KM."""
    return {
        place.id: tips_near_location(session, place, today=today, radius_km=NEAR_KM, limit=limit)
        for place in places
    }


def episode_places(session: Session, episode_id: int) -> list[FilmingLocation]:
    """The filming locations of an episode."""
    return list(
        session.scalars(
            sa.select(FilmingLocation)
            .join(LocationEpisode, LocationEpisode.location_id == FilmingLocation.id)
            .where(LocationEpisode.episode_id == episode_id)
            .order_by(FilmingLocation.name)
        )
    )
