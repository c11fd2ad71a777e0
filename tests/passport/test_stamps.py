"""Stamping with real coordinates: on site, too far, too imprecise, too fast, twice; codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from passport import geometry, services
from passport.models import FilmingLocation, Stamp
from tests.support.clock import Clock

FUTUROSCOPE = (46.6692, 0.3689)


def offset(lat: float, lon: float, north_m: float = 0, east_m: float = 0) -> tuple[float, float]:
    """A point so many metres north and east of another (locally flat)."""
    import math

    return (
        lat + north_m / 111_195,
        lon + east_m / (111_195 * math.cos(math.radians(lat))),
    )


def test_a_fix_on_site_stamps_once(tourist: Callable[..., Any], places: dict[str, int]):
    lat, lon = offset(*FUTUROSCOPE, north_m=30, east_m=-20)
    first = tourist(places["futuroscope"], lat=lat, lon=lon, accuracy=15)
    assert first.status_code == 201
    assert first.get_json()["distance_band"] == "0-50"
    assert first.get_json()["method"] == "gps"
    again = tourist(places["futuroscope"], lat=lat, lon=lon, accuracy=15)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()


def test_two_kilometres_away_is_refused_with_the_distance(
    tourist: Callable[..., Any], places: dict[str, int]
):
    lat, lon = offset(*FUTUROSCOPE, north_m=-2000)
    refused = tourist(places["futuroscope"], lat=lat, lon=lon, accuracy=10)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["reason"] == "too_far"
    assert 1990 <= body["distance_m"] <= 2010
    assert "2,0 km" in body["message"]


def test_every_direction_counts_the_same_at_the_boundary(
    tourist: Callable[..., Any], places: dict[str, int]
):
    radius = 400  # the Futuroscope's radius; accuracy 10 m widens it to 410 m
    for north, east in [(1, 0), (0, 1), (-1, 0), (0, -1), (0.7071, 0.7071), (-0.7071, -0.7071)]:
        inside = offset(*FUTUROSCOPE, north_m=north * (radius + 5), east_m=east * (radius + 5))
        outside = offset(*FUTUROSCOPE, north_m=north * (radius + 20), east_m=east * (radius + 20))
        d_in = geometry.distance_to_point(*inside, FUTUROSCOPE, radius + 10)
        d_out = geometry.distance_to_point(*outside, FUTUROSCOPE, radius + 10)
        assert d_in <= radius + 10 < d_out, (north, east, d_in, d_out)
    lat, lon = offset(*FUTUROSCOPE, east_m=radius + 20)
    assert tourist(places["futuroscope"], lat=lat, lon=lon, accuracy=10).status_code == 422
    lat, lon = offset(*FUTUROSCOPE, east_m=radius + 5)
    assert tourist(places["futuroscope"], lat=lat, lon=lon, accuracy=10).status_code == 201


def test_a_fix_three_kilometres_wide_is_refused_with_advice(
    tourist: Callable[..., Any], places: dict[str, int]
):
    refused = tourist(places["futuroscope"], lat=FUTUROSCOPE[0], lon=FUTUROSCOPE[1], accuracy=3000)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["reason"] == "accuracy_too_low"
    assert "code" in body["message"]


def test_an_old_fix_is_refused(tourist: Callable[..., Any], places: dict[str, int], clock: Clock):
    old = clock.now - dt.timedelta(minutes=5)
    refused = tourist(
        places["futuroscope"], at=old, lat=FUTUROSCOPE[0], lon=FUTUROSCOPE[1], accuracy=10
    )
    assert refused.get_json()["reason"] == "fix_too_old"


def test_bordeaux_then_biarritz_ten_minutes_later_is_refused(
    tourist: Callable[..., Any], places: dict[str, int], clock: Clock
):
    bordeaux = tourist(places["place-de-la-bourse"], lat=44.8413, lon=-0.5695, accuracy=12)
    assert bordeaux.status_code == 201
    clock.advance(minutes=10)
    biarritz = tourist(places["rocher-de-la-vierge"], lat=43.4842, lon=-1.5703, accuracy=12)
    assert biarritz.status_code == 422
    assert biarritz.get_json()["reason"] == "implausible_travel"
    # A train ride later (2 h 10) is fine.
    clock.advance(hours=2)
    later = tourist(places["rocher-de-la-vierge"], lat=43.4842, lon=-1.5703, accuracy=12)
    assert later.status_code == 201
    assert later.get_json()["status"] == "accepted"


def test_fast_but_possible_travel_is_held_for_review(
    tourist: Callable[..., Any], places: dict[str, int], clock: Clock
):
    assert (
        tourist(places["place-de-la-bourse"], lat=44.8413, lon=-0.5695, accuracy=12).status_code
        == 201
    )
    clock.advance(minutes=30)  # about 340 km/h to Biarritz: a helicopter, or a cheat
    held = tourist(places["rocher-de-la-vierge"], lat=43.4842, lon=-1.5703, accuracy=12)
    assert held.status_code == 201
    assert held.get_json()["status"] == "held"


def test_the_dune_du_pilat_is_an_outline(tourist: Callable[..., Any], places: dict[str, int]):
    # A kilometre west of the dune is the ocean: refused; on the dune's crest: stamped.
    west = tourist(places["dune-du-pilat"], lat=44.589, lon=-1.2265, accuracy=10)
    assert west.get_json()["reason"] == "too_far"
    crest = tourist(places["dune-du-pilat"], lat=44.5985, lon=-1.2125, accuracy=10)
    assert crest.status_code == 201


def test_codes_valid_expired_and_replayed(
    app: Flask,
    db: Any,
    tourist: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    with app.app_context():
        coulon = db.session.get(FilmingLocation, places["coulon"])
        cognac = db.session.get(FilmingLocation, places["cognac"])
        period = services.code_period_s()
        valid = services.place_code(coulon, clock.now)
        expired = services.place_code(cognac, clock.now - dt.timedelta(seconds=3 * period))
        wrong_place = services.place_code(cognac, clock.now)
    assert tourist(places["coulon"], code="12-34-nope").get_json()["reason"] == "invalid_code"
    assert tourist(places["coulon"], code=wrong_place).get_json()["reason"] == "invalid_code"
    assert tourist(places["cognac"], code=expired).get_json()["reason"] == "expired_code"
    stamped = tourist(places["coulon"], code=valid)
    assert stamped.status_code == 201
    assert stamped.get_json()["distance_band"] == "code"
    assert tourist(places["coulon"], code=valid).status_code == 200  # the same stamp, once
    # A moderator removes the stamp; the old code cannot bring it back.
    with app.app_context():
        db.session.execute(sa.delete(Stamp).where(Stamp.location_id == places["coulon"]))
        db.session.commit()
    replayed = tourist(places["coulon"], code=valid)
    assert replayed.status_code == 422
    assert replayed.get_json()["reason"] == "code_replayed"


def test_attempts_are_rate_limited(tourist: Callable[..., Any], places: dict[str, int]):
    lat, lon = offset(*FUTUROSCOPE, north_m=-5000)
    answers = [
        tourist(places["futuroscope"], lat=lat, lon=lon, accuracy=10).status_code for _ in range(22)
    ]
    assert answers[:20] == [422] * 20
    assert answers[20:] == [429, 429]


def test_bad_input_is_refused_with_a_reason(tourist: Callable[..., Any], places: dict[str, int]):
    for body, reason in [
        ({"lat": 91, "lon": 0, "accuracy": 5}, "invalid_lat"),
        ({"lat": "x", "lon": 0, "accuracy": 5}, "invalid_lat"),
        ({"lat": 46.6, "lon": 0.36}, "invalid_accuracy"),
    ]:
        answer = tourist(places["futuroscope"], **body)
        assert answer.status_code == 422
        assert answer.get_json()["reason"] == reason
    assert tourist(99999, lat=46.6, lon=0.3, accuracy=5).status_code == 404


def test_no_raw_coordinates_are_stored(
    app: Flask, db: Any, tourist: Callable[..., Any], places: dict[str, int]
):
    fix = offset(*FUTUROSCOPE, north_m=37.3, east_m=12.9)
    assert tourist(places["futuroscope"], lat=fix[0], lon=fix[1], accuracy=8.5).status_code == 201
    far = offset(*FUTUROSCOPE, north_m=-3000)
    tourist(places["futuroscope"], lat=far[0], lon=far[1], accuracy=8.5)
    needles = {f"{v:.4f}" for v in (*fix, *far)}
    from core.models import metadata

    with app.app_context():
        for table in metadata.sorted_tables:
            if table.name == "filming_locations":
                continue  # the sites' own public coordinates
            for row in db.session.execute(sa.select(table)):
                text = " ".join(str(v) for v in row)
                assert not any(n in text for n in needles), (table.name, row)


def test_the_locations_api_names_released_episodes_only(
    client: Any, places: dict[str, int], pilot: dict[int, int]
):
    rows = {row["slug"]: row for row in client.get("/api/v1/locations").get_json()}
    assert rows["futuroscope"]["lat"] == 46.6692
    assert rows["futuroscope"]["radius_m"] == 400
    assert rows["futuroscope"]["episodes"] == [pilot[1]]
    assert rows["oradour-sur-glane"]["remembrance"] is True
    assert rows["dune-du-pilat"]["polygon"]
    assert len({row["departement"] for row in rows.values()}) == 12


def test_a_partners_pin_stamps_and_a_wrong_one_is_refused(
    app: Flask, db: Any, tourist: Callable[..., Any], places: dict[str, int]
):
    agen = places["pont-canal-agen"]
    assert tourist(agen, pin="123456").get_json()["reason"] == "invalid_pin"  # no PIN set
    with app.app_context():
        place = db.session.get(FilmingLocation, agen)
        services.set_pin(place, "47000471")
        db.session.commit()
        assert place.pin_hash is not None
        assert "47000471" not in place.pin_hash
    wrong = tourist(agen, pin="47000470")
    assert wrong.status_code == 422
    assert wrong.get_json()["reason"] == "invalid_pin"
    right = tourist(agen, pin="47000471")
    assert right.status_code == 201
    assert right.get_json()["method"] == "pin"
    assert right.get_json()["distance_band"] == "pin"
