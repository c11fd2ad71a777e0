"""Finding tips: nearest first in every direction, the radius and cell edges, what is never
shown, the filters, French full-text search and its syntax (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic

from community import geo, search, words
from community.models import Tip, TipCategory, TipStatus
from community.search import (
    DEFAULT_RADIUS_KM,
    InvalidSearch,
    find_tips,
    tips_near_location,
)

TODAY = dt.date(2026, 12, 2)
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
POITIERS = (46.5802, 0.3404)
DIRECTIONS = {"N": 0, "NE": 45, "E": 90, "SE": 135, "S": 180, "SW": 225, "W": 270, "NW": 315}


def moved(origin: tuple[float, float], azimuth: float, metres: float) -> tuple[float, float]:
    """The point `metres` away from `origin` along `azimuth` (degrees from north)."""
    end = Geodesic.WGS84.Direct(origin[0], origin[1], azimuth, metres)
    return end["lat2"], end["lon2"]


def true_distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(geodesic(a, b).meters)


@pytest.fixture
def add_tip(app_context: None, db: Any) -> Callable[..., Tip]:
    """Factory: a tip stored directly (no geocoder), published unless told otherwise."""
    minutes = iter(range(100_000))

    def factory(
        title: str = "Un bon plan du coin",
        *,
        at: tuple[float, float] = POITIERS,
        body: str = "Un texte assez long pour décrire le bon plan.",
        status: TipStatus = TipStatus.PUBLISHED,
        category: TipCategory = TipCategory.VISITE,
        departement: str = "86",
        starts_on: dt.date | None = None,
        ends_on: dt.date | None = None,
        published_at: dt.datetime | None = None,
    ) -> Tip:
        lat, lon = at
        if published_at is None and status == TipStatus.PUBLISHED:
            published_at = NOW - dt.timedelta(minutes=next(minutes))
        tip = Tip(
            title=title,
            body=body,
            category=category,
            status=status,
            lat=lat,
            lon=lon,
            cell=geo.cell_of(lat, lon),
            departement_code=departement,
            starts_on=starts_on,
            ends_on=ends_on,
            search_text=words.search_text(title, body),
            created_at=NOW,
            updated_at=NOW,
            confirmed_at=NOW,
            published_at=published_at,
        )
        db.session.add(tip)
        db.session.flush()
        return tip

    return factory


@pytest.fixture(params=["few matches", "common words"])
def word_paths(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Near me with words, both ways: the matching tips read first, or every tip around the
    point checked (words matching more than FEW_MATCHES tips; here any word)."""
    if request.param == "common words":
        monkeypatch.setattr(search, "FEW_MATCHES", 0)


def near(db: Any, point: tuple[float, float], **options: Any) -> list[tuple[int, int | None]]:
    """(tip id, distance_m) of a near-me search."""
    found = find_tips(db.session, today=TODAY, near=point, **options)
    return [(f.tip.id, f.distance_m) for f in found]


def ids(found: list[Any]) -> list[int]:
    return [f.tip.id for f in found]


# Near me: order, distances, radius, cells


def test_nearest_first_in_every_direction_at_increasing_distances(db, add_tip):
    # 40 tips, the eight directions in turn, each 1.1 km farther than the one before.
    tips = []
    for i in range(40):
        direction = list(DIRECTIONS.values())[i % 8]
        tips.append(add_tip(f"Bon plan {i}", at=moved(POITIERS, direction, 300 + 1100 * i)))
    found = near(db, POITIERS, radius_km=50, limit=100)
    assert [ident for ident, _d in found] == [t.id for t in tips]
    for limit in (1, 7, 20):  # the same order whatever the LIMIT cuts
        assert near(db, POITIERS, radius_km=50, limit=limit) == found[:limit]


def test_near_ties_in_different_directions_are_ordered_by_true_distance(db, add_tip):
    # A few metres apart at 5, 20 and 45 km, in directions where a plain equirectangular
    # distance (cos of the centre's latitude) errs by tens of metres.
    points = []
    for base in (5_000, 20_000, 45_000):
        for offset, direction in zip((0, 3, -2, 5, 1, -4, 2, 4), DIRECTIONS.values(), strict=True):
            points.append(moved(POITIERS, direction, base + offset))
    random.Random(4).shuffle(points)
    tips = [add_tip(f"Bon plan {i}", at=p) for i, p in enumerate(points)]
    expected = sorted(tips, key=lambda t: true_distance(POITIERS, (t.lat, t.lon)))
    found = near(db, POITIERS, radius_km=50, limit=100)
    assert [ident for ident, _d in found] == [t.id for t in expected]
    for size in (3, 8, 10, 17):
        assert near(db, POITIERS, radius_km=50, limit=size) == found[:size]


