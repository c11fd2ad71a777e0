"""Badges of a passport: one per département (all its places), one per season (all the places
where its released episodes were filmed) and one for the whole region (every place).

Places of remembrance count towards completion like any other (the visit is noted), but they
carry no points: POINTS_PER_STAMP is given for the others only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from passport.models import FilmingLocation, LocationEpisode, Stamp, StampStatus
from series import services as catalogue
from series.models import DEPARTEMENTS, Episode, Season

POINTS_PER_STAMP = 10


@dataclass
class Group:
    """A set of places whose stamps make a badge."""

    key: str
    name: str
    places: list[FilmingLocation] = field(default_factory=list)
    done: int = 0

    @property
    def total(self) -> int:
        return len(self.places)

    @property
    def badge(self) -> bool:
        return bool(self.places) and self.done == len(self.places)

    # The templates read these as dict-like rows.
    @property
    def code(self) -> str:
        return self.key


@dataclass
class Progress:
    departements: list[Group]
    seasons: list[Group]
    stamped: int
    total: int
    points: int

    @property
    def departement_badges(self) -> int:
        return sum(1 for d in self.departements if d.badge)

    @property
    def season_badges(self) -> int:
        return sum(1 for s in self.seasons if s.badge)

    @property
    def region_badge(self) -> bool:
        return self.total > 0 and self.stamped == self.total

    def has_badge(self, kind: str, key: str = "") -> bool:
        """Whether a badge is won: ("region"), ("departement", "86") or ("season", "1")."""
        if kind == "region":
            return self.region_badge
        groups = self.departements if kind == "departement" else self.seasons
        return any(g.key == key and g.badge for g in groups)


def season_places(session: Session, now: dt.datetime) -> dict[int, tuple[Season, set[int]]]:
    """Per season number: the season and the ids of the places its released episodes used."""
    rows = session.execute(
        sa.select(Season, LocationEpisode.location_id)
        .join(Episode, Episode.season_id == Season.id)
        .join(LocationEpisode, LocationEpisode.episode_id == Episode.id)
        .where(catalogue.released_clause(now))
    ).all()
    seasons: dict[int, tuple[Season, set[int]]] = {}
    for season, location_id in rows:
        seasons.setdefault(season.number, (season, set()))[1].add(location_id)
    return seasons


def progress(
    session: Session,
    places: Sequence[FilmingLocation],
    stamps: dict[int, Stamp],
    now: dt.datetime,
) -> Progress:
    """The passport's progress over all places, by département and by season (a stamp held
    for review counts once a moderator accepts it)."""
    stamps = {k: v for k, v in stamps.items() if v.status == StampStatus.ACCEPTED}
    by_dep: dict[str, list[FilmingLocation]] = defaultdict(list)
    for place in places:
        by_dep[place.departement_code].append(place)
    departements = []
    for code in sorted(by_dep, key=lambda c: DEPARTEMENTS.get(c, c)):
        group = Group(code, DEPARTEMENTS.get(code, code), by_dep[code])
        group.done = sum(1 for p in group.places if p.id in stamps)
        departements.append(group)
    by_id = {p.id: p for p in places}
    seasons = []
    for number, (season, ids) in sorted(season_places(session, now).items()):
        group = Group(str(number), season.title, [by_id[i] for i in sorted(ids) if i in by_id])
        group.done = sum(1 for p in group.places if p.id in stamps)
        seasons.append(group)
    points = sum(
        POINTS_PER_STAMP
        for place_id in stamps
        if place_id in by_id and not by_id[place_id].remembrance
    )
    return Progress(departements, seasons, len(stamps), len(places), points)
