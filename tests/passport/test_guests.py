"""A guest passport: stamps without an account, kept by a cookie, moved into an account later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import unescape
from typing import Any

import sqlalchemy as sa
from flask import Flask

from passport import guests, services
from passport.models import FilmingLocation, Passport, Stamp, UsedCode
from tests.conftest import AuthActions, csrf_token
from tests.support.clock import Clock

FUTUROSCOPE = (46.6692, 0.3689)
LIMOGES = (45.8361, 1.2675)


def guest_stamp(client: Any, token: str, location: int, clock: Clock, **body: Any) -> Any:
    """A stamp sent by the page's script of a visitor without an account."""
    return client.post(
        "/api/v1/passport/stamps",
        json={"location": location, "at": clock.now.isoformat()} | body,
        headers={"X-CSRFToken": token},
    )


def stamps_by_slug(app: Flask, db: Any, passport_id: int) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(FilmingLocation.slug, Stamp.method)
            .join(Stamp, Stamp.location_id == FilmingLocation.id)
            .where(Stamp.passport_id == passport_id)
        )
        return {slug: method.value for slug, method in rows}


def passport_of(app: Flask, db: Any, user_id: int | None = None) -> Passport | None:
    with app.app_context():
        query = sa.select(Passport)
        query = query.where(Passport.user_id == user_id if user_id else Passport.user_id.is_(None))
        return db.session.scalars(query).first()


def test_a_guest_stamps_with_a_cookie_and_sees_the_stamp(
    app: Flask, db: Any, client: Any, places: dict[str, int], clock: Clock
):
    token = csrf_token(client, "/passeport")
    lat, lon = FUTUROSCOPE
    first = guest_stamp(client, token, places["futuroscope"], clock, lat=lat, lon=lon, accuracy=20)
    assert first.status_code == 201
    cookie = client.get_cookie(guests.GUEST_COOKIE)
    assert cookie is not None
    assert cookie.http_only
    with app.app_context():
        stored = db.session.scalars(sa.select(Passport)).one()
        # Only the token's hash is stored.
        assert stored.guest_token_hash != cookie.value
        assert stored.user_id is None
    again = guest_stamp(client, token, places["futuroscope"], clock, lat=lat, lon=lon, accuracy=20)
    assert again.status_code == 200  # the same passport: already stamped
    page = unescape(client.get("/passeport").get_data(as_text=True))
    assert "1 lieu tamponné sur 14" in page
    assert "Tamponné le" in page


def test_a_guests_stamps_move_into_the_account_at_sign_up(
    app: Flask, db: Any, client: Any, auth: Any, places: dict[str, int], clock: Clock
):
    token = csrf_token(client, "/passeport")
    lat, lon = FUTUROSCOPE
    assert (
        guest_stamp(
            client, token, places["futuroscope"], clock, lat=lat, lon=lon, accuracy=20
        ).status_code
        == 201
    )
    with app.app_context():
        cognac = db.session.get(FilmingLocation, places["cognac"])
        code = services.place_code(cognac, clock.now)
    clock.advance(hours=3)
    done = client.post(
        "/passeport/code",
        data={"csrf_token": token, "location": places["cognac"], "code": code},
        follow_redirects=True,
    )
    assert "Tampon « Cognac » ajouté" in unescape(done.get_data(as_text=True))
    guest = passport_of(app, db)
    assert guest is not None
    assert stamps_by_slug(app, db, guest.id) == {"futuroscope": "gps", "cognac": "code"}

    signed_up = client.post(
        "/inscription",
        data={
            "csrf_token": csrf_token(client, "/inscription"),
            "email": "nouvelle@example.org",
            "display_name": "Nouvelle",
            "password": AuthActions.password,
            "confirm": AuthActions.password,
            "accept": "y",
        },
    )
    assert signed_up.status_code == 302
    with app.app_context():
        user_id = db.session.scalar(
            sa.text("SELECT id FROM users WHERE email = 'nouvelle@example.org'")
        )
    mine = passport_of(app, db, user_id)
    assert mine is not None
    assert stamps_by_slug(app, db, mine.id) == {"futuroscope": "gps", "cognac": "code"}
    assert passport_of(app, db) is None  # the guest passport is gone
    assert client.get_cookie(guests.GUEST_COOKIE) is None
    with app.app_context():
        # The code used by the guest stays used: replaying it on the account is refused.
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(UsedCode.passport_id == mine.id))
            == 1
        )
    page = unescape(client.get("/passeport").get_data(as_text=True))
    assert "2 lieux tamponnés sur 14" in page
    assert "gardé sur cet appareil" not in page


def test_signing_in_merges_keeping_the_earlier_stamp_of_a_place(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    user = make_user("habitue@example.org")
    auth.login(user.email)
    token = csrf_token(client, "/passeport")
    lat, lon = LIMOGES
    assert (
        guest_stamp(
            client, token, places["limoges-benedictins"], clock, lat=lat, lon=lon, accuracy=30
        ).status_code
        == 201
    )
    auth.logout()
    clock.advance(days=2)
    token = csrf_token(client, "/passeport")
    lat, lon = FUTUROSCOPE
    for place, (lat, lon) in (("limoges-benedictins", LIMOGES), ("futuroscope", FUTUROSCOPE)):
        clock.advance(hours=3)
        response = guest_stamp(client, token, places[place], clock, lat=lat, lon=lon, accuracy=30)
        assert response.status_code == 201
    auth.login(user.email)
    mine = passport_of(app, db, user.id)
    assert mine is not None
    assert set(stamps_by_slug(app, db, mine.id)) == {"limoges-benedictins", "futuroscope"}
    with app.app_context():
        kept = db.session.scalar(
            sa.select(Stamp).where(
                Stamp.passport_id == mine.id, Stamp.location_id == places["limoges-benedictins"]
            )
        )
        assert kept is not None
        # The account's own, earlier stamp of Limoges stands.
        assert kept.taken_at.replace(tzinfo=dt.UTC) < clock.now - dt.timedelta(days=1)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Passport)) == 1


def test_a_page_view_makes_no_guest_and_a_stranger_cookie_is_ignored(
    app: Flask, db: Any, client: Any, places: dict[str, int]
):
    client.set_cookie(guests.GUEST_COOKIE, "not-a-token-anybody-was-given")
    page = unescape(client.get("/passeport").get_data(as_text=True))
    assert "0 lieu tamponné sur 14" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Passport)) == 0


def test_guest_passports_per_address_are_limited(
    app: Flask, db: Any, client: Any, places: dict[str, int], clock: Clock
):
    token = csrf_token(client, "/passeport")
    statuses = []
    for _ in range(guests.GUESTS_PER_ADDRESS_HOUR + 1):
        client.delete_cookie(guests.GUEST_COOKIE)
        statuses.append(
            guest_stamp(client, token, places["cognac"], clock, code="bad-code").status_code
        )
    assert statuses[:-1] == [422] * guests.GUESTS_PER_ADDRESS_HOUR  # a passport, a bad code
    assert statuses[-1] == 429