def test_a_circle_of_near_ties_is_ordered_whatever_the_limit(db, add_tip):
    # 48 tips 45 km away all around, each 1 mm farther than the previous one. The flat
    # distance SQL sorts by errs by up to 20 cm there, depending on the direction: it cannot
    # tell them apart, and the LIMIT alone would keep the wrong ones.
    azimuths = [7.5 * i for i in range(48)]
    random.Random(2).shuffle(azimuths)
    tips = [
        add_tip(f"Bon plan {i}", at=moved(POITIERS, azimuth, 45_000 + 0.001 * i))
        for i, azimuth in enumerate(azimuths)
    ]
    found = near(db, POITIERS, radius_km=50, limit=48)
    assert [ident for ident, _d in found] == [t.id for t in tips]
    for limit in (1, 3, 10, 30):
        assert near(db, POITIERS, radius_km=50, limit=limit) == found[:limit]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((46.5802, 0.3404), (46.5802, 0.3404)),
        ((46.5802, 0.3404), (46.6212, 0.3951)),
        ((44.8378, -0.5792), (44.7001, -0.4003)),
        ((43.2951, -0.3708), (43.4929, -1.4748)),
        ((45.8336, 1.2611), (45.1589, 1.5331)),
    ],
)
def test_distance_m_is_whole_metres_within_one_metre_of_the_geodesic(db, add_tip, a, b):
    tip = add_tip(at=b)
    [(ident, distance)] = near(db, a, radius_km=100)
    assert ident == tip.id
    assert isinstance(distance, int)
    assert abs(distance - geodesic(a, b).meters) <= 1


def test_the_radius_cuts_exactly_at_its_edge(db, add_tip):
    inside = [add_tip("Dedans", at=moved(POITIERS, d, 4_990)) for d in DIRECTIONS.values()]
    outside = [add_tip("Dehors", at=moved(POITIERS, d, 5_010)) for d in DIRECTIONS.values()]
    found = near(db, POITIERS, radius_km=5, limit=100)
    assert {ident for ident, _d in found} == {t.id for t in inside}
    assert all(distance == 4_990 for _ident, distance in found)
    wider = near(db, POITIERS, radius_km=5.02, limit=100)
    assert {ident for ident, _d in wider} == {t.id for t in inside + outside}


def test_the_default_radius_is_ten_kilometres(db, add_tip):
    assert DEFAULT_RADIUS_KM == 10
    kept = add_tip(at=moved(POITIERS, 30, 9_950))
    add_tip(at=moved(POITIERS, 30, 10_050))
    assert near(db, POITIERS) == [(kept.id, 9_950)]


def test_a_tip_on_a_cell_corner_is_found_from_every_side(db, add_tip):
    corner = (46.58, 0.34)  # on a row edge and a column edge of the 0.01° grid
    lat_edge, lon_edge = (46.58 + 90) / geo.CELL_DEG, (0.34 + 180) / geo.CELL_DEG
    assert min(abs(lat_edge - round(lat_edge)), abs(lon_edge - round(lon_edge))) < 1e-6
    tip = add_tip(at=corner)
    for direction in DIRECTIONS.values():
        for metres in (1, 40, 700):
            point = moved(corner, direction, metres)
            assert near(db, point, radius_km=1) == [(tip.id, metres)], (direction, metres)
    assert near(db, corner, radius_km=0.001) == [(tip.id, 0)]


def test_points_on_both_sides_of_a_cell_edge_have_neighbouring_cells():
    below, above = geo.cell_of(46.5799999, 0.345), geo.cell_of(46.5800001, 0.345)
    assert above - below == geo.ROW
    west, east = geo.cell_of(46.585, 0.3399999), geo.cell_of(46.585, 0.3400001)
    assert east - west == 1
    assert geo.cell_of(46.585, 180.0) == geo.cell_of(46.585, 179.999)  # never the next row


