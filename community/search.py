"""Finding tips: near a point (nearest first), by words (French stems), by category,
département and date. One function serves the API, the pages and a filming location's page.

Near me reads the grid of community.geo: ring after ring around the point (500 m first, wider
while too few tips are found), the cells crossed by the ring, through the index on
(status, cell, lat, lon). SQL orders the rows of the ring by a flat distance on the indexed
columns and returns a few more than wanted; their geodesic distance is then computed here,
and only the rows provably nearer than any row left out are kept (see `_nearest`). So the
order is exact, whatever the direction, and a dense city centre costs no more than the
countryside.

Words go through community.words.stems (accents removed, French stems), then SQLite FTS5
(`tips_fts`, ranked by bm25) or PostgreSQL full-text search (the GIN index on
`to_tsvector('simple', search_text)`, ranked by ts_rank); each stem is passed as a quoted
token or through plainto_tsquery, so a query cannot use either engine's operators. Near me
with words first asks the full-text index how many tips match: a few (FEW_MATCHES) are read
by id and sorted by distance; common words are checked on each tip read around the point,
against the same stems (search_text), which costs less than the index would.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from community import geo, words
from community.models import Tip, TipCategory, TipStatus
from core.i18n import gettext as _
from series.models import DEPARTEMENTS

DEFAULT_RADIUS_KM = 10.0
MAX_RADIUS_KM = 100.0
MAX_LIMIT = 100
MAX_OFFSET = 10_000
#: The first ring read around a point; a dense centre fills it, the countryside widens it.
FIRST_RING_M = 500.0
#: Rows fetched beyond the ones wanted, so that the cut by exact distance is right at once.
EXTRA_ROWS = 8
#: Near me with words: words matching at most this many tips are read first and sorted by
#: distance; more common words are checked on each tip read around the point.
FEW_MATCHES = 2000

#: SQLite's full-text table (core/migrations/versions/…_community_tips.py).
_FTS = sa.table("tips_fts", sa.column("rowid", sa.Integer), sa.column("rank", sa.Float))
_SIMPLE: sa.ColumnElement[str] = sa.literal_column("'simple'")
#: What a list of tips shows, loaded with the tips (no query per tip).
_READY = (selectinload(Tip.photos), selectinload(Tip.author))


@dataclass(frozen=True)
class Found:
    """A tip found, with its distance from the point searched around."""

    tip: Tip
    #: Geodesic distance in whole metres; None when the search had no point.
    distance_m: int | None = None


class InvalidSearch(ValueError):
    """A filter out of bounds (the API answers 422 with the message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def find_tips(
    session: Session,
    *,
    today: dt.date,
    near: tuple[float, float] | None = None,
    radius_km: float | None = None,
    q: str | None = None,
    category: TipCategory | str | None = None,
    departement: str | None = None,
    on_date: dt.date | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Found]:
    """Published, current tips: nearest first with `near`, best match with `q`, else newest."""
    if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
        raise InvalidSearch("limit", _("Valeur hors limites."))
    if not (isinstance(offset, int) and 0 <= offset <= MAX_OFFSET):
        raise InvalidSearch("offset", _("Valeur hors limites."))
    conditions = _filters(today, category, departement, on_date)
    stems = words.stems(q) if q else []  # no word left ("*", "les"): no text condition
    if near is not None:
        lat, lon = _point(near)
        radius_m = 1000 * _radius_km(radius_km)
        by_cells = True
        if stems:
            matching, by_cells = _near_words(session, stems)
            conditions.append(matching)
        nearest = _nearest(session, conditions, lat, lon, radius_m, offset + limit, by_cells)
        shown = nearest[offset:]
        tips = _load(session, [ident for _distance, ident in shown])
        return [Found(tips[ident], round(distance)) for distance, ident in shown]
    statement = sa.select(Tip).where(*conditions).options(*_READY)
    if stems:
        statement = _by_relevance(session, statement, stems)
    statement = statement.order_by(Tip.published_at.desc(), Tip.id.desc())
    return [Found(tip) for tip in session.scalars(statement.limit(limit).offset(offset))]


def tips_near_location(
    session: Session,
    location: Any,
    *,
    today: dt.date,
    radius_km: float = 5,
    limit: int = 6,
) -> list[Found]:
    """The tips nearest a filming location (anything with `lat` and `lon`), for its page."""
    return find_tips(
        session, today=today, near=(location.lat, location.lon), radius_km=radius_km, limit=limit
    )


def _point(near: tuple[float, float]) -> tuple[float, float]:
    try:
        lat, lon = (float(value) for value in near)
    except (TypeError, ValueError):
        raise InvalidSearch("near", _("Coordonnées hors limites.")) from None
    if not (abs(lat) <= geo.MAX_ABS_LAT and abs(lon) <= 180):  # also refuses NaN
        raise InvalidSearch("near", _("Coordonnées hors limites."))
    return lat, lon


def _radius_km(radius_km: float | None) -> float:
    if radius_km is None:
        return DEFAULT_RADIUS_KM
    try:
        radius = float(radius_km)
    except (TypeError, ValueError):
        radius = math.nan
    if not 0 < radius <= MAX_RADIUS_KM:
        raise InvalidSearch("radius_km", _("Un rayon de 0 à %(n)s km.", n=int(MAX_RADIUS_KM)))
    return radius


def _filters(
    today: dt.date,
    category: TipCategory | str | None,
    departement: str | None,
    on_date: dt.date | None,
) -> list[sa.ColumnElement[bool]]:
    """Published and not expired, then the filters asked for."""
    conditions = [
        Tip.status == TipStatus.PUBLISHED,
        sa.or_(Tip.ends_on.is_(None), Tip.ends_on >= today),
    ]
    if category is not None:
        try:
            conditions.append(Tip.category == TipCategory(category))
        except ValueError:
            raise InvalidSearch("category", _("Catégorie inconnue.")) from None
    if departement is not None:
        if departement not in DEPARTEMENTS:
            raise InvalidSearch("departement", _("Département inconnu."))
        conditions.append(Tip.departement_code == departement)
    if on_date is not None:
        # Dated tips (events) running that day; no start date means running until the end.
        conditions.append(Tip.ends_on >= on_date)
        conditions.append(sa.or_(Tip.starts_on.is_(None), Tip.starts_on <= on_date))
    return conditions


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _fts_query(stems: Sequence[str]) -> str:
    """An FTS5 query of quoted tokens, all required: no operator, column or prefix syntax."""
    return " ".join('"' + stem.replace('"', '""') + '"' for stem in stems)


def _tsvector() -> sa.ColumnElement[Any]:
    # Exactly the expression of the GIN index ix_tips_fts, so PostgreSQL uses it.
    return sa.func.to_tsvector(_SIMPLE, Tip.search_text)


def _tsquery(stems: Sequence[str]) -> sa.ColumnElement[Any]:
    return sa.func.plainto_tsquery(_SIMPLE, " ".join(stems))


def _fts_match(stems: Sequence[str]) -> sa.TextClause:
    return sa.text("tips_fts MATCH :fts_query").bindparams(fts_query=_fts_query(stems))


def _ts_match(stems: Sequence[str]) -> sa.ColumnElement[bool]:
    return _tsvector().bool_op("@@")(_tsquery(stems))


def _near_words(session: Session, stems: Sequence[str]) -> tuple[sa.ColumnElement[bool], bool]:
    """The condition on words of a near-me search, and whether to read the map's cells: not
    when the words match few tips (those are read by id, wherever they are)."""
    sqlite = _is_sqlite(session)
    probe = (
        sa.select(_FTS.c.rowid).where(_fts_match(stems))
        if sqlite
        else sa.select(Tip.id).where(_ts_match(stems))
    )
    ids = session.scalars(probe.limit(FEW_MATCHES + 1)).all()
    if len(ids) <= FEW_MATCHES:
        return Tip.id.in_(ids), False
    # Common words: each tip read around the point is checked against its own stems (the
    # words the index holds, space-separated; a stem has neither "%" nor "_").
    padded = " " + Tip.search_text + " "
    return sa.and_(*(padded.like(f"% {stem} %") for stem in stems)), True


def _by_relevance(
    session: Session, statement: sa.Select[Tip], stems: Sequence[str]
) -> sa.Select[Tip]:
    """Only matching tips, best first: bm25 on SQLite (lower is better), ts_rank on PostgreSQL."""
    if _is_sqlite(session):
        ranked = (
            sa.select(_FTS.c.rowid.label("id"), _FTS.c.rank.label("rank"))
            .where(_fts_match(stems))
            .subquery("ranked")
        )
        return statement.join(ranked, ranked.c.id == Tip.id).order_by(ranked.c.rank)
    rank = sa.func.ts_rank(_tsvector(), _tsquery(stems))
    return statement.where(_ts_match(stems)).order_by(rank.desc())


def _nearest(
    session: Session,
    conditions: list[sa.ColumnElement[bool]],
    lat: float,
    lon: float,
    radius_m: float,
    wanted: int,
    by_cells: bool = True,
) -> list[tuple[float, int]]:
    """(distance in metres, tip id) of the `wanted` nearest tips within `radius_m`, nearest
    first, exact: a ring is read, then widened or read further until it proves its answer.
    Without `by_cells` (the conditions name a few tips), the whole circle is read at once."""
    metric = geo.FlatMetric.around(lat, lon)
    ring = min(FIRST_RING_M, radius_m) if by_cells else radius_m
    fetch = wanted + EXTRA_ROWS
    while True:
        disc = geo.disc(lat, lon, ring)
        statement, params = _ring(metric, disc, conditions, fetch, by_cells)
        rows = session.execute(statement, params).all()
        complete = len(rows) < fetch
        # Every tip nearer than `sure` is among the rows: the ring's cells and box hold every
        # tip within `ring`, and a tip left out by the LIMIT is no nearer, by the flat metric,
        # than the last row (and the flat metric errs by less than APPROX_ERROR).
        sure = ring
        if not complete:
            sure = min(ring, math.sqrt(rows[-1].flat) / (1 + geo.APPROX_ERROR))
        cut = min(sure, radius_m)
        found = _exact(lat, lon, rows, cut, wanted)
        if len(found) >= wanted or cut >= radius_m:
            return found
        if not complete and sure < ring:
            fetch *= 4  # a crowded ring: read further into it
        else:
            ring = min(radius_m, (2 if 4 * len(found) >= wanted else 4) * ring)


def _exact(
    lat: float, lon: float, rows: Sequence[Any], cut: float, wanted: int
) -> list[tuple[float, int]]:
    """(distance, id) of the `wanted` rows nearest by geodesic distance within `cut`, nearest
    first; the geodesic is computed only for rows whose flat distance leaves a chance."""
    slack = 1 + geo.APPROX_ERROR
    found: list[tuple[float, int]] = []
    for row in rows:  # by flat distance, so by lower bound of the true distance
        bound = math.sqrt(row.flat) / slack
        if bound > cut or (len(found) >= wanted and bound > found[wanted - 1][0]):
            break
        distance = geo.distance_m(lat, lon, row.lat, row.lon)
        if distance <= cut:
            bisect.insort(found, (distance, row.id))
    return found[:wanted]


def _ring(
    metric: geo.FlatMetric,
    disc: geo.Disc,
    conditions: list[sa.ColumnElement[bool]],
    fetch: int,
    by_cells: bool,
) -> tuple[sa.Select[int, float, float, float], dict[str, Any]]:
    """The `fetch` tips of a disc's cells (or box) nearest by the flat metric, and its
    parameters (the clauses are built once per number of rows of cells)."""
    flat = _flat_distance()
    ranges = disc.cell_ranges if by_cells else []
    statement = (
        sa.select(Tip.id, Tip.lat, Tip.lon, flat)
        .where(*conditions, _cells_and_box(len(ranges)))
        .order_by(flat, Tip.id)
        .limit(fetch)
    )
    params = {
        "lat0": metric.lat0,
        "lon0": metric.lon0,
        "ky": metric.ky,
        "ky_slope": metric.ky_slope,
        "kx": metric.kx,
        "kx_slope": metric.kx_slope,
        "south": disc.south,
        "north": disc.north,
        "west": disc.west,
        "east": disc.east,
    }
    for i, (first, last) in enumerate(ranges):
        params[f"first{i}"], params[f"last{i}"] = first, last
    return statement, params


@functools.cache
def _flat_distance() -> sa.Label[float]:
    """geo.FlatMetric.squared in SQL, on the indexed columns."""
    number = functools.partial(sa.bindparam, type_=sa.Double)
    dlat = Tip.lat - number("lat0")
    dy = dlat * (number("ky") + number("ky_slope") * dlat)
    dx = (Tip.lon - number("lon0")) * (number("kx") + number("kx_slope") * dlat)
    return (dx * dx + dy * dy).label("flat")


@functools.cache
def _cells_and_box(rows: int) -> sa.ColumnElement[bool]:
    """One range of cells per row of the grid (none: the box alone), and the bounding box."""
    lat = Tip.lat.between(sa.bindparam("south"), sa.bindparam("north"))
    lon = Tip.lon.between(sa.bindparam("west"), sa.bindparam("east"))
    if not rows:
        return sa.and_(lat, lon)
    cells = sa.or_(
        *(
            Tip.cell.between(sa.bindparam(f"first{i}"), sa.bindparam(f"last{i}"))
            for i in range(rows)
        )
    )
    return sa.and_(cells, lat, lon)


def _load(session: Session, ids: list[int]) -> dict[int, Tip]:
    if not ids:
        return {}
    statement = sa.select(Tip).where(Tip.id.in_(ids)).options(*_READY)
    return {tip.id: tip for tip in session.scalars(statement)}
