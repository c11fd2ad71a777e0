"""Near me at a million tips: community.search.find_tips against a full scan, SQLite and PostgreSQL.

Usage: python bench/nearby.py [--tips 1000000] [--queries 1000] [--baseline 20]
                              [--postgres URL] [--no-sqlite] [--keep]

A database migrated to head is filled with N tips spread over Nouvelle-Aquitaine: 70 % around
its towns (Gaussian clusters, denser and wider for Bordeaux), 30 % uniform over the region's
bounding box; 94 % published, the rest pending, hidden or rejected; 4 % events, some of them
over. Then 1,000 near-me queries (5 km, 20 results) at points drawn like the tips (people ask
where people are, so city centres are well represented) go through find_tips, each timed
from the call to the list of loaded tips. The baseline answers the same question with no
cell filter (the whole table ordered by distance) on fewer points, and must agree with it.
Goal: p95 ≤ 20 ms on both backends.

SQLite is a file in a temporary directory. PostgreSQL runs when --postgres or DATABASE_URL
names a server; the bench works in its own schema, `bench_nearby`, dropped at the end (kept
with --keep), never in the public schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from community import geo, search, words
from community.models import Tip, TipCategory, TipStatus
from core.config import normalise_database_url
from core.db import create_engine
from core.migrate import upgrade

SCHEMA = "bench_nearby"
TODAY = dt.date(2026, 12, 2)
RADIUS_KM = 5.0
RESULTS = 20
GOAL_MS = 20.0
BATCH = 20_000
#: Nouvelle-Aquitaine's bounding box (south, north, west, east), as community.services.
REGION = (42.77, 47.18, -1.80, 2.62)
#: Share of the tips in town clusters (the rest: uniform over the box).
CLUSTERED = 0.7
#: (name, lat, lon, weight, sigma in km, département)
TOWNS = [
    ("Bordeaux", 44.8378, -0.5792, 22, 9, "33"),
    ("Arcachon", 44.6586, -1.1689, 3, 4, "33"),
    ("Libourne", 44.9150, -0.2436, 2, 3, "33"),
    ("Bayonne", 43.4929, -1.4748, 7, 6, "64"),
    ("Pau", 43.2951, -0.3708, 5, 5, "64"),
    ("Limoges", 45.8336, 1.2611, 7, 5, "87"),
    ("Poitiers", 46.5802, 0.3404, 6, 5, "86"),
    ("Châtellerault", 46.8178, 0.5461, 1.5, 3, "86"),
    ("La Rochelle", 46.1603, -1.1511, 6, 5, "17"),
    ("Rochefort", 45.9421, -0.9588, 1.5, 3, "17"),
    ("Royan", 45.6247, -1.0296, 2, 4, "17"),
    ("Saintes", 45.7464, -0.6332, 2, 3, "17"),
    ("Angoulême", 45.6484, 0.1562, 4, 4, "16"),
    ("Cognac", 45.6958, -0.3287, 1.5, 3, "16"),
    ("Niort", 46.3237, -0.4588, 3.5, 4, "79"),
    ("Périgueux", 45.1842, 0.7218, 3, 4, "24"),
    ("Bergerac", 44.8533, 0.4833, 2, 3, "24"),
    ("Sarlat", 44.8897, 1.2166, 2, 3, "24"),
    ("Agen", 44.2033, 0.6163, 3, 4, "47"),
    ("Mont-de-Marsan", 43.8902, -0.4994, 2, 4, "40"),
    ("Dax", 43.7102, -1.0536, 1.5, 3, "40"),
    ("Brive", 45.1589, 1.5331, 3, 4, "19"),
    ("Tulle", 45.2671, 1.7706, 1, 3, "19"),
    ("Guéret", 46.1714, 1.8717, 1, 3, "23"),
]
SUBJECTS = [
    "Marché de producteurs", "Château", "Randonnée", "Cave à vins", "Crêperie", "Plage",
    "Brocante", "Fromagerie", "Moulin", "Lavoir", "Chambres d'hôtes", "Guinguette",
    "Festival", "Canoë", "Huîtres", "Musée", "Jardin", "Église romane", "Belvédère", "Boulangerie",
]  # fmt: skip
DETAILS = [
    "au bord de l'eau", "dans la vieille ville", "près de la forêt", "au cœur du bourg",
    "avec vue sur les vignes", "à deux pas du port", "le long de la voie verte",
    "sur la place du marché", "au pied des remparts", "en lisière des pins",
]  # fmt: skip
BODIES = [
    "Accueil chaleureux, produits de saison, prix doux. On y revient chaque semaine.",
    "Parking facile, accès en poussette, ombre l'après-midi. Pensez à réserver le week-end.",
    "Le patron raconte l'histoire du lieu ; les enfants adorent. Fermé le lundi.",
    "Une balade de deux heures, balisage jaune, quelques passages boueux après la pluie.",
    "Les tournages de la série sont passés par là : demandez les photos au comptoir.",
]
CATEGORIES = list(TipCategory)
COLUMNS = [
    "title", "body", "category", "status", "lat", "lon", "cell", "place_label", "commune",
    "departement_code", "starts_on", "ends_on", "language", "search_text", "created_at",
    "updated_at", "published_at", "confirmed_at", "helpful_count", "comment_count",
    "moderation_reason",
]  # fmt: skip


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


class Region:
    """Points drawn like the tips: town clusters plus uniform noise over the region's box."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.weights = [town[3] for town in TOWNS]

    def point(self) -> tuple[float, float, str, str]:
        rng, (south, north, west, east) = self.rng, REGION
        if rng.random() < CLUSTERED:
            name, lat0, lon0, _weight, sigma, code = rng.choices(TOWNS, self.weights)[0]
            lat = lat0 + rng.gauss(0, sigma) / 111.1
            lon = lon0 + rng.gauss(0, sigma) / (111.3 * math.cos(math.radians(lat0)))
            return min(max(lat, south), north), min(max(lon, west), east), name, code
        lat, lon = rng.uniform(south, north), rng.uniform(west, east)
        name, *_rest, code = min(TOWNS, key=lambda t: (t[1] - lat) ** 2 + (t[2] - lon) ** 2)
        return lat, lon, name, code