def test_a_wide_circle_across_many_cells_matches_a_full_scan(db, add_tip):
    rng = random.Random(8)
    centre = (45.75, 0.1)
    points = [moved(centre, rng.uniform(0, 360), 70_000 * rng.random() ** 0.5) for _ in range(300)]
    points += [moved(centre, rng.uniform(0, 360), rng.uniform(0, 400)) for _ in range(60)]
    tips = [add_tip(f"Bon plan {i}", at=p) for i, p in enumerate(points)]
    assert len({t.cell for t in tips}) > 250
    for point, radius, limit in [
        (centre, 60, 100),
        (centre, 100, 100),
        (moved(centre, 200, 30_000), 25, 40),
        (moved(centre, 75, 65_000), 20, 10),
        (centre, 0.3, 100),
    ]:
        expected = sorted(
            (true_distance(point, (t.lat, t.lon)), t.id)
            for t in tips
            if true_distance(point, (t.lat, t.lon)) <= radius * 1000
        )[:limit]
        found = near(db, point, radius_km=radius, limit=limit)
        assert found == [(ident, round(d)) for d, ident in expected], (point, radius)


def test_tips_at_one_spot_are_all_returned_then_by_id(db, add_tip):
    spot = moved(POITIERS, 120, 250)
    crowd = [add_tip(f"Même endroit {i}", at=spot) for i in range(45)]
    farther = add_tip(at=moved(POITIERS, 300, 251))
    found = near(db, POITIERS, radius_km=1, limit=46)
    assert [ident for ident, _d in found] == [t.id for t in crowd] + [farther.id]
    # Fewer wanted than share the spot: the LIMIT cannot tell them apart, more are read.
    assert near(db, POITIERS, radius_km=1, limit=10) == found[:10]


def test_pages_of_near_results_follow_each_other(db, add_tip):
    for i in range(25):
        add_tip(f"Bon plan {i}", at=moved(POITIERS, 37 * i, 200 * i + 50))
    everything = near(db, POITIERS, radius_km=10, limit=25)
    pages = [near(db, POITIERS, radius_km=10, limit=10, offset=o) for o in (0, 10, 20)]
    assert pages[0] + pages[1] + pages[2] == everything
    assert len(pages[2]) == 5


def test_nothing_near_an_empty_sea(db, add_tip):
    add_tip(at=POITIERS)
    assert near(db, (45.0, -5.0), radius_km=100) == []


def test_tips_near_a_filming_location(db, add_tip):
    location = SimpleNamespace(lat=POITIERS[0], lon=POITIERS[1])
    tips = [add_tip(f"Bon plan {i}", at=moved(POITIERS, 50 * i, 400 * i + 100)) for i in range(9)]
    add_tip(at=moved(POITIERS, 10, 5_100))
    found = tips_near_location(db.session, location, today=TODAY)
    assert ids(found) == [t.id for t in tips[:6]]
    assert found[0].distance_m == 100


# What is never shown, and the filters


def test_only_published_current_tips_are_ever_returned(db, add_tip, word_paths):
    shown = [
        add_tip("Château ouvert"),
        add_tip("Château fête du jour", ends_on=TODAY, category=TipCategory.EVENEMENT),
        add_tip("Château fête à venir", starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=3)),
    ]
    for status in (TipStatus.PENDING, TipStatus.HIDDEN, TipStatus.REJECTED, TipStatus.WITHDRAWN):
        add_tip(f"Château {status.value}", status=status)
    add_tip("Château fête passée", ends_on=TODAY - dt.timedelta(days=1))
    expected = {t.id for t in shown}
    assert set(ids(find_tips(db.session, today=TODAY))) == expected
    assert set(ids(find_tips(db.session, today=TODAY, q="château"))) == expected
    assert {i for i, _d in near(db, POITIERS, radius_km=1)} == expected
    assert {i for i, _d in near(db, POITIERS, radius_km=1, q="chateau")} == expected


def test_category_departement_and_date_filters(db, add_tip):
    bellac = (46.1219, 1.0497)
    market = add_tip("Marché", category=TipCategory.PRODUIT_LOCAL)
    visit = add_tip("Visite", category=TipCategory.VISITE)
    far_market = add_tip("Marché", at=bellac, departement="87", category=TipCategory.PRODUIT_LOCAL)
    festival = add_tip(
        "Festival",
        category=TipCategory.EVENEMENT,
        starts_on=TODAY + dt.timedelta(days=5),
        ends_on=TODAY + dt.timedelta(days=7),
    )
    until = add_tip("Expo", category=TipCategory.EVENEMENT, ends_on=TODAY + dt.timedelta(days=6))

    def search(**options: Any) -> set[int]:
        return set(ids(find_tips(db.session, today=TODAY, **options)))

    assert search(category=TipCategory.PRODUIT_LOCAL) == {market.id, far_market.id}
    assert search(category="produit-local", departement="87") == {far_market.id}
    assert search(departement="86") == {market.id, visit.id, festival.id, until.id}
    assert search(on_date=TODAY + dt.timedelta(days=6)) == {festival.id, until.id}
    assert search(on_date=TODAY + dt.timedelta(days=2)) == {until.id}
    assert search(on_date=TODAY + dt.timedelta(days=7)) == {festival.id}
    assert search(on_date=TODAY + dt.timedelta(days=5), category=TipCategory.EVENEMENT) == {
        festival.id,
        until.id,
    }
    found = find_tips(
        db.session, today=TODAY, near=bellac, radius_km=100, category=TipCategory.PRODUIT_LOCAL
    )
    assert ids(found) == [far_market.id, market.id]
    found = find_tips(db.session, today=TODAY, near=bellac, radius_km=100, departement="86")
    assert ids(found) == [market.id, visit.id, festival.id, until.id]


def test_without_near_or_words_the_newest_come_first(db, add_tip):
    older = add_tip("Ancien", published_at=NOW - dt.timedelta(days=3))
    newest = add_tip("Récent", published_at=NOW)
    middle = add_tip("Moyen", published_at=NOW - dt.timedelta(days=1))
    assert ids(find_tips(db.session, today=TODAY)) == [newest.id, middle.id, older.id]
    assert ids(find_tips(db.session, today=TODAY, limit=1, offset=1)) == [middle.id]
    found = find_tips(db.session, today=TODAY)
    assert all(f.distance_m is None for f in found)


# French full-text search


def test_chateau_finds_chateaux_and_back(db, add_tip):
    chateaux = add_tip("Les châteaux de la Dordogne", departement="24")
    chateau = add_tip("Le chateau de Monbazillac", departement="24")
    add_tip("Une crêperie sur le port", body="Galettes et cidre, terrasse au soleil.")
    for q in ("chateau", "châteaux", "CHÂTEAU", "Chateaux"):
        assert set(ids(find_tips(db.session, today=TODAY, q=q))) == {chateaux.id, chateau.id}, q


def test_randonnees_finds_randonnee(db, add_tip):
    walk = add_tip("Une belle randonnée", body="Boucle de douze kilomètres dans les bois.")
    add_tip("Un marché de producteurs", body="Fromages, légumes et miel le samedi.")
    assert ids(find_tips(db.session, today=TODAY, q="randonnées")) == [walk.id]
    assert ids(find_tips(db.session, today=TODAY, q="randonnées dans les bois")) == [walk.id]
    assert ids(find_tips(db.session, today=TODAY, q="randonnées en montagne")) == []


def test_better_matches_first_then_newest(db, add_tip):
    once = add_tip("Balade", body="Une randonnée parmi d'autres choses à faire, pique-nique.")
    often = add_tip("Randonnée", body="Randonnée facile, randonnée à l'ombre, randonnées.")
    twin_old = add_tip("Moulin", body="Le moulin à eau.", published_at=NOW - dt.timedelta(days=2))
    twin_new = add_tip("Moulin", body="Le moulin à eau.", published_at=NOW - dt.timedelta(days=1))
    assert ids(find_tips(db.session, today=TODAY, q="randonnée")) == [often.id, once.id]
    assert ids(find_tips(db.session, today=TODAY, q="moulin")) == [twin_new.id, twin_old.id]


def test_words_and_near_together(db, add_tip, word_paths):
    far = add_tip("Château du bout", at=moved(POITIERS, 10, 3_000))
    close = add_tip("Châteaux voisins", at=moved(POITIERS, 200, 800))
    add_tip("Crêperie", at=moved(POITIERS, 0, 100))
    add_tip("Chateaubriand et frites", at=moved(POITIERS, 0, 200))  # another word
    add_tip("Château trop loin", at=moved(POITIERS, 90, 12_000))
    assert near(db, POITIERS, radius_km=10, q="chateau") == [(close.id, 800), (far.id, 3_000)]