def tip_rows(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """`count` tips as tuples in COLUMNS order (texts drawn from a few hundred, pre-stemmed)."""
    region, rng = Region(seed), random.Random(seed + 1)
    texts = []
    for subject in SUBJECTS:
        for detail in DETAILS:
            for body in BODIES:
                title = f"{subject} {detail}"
                texts.append((title, body, words.search_text(title, body)))
    places = {town[0]: " ".join(words.stems(town[0])) for town in TOWNS}
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for _ in range(count):
        lat, lon, commune, code = region.point()
        title, body, indexed = rng.choice(texts)
        roll = rng.random()
        status = TipStatus.PUBLISHED
        if roll < 0.06:
            status = [TipStatus.PENDING, TipStatus.HIDDEN, TipStatus.REJECTED][int(roll * 50)]
        category = rng.choice(CATEGORIES)
        starts_on = ends_on = None
        if rng.random() < 0.04:
            category = TipCategory.EVENEMENT
            starts_on = TODAY + dt.timedelta(days=rng.randint(-60, 30))
            ends_on = starts_on + dt.timedelta(days=rng.randint(0, 10))
        created = start + dt.timedelta(seconds=rng.randint(0, 700 * 86400))
        published = created if status == TipStatus.PUBLISHED else None
        yield (
            title, body, category.value, status.value, lat, lon, geo.cell_of(lat, lon),
            commune, commune, code, starts_on, ends_on, "fr", f"{indexed} {places[commune]}",
            created, created, published, created, rng.randint(0, 40), rng.randint(0, 5), "",
        )  # fmt: skip


def batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def fill_sqlite(engine: sa.Engine, count: int, seed: int) -> None:
    """executemany in batches; the FTS triggers stay on (what a real insert costs)."""
    columns = ", ".join(COLUMNS)
    marks = ", ".join("?" for _ in COLUMNS)
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("BEGIN")
        for done, batch in enumerate(batches(tip_rows(count, seed), BATCH), 1):
            cursor.executemany(
                f"INSERT INTO tips ({columns}) VALUES ({marks})",  # noqa: S608 (fixed names)
                [sqlite_row(row) for row in batch],
            )
            if done % 10 == 0:
                progress(f"sqlite: {done * BATCH:,} tips")
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
        cursor.close()


def sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Dates and times as SQLAlchemy stores them in SQLite (ISO text, UTC, no offset)."""
    return tuple(
        value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, dt.datetime)
        else value.isoformat()
        if isinstance(value, dt.date)
        else value
        for value in row
    )


def fill_postgres(engine: sa.Engine, count: int, seed: int) -> None:
    """COPY in one transaction, then VACUUM ANALYZE (statistics and the visibility map)."""
    with engine.connect() as connection:
        raw = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
        with raw.cursor() as cursor:
            statement = f"COPY tips ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                for done, row in enumerate(tip_rows(count, seed), 1):
                    copy.write_row(row)
                    if done % 200_000 == 0:
                        progress(f"postgres: {done:,} tips")
        raw.commit()
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE tips")
        raw.autocommit = False


def full_scan(session: Session, lat: float, lon: float) -> list[tuple[int, int]]:
    """The baseline: every published, current tip ordered by distance (no cell filter), then
    the same exact cut and loading as find_tips."""
    metric = geo.FlatMetric.around(lat, lon)
    dlat = Tip.lat - lat
    dy = dlat * (metric.ky + metric.ky_slope * dlat)
    dx = (Tip.lon - lon) * (metric.kx + metric.kx_slope * dlat)
    flat = dx * dx + dy * dy
    rows = session.execute(
        sa.select(Tip.id, Tip.lat, Tip.lon)
        .where(
            Tip.status == TipStatus.PUBLISHED, sa.or_(Tip.ends_on.is_(None), Tip.ends_on >= TODAY)
        )
        .order_by(flat, Tip.id)
        .limit(RESULTS + search.EXTRA_ROWS)
    ).all()
    exact = sorted((geo.distance_m(lat, lon, r.lat, r.lon), r.id) for r in rows)
    kept = [(ident, round(d)) for d, ident in exact if d <= RADIUS_KM * 1000][:RESULTS]
    search._load(session, [ident for ident, _d in kept])
    return kept


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return 1000 * (time.perf_counter() - started), result


def run(label: str, engine: sa.Engine, fill: Callable[..., None], args: argparse.Namespace) -> bool:
    """Fill, time find_tips and the full scan, print the figures; True when the goal is met."""
    progress(f"{label}: filling {args.tips:,} tips")
    started = time.perf_counter()
    fill(engine, args.tips, args.seed)
    fill_s = time.perf_counter() - started
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        statements[0] += 1

    region = Region(args.seed + 7)
    points = [region.point()[:2] for _ in range(args.queries)]
    with Session(engine) as session:
        published = session.scalar(
            sa.select(sa.func.count()).where(Tip.status == TipStatus.PUBLISHED)
        )

        def near(point: tuple[float, float]) -> list[search.Found]:
            return search.find_tips(
                session, today=TODAY, near=point, radius_km=RADIUS_KM, limit=RESULTS
            )

        for point in points[:20]:  # warm-up: caches and compiled statements
            near(point)
        session.expunge_all()
        statements[0] = 0
        progress(f"{label}: {args.queries} near-me queries")
        times, sizes = [], []
        for point in points:
            ms, found = timed(partial(near, point))
            times.append(ms)
            sizes.append(len(found))
            session.expunge_all()
        per_query = statements[0] / len(points)
        progress(f"{label}: {args.baseline} full scans")
        scan_times, agree = [], 0
        for point in points[: args.baseline]:
            ms, expected = timed(partial(full_scan, session, *point))
            scan_times.append(ms)
            got = [(f.tip.id, f.distance_m) for f in near(point)]
            agree += got == expected
            session.expunge_all()
        ordered = all(
            [f.distance_m for f in near(p)] == sorted(f.distance_m or 0 for f in near(p))
            for p in points[:50]
        )
    event.remove(engine, "before_cursor_execute", _count)
    p50, p95, top = (percentile(times, q) for q in (0.5, 0.95, 1.0))
    s50, s95, stop = (percentile(scan_times, q) for q in (0.5, 0.95, 1.0))
    met = p95 <= GOAL_MS
    print(f"\n== {label}: {args.tips:,} tips ({published:,} published) ==")
    print(
        f"fill: {fill_s:.1f} s ({args.tips / fill_s:,.0f} tips/s; indexes, full-text and "
        "statistics included)"
    )
    print(f"{'query (5 km, 20 results)':34} {'n':>5} {'p50':>9} {'p95':>9} {'max':>9}")
    print(
        f"{'find_tips (grid cells)':34} {len(times):5} {p50:6.2f} ms {p95:6.2f} ms "
        f"{top:6.2f} ms   goal p95 <= {GOAL_MS:.0f} ms: {'met' if met else 'NOT met'}"
    )
    print(
        f"{'full scan (no cell filter)':34} {len(scan_times):5} {s50:6.1f} ms {s95:6.1f} ms "
        f"{stop:6.1f} ms   baseline"
    )
    print(
        f"p50 {s50 / p50:,.0f}x faster than the scan; results: {statistics.mean(sizes):.1f} "
        f"tips per query on average ({sum(s < RESULTS for s in sizes)} queries with fewer "
        f"than {RESULTS} within {RADIUS_KM:g} km); {per_query:.1f} SQL statements per query"
    )
    print(
        f"same tips and distances as the full scan: {agree}/{len(scan_times)}; "
        f"nearest first on 50 points: {'yes' if ordered else 'NO'}"
    )
    return met and agree == len(scan_times) and ordered


def postgres_url(args: argparse.Namespace) -> str | None:
    url = args.postgres or os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        return None
    return normalise_database_url(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=20, help="full-scan queries")
    parser.add_argument("--postgres", help="PostgreSQL URL (default: DATABASE_URL, if set)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--keep", action="store_true", help="keep the databases (paths shown)")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    results = []
    if not args.no_sqlite:
        workdir = Path(tempfile.mkdtemp(prefix="bench-nearby-"))
        url = f"sqlite:///{workdir / 'nearby.sqlite3'}"
        upgrade("head", url=url)
        engine = create_engine(url)
        try:
            results.append(run("SQLite (temporary file)", engine, fill_sqlite, args))
        finally:
            engine.dispose()
            if args.keep:
                print(f"kept {url}")
            else:
                for path in workdir.iterdir():
                    path.unlink()
                workdir.rmdir()
    base = postgres_url(args)
    if base is not None:
        admin = sa.create_engine(base)
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            connection.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
        joiner = "&" if "?" in base else "?"
        url = f"{base}{joiner}options=-csearch_path%3D{SCHEMA}"
        upgrade("head", url=url)
        engine = create_engine(url)
        try:
            results.append(run(f"PostgreSQL (schema {SCHEMA})", engine, fill_postgres, args))
        finally:
            engine.dispose()
            if args.keep:
                print(f"kept schema {SCHEMA} in {base}")
            else:
                with admin.begin() as connection:
                    connection.execute(sa.text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
            admin.dispose()
    else:
        print("\nPostgreSQL: not run (give --postgres URL or set DATABASE_URL)")
    sys.exit(0 if results and all(results) else 1)


if __name__ == "__main__":
    main()