@pytest.mark.parametrize(
    "q",
    [
        '"; DROP',
        "'; DROP TABLE tips; --",
        "NEAR(",
        "NEAR(chateau dordogne, 2)",
        "*",
        "chateau*",
        "a OR b",
        "chateau OR crêperie",
        "NOT chateau",
        "chateau AND",
        "-chateau",
        "^chateau",
        "search_text: chateau",
        "{search_text title}: chateau",
        '"chateau',
        "chateau)",
        "(((",
        "\\",
        "!:&|<->",
        "les de la",
        "   ",
        "",
    ],
)
def test_query_syntax_cannot_be_injected(db, add_tip, word_paths, q):
    tips = [add_tip("Les châteaux de la Dordogne"), add_tip("Une crêperie", body="Or du port.")]
    found = set(ids(find_tips(db.session, today=TODAY, q=q)))
    assert {i for i, _d in near(db, POITIERS, radius_km=5, q=q)} == found
    # Exactly the tips holding every word of the query as typed (none: no text condition).
    stems = set(words.stems(q))
    assert found == {t.id for t in tips if stems <= set(t.search_text.split())}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tip)) == 2


# Bad input


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"near": POITIERS, "radius_km": 0}, "radius_km"),
        ({"near": POITIERS, "radius_km": -3}, "radius_km"),
        ({"near": POITIERS, "radius_km": 100.5}, "radius_km"),
        ({"near": POITIERS, "radius_km": math.nan}, "radius_km"),
        ({"near": (91.0, 0.0)}, "near"),
        ({"near": (89.0, 0.0)}, "near"),
        ({"near": (46.0, 181.0)}, "near"),
        ({"near": (math.nan, 0.0)}, "near"),
        ({"near": ("nord", "est")}, "near"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"category": "casino"}, "category"),
        ({"departement": "75"}, "departement"),
    ],
)
def test_bad_input_is_a_clear_value_error(db, add_tip, options, field):
    with pytest.raises(ValueError, match=r"\w") as raised:
        find_tips(db.session, today=TODAY, **options)
    assert isinstance(raised.value, InvalidSearch)
    assert raised.value.field == field


def test_the_largest_radius_is_accepted(db, add_tip):
    tip = add_tip(at=moved(POITIERS, 135, 99_000))
    assert near(db, POITIERS, radius_km=100) == [(tip.id, 99_000)]


# The geometry the search relies on


@pytest.mark.parametrize("lat", [0.0, 42.8, 45.0, 47.2, 60.0, 85.0])
def test_the_flat_metric_errs_far_less_than_its_bound(lat):
    rng = random.Random(lat)
    metric = geo.FlatMetric.around(lat, 0.5)
    worst = 0.0
    for _ in range(2000):
        metres = rng.uniform(1, 150_000)
        point = moved((lat, 0.5), rng.uniform(0, 360), metres)
        worst = max(worst, abs(math.sqrt(metric.squared(*point)) - metres) / metres)
    assert worst < geo.APPROX_ERROR / 2
    if 42 <= lat <= 48:  # Nouvelle-Aquitaine: centimetres per kilometre at most
        assert worst < 1e-4


def test_the_cells_and_box_of_a_disc_hold_the_whole_circle():
    rng = random.Random(3)
    for _ in range(300):  # (the grid does not wrap around the antimeridian)
        centre = (rng.uniform(-70, 70), rng.uniform(-170, 170))
        radius = rng.choice([1, 80, 500, 5_000, 30_000, 100_000])
        disc = geo.disc(*centre, radius)
        for _ in range(20):
            lat, lon = moved(centre, rng.uniform(0, 360), radius * rng.random() ** 0.1)
            cell = geo.cell_of(lat, lon)
            assert disc.south <= lat <= disc.north
            assert disc.west <= lon <= disc.east
            assert any(first <= cell <= last for first, last in disc.cell_ranges)
    # Reading the cells a 5 km circle crosses: one range per row, about 100 cells in all.
    five_km = geo.disc(*POITIERS, 5_000)
    assert len(five_km.cell_ranges) <= 11
    assert sum(last - first + 1 for first, last in five_km.cell_ranges) < 130
