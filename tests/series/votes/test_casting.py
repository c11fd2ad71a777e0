"""Casting calls: residents sign up with consent, editors filter and export, retention."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from series.models import Season
from series.seed import seed_catalogue
from series.services import RELEASE_TIMEZONE
from series.votes import casting
from series.votes.casting_seed import seed_casting
from series.votes.models import CastingCall, CastingSignup
from tests.conftest import AuthActions, csrf_token

VALID = {
    "full_name": "Lucie Moreau",
    "email": "lucie@example.org",
    "phone": "06 12 34 56 78",
    "commune": "Coulon",
    "age_range": "26-40",
    "availability": ["weekend", "weekday_evening"],
    "note": "Je sais mener une plate.",
    "consent": "yes",
}


class Clock:
    """The app's clock (CLOCK setting), moved by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    return app_config | {"CLOCK": clock}


@pytest.fixture
def make_call(app: Flask, db: Any, clock: Clock) -> Callable[..., int]:
    """Factory: a casting call of season 2 (open by default); returns its id."""
    with app.app_context():
        seed_catalogue(db.session, clock.now)
        db.session.commit()

    def factory(**fields: Any) -> int:
        today = clock.now.astimezone(RELEASE_TIMEZONE).date()
        values = {
            "territory": "Niort et le Marais poitevin",
            "title": "Figurants au marché de Niort",
            "signup_until": clock.now + dt.timedelta(days=30),
            "filming_starts_on": today + dt.timedelta(days=60),
            "filming_ends_on": today + dt.timedelta(days=80),
        } | fields
        with app.app_context():
            season = db.session.scalar(sa.select(Season).where(Season.number == 2))
            call = CastingCall(season=season, **values)
            db.session.add(call)
            db.session.commit()
            return call.id

    return factory


@pytest.fixture
def call_id(make_call: Callable[..., int]) -> int:
    return make_call()


@pytest.fixture
def add_signup(app: Flask, db: Any, clock: Clock, make_user: Callable[..., Any]):
    """Factory: a sign-up made through the service (by a new resident unless given)."""

    def factory(call_id: int, user: Any = None, **changes: Any) -> None:
        user = user or make_user(role="resident")
        with app.app_context():
            call = db.session.get(CastingCall, call_id)
            casting.sign_up(db.session, call, db.session.merge(user), VALID | changes, clock.now)
            db.session.commit()

    return factory


@pytest.fixture
def resident(make_user: Callable[..., Any], auth: AuthActions) -> Any:
    """A signed-in resident."""
    user = make_user(role="resident", display_name="Lucie")
    auth.login(user.email)
    return user


def post_signup(client: FlaskClient, call_id: int, **changes: Any) -> Any:
    data = VALID | {"csrf_token": csrf_token(client, f"/figuration/{call_id}")} | changes
    return client.post(f"/figuration/{call_id}", data={k: v for k, v in data.items() if v})


def signups(app: Flask, db: Any) -> list[CastingSignup]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CastingSignup).order_by(CastingSignup.id)))


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------- residents


def test_signing_up_requires_an_account(app: Flask, db, client, call_id: int):
    page = text(client.get(f"/figuration/{call_id}"))
    assert "Figurants au marché de Niort" in page
    assert "/connexion?next=/figuration/" in page
    assert 'name="consent"' not in page
    response = post_signup(client, call_id)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/connexion?next=")
    assert f"/figuration/{call_id}" in response.headers["Location"]
    assert signups(app, db) == []


def test_a_resident_signs_up_with_consent(app: Flask, db, client, clock: Clock, call_id, resident):
    form = text(client.get(f"/figuration/{call_id}"))
    assert "Vos données seront supprimées à la fin du tournage" in form
    assert "<legend>Vos disponibilités</legend>" in form
    assert 'value="Lucie"' in form  # the account's name, ready to use
    response = post_signup(client, call_id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/figuration/{call_id}#mon-inscription")
    [row] = signups(app, db)
    assert (row.user_id, row.call_id) == (resident.id, call_id)
    assert [row.full_name, row.email, row.commune] == ["Lucie Moreau", VALID["email"], "Coulon"]
    assert row.availability == ["weekday_evening", "weekend"]
    assert row.age_range == "26-40"
    assert row.consent_at == clock.now
    page = text(client.get(f"/figuration/{call_id}"))
    assert "Mon inscription" in page
    assert "Le week-end" in page
    assert "Retirer mon inscription" in page


def test_consent_is_required(app: Flask, db, client, call_id, resident):
    response = post_signup(client, call_id, consent="")
    assert response.status_code == 422
    page = text(response)
    assert "<title>Erreur :" in page
    assert 'href="#consent"' in page
    assert "Cochez la case pour accepter d'être contacté·e." in page
    assert 'value="Lucie Moreau"' in page  # what was typed is kept
    assert signups(app, db) == []


def test_invalid_fields_are_listed_and_nothing_is_written(
    app: Flask, db, client, call_id, resident
):
    wrong = {"full_name": " ", "email": "pas-une-adresse", "commune": "", "availability": []}
    response = post_signup(client, call_id, **wrong, age_range="99+", phone="appelez-moi")
    assert response.status_code == 422
    page = text(response)
    for target in ("full_name", "email", "phone", "commune", "age_range", "availability-weekday"):
        assert f'href="#{target}' in page
    assert "Indiquez vos nom et prénom." in page
    assert "Adresse e-mail invalide" in page
    assert "Indiquez votre commune." in page
    assert "Cochez au moins une disponibilité." in page
    assert "Choisissez une tranche d'âge de la liste." in page
    assert 'aria-invalid="true"' in page
    assert signups(app, db) == []


def test_the_service_refuses_unknown_slots_and_long_values(app_context):
    with pytest.raises(casting.InvalidInput) as refused:
        casting.clean_signup(VALID | {"availability": ["weekend", "la nuit"], "note": "x" * 2001})
    assert set(refused.value.errors) == {"availability", "note"}
    assert refused.value.status == 422
    cleaned = casting.clean_signup(VALID | {"age_range": "", "phone": ""})
    assert cleaned["age_range"] == ""
    assert cleaned["availability"] == ["weekday_evening", "weekend"]


def test_signing_up_again_updates_the_one_sign_up(
    app: Flask, db, client, clock: Clock, call_id, resident
):
    post_signup(client, call_id)
    [first] = signups(app, db)
    clock.now += dt.timedelta(hours=2)
    response = post_signup(client, call_id, commune="Arçais", availability=["school_holidays"])
    assert response.status_code == 302
    [row] = signups(app, db)
    assert row.id == first.id
    assert row.commune == "Arçais"
    assert row.availability == ["school_holidays"]
    assert row.consent_at == clock.now
    assert row.created_at == first.created_at


def test_a_resident_withdraws_their_sign_up(
    app, db, client, call_id, resident, add_signup, make_user
):
    other = make_user(role="resident")
    add_signup(call_id, other)
    post_signup(client, call_id)
    assert len(signups(app, db)) == 2
    token = csrf_token(client, f"/figuration/{call_id}")
    response = client.post(f"/figuration/{call_id}/retrait", data={"csrf_token": token})
    assert response.status_code == 302
    assert [s.user_id for s in signups(app, db)] == [other.id]
    page = text(client.get(f"/figuration/{call_id}"))
    assert "Votre inscription est retirée" in page
    assert "Mon inscription" not in page


def test_a_closed_or_filmed_call_refuses_sign_ups(
    app: Flask, db, client, clock: Clock, make_call, resident
):
    late = make_call(signup_until=clock.now - dt.timedelta(minutes=1))
    filmed = make_call(filmed_at=clock.now - dt.timedelta(days=1))
    for call_id in (late, filmed):
        response = post_signup(client, call_id)
        assert response.status_code == 409
        assert "sont closes" in text(response)
    assert signups(app, db) == []
    assert 'name="consent"' not in text(client.get(f"/figuration/{late}"))
    assert "Le tournage est terminé" in text(client.get(f"/figuration/{filmed}"))


def test_without_deadline_sign_ups_close_when_filming_starts(app: Flask, clock: Clock, make_call):
    today = clock.now.astimezone(RELEASE_TIMEZONE).date()
    call = CastingCall(signup_until=None, filming_starts_on=today + dt.timedelta(days=1))
    assert casting.is_open(call, clock.now)
    call.filming_starts_on = today
    assert not casting.is_open(call, clock.now)


def test_the_season_page_lists_open_calls(client, clock: Clock, make_call):
    make_call(title="Appel ouvert")
    make_call(title="Appel clos", signup_until=clock.now - dt.timedelta(days=1))
    page = text(client.get("/saisons/2/figuration"))
    assert "Appel ouvert" in page
    assert "Appel clos" not in page
    assert "Appel ouvert" in text(client.get("/figuration"))
    assert "Appel ouvert" not in text(client.get("/saisons/1/figuration"))
    assert client.get("/saisons/99/figuration").status_code == 404
    assert client.get("/figuration/999999").status_code == 404


# ---------------------------------------------------------------- editors

EDITOR_PAGES = [
    "/edition/figuration",
    "/edition/figuration/nouvel-appel",
    "/edition/figuration/{id}",
    "/edition/figuration/{id}/modifier",
    "/edition/figuration/{id}/inscriptions.csv",
    "/edition/figuration/{id}/tournage",
]


def test_editor_pages_are_for_editors_only(app, db, client, call_id, make_user, auth, add_signup):
    add_signup(call_id)
    urls = [u.format(id=call_id) for u in EDITOR_PAGES]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/connexion")
    auth.login(make_user(role="resident").email)
    for url in urls:
        assert client.get(url).status_code == 403, url
    refused = client.post(urls[-1], data={"csrf_token": csrf_token(client), "confirm": "yes"})
    assert refused.status_code == 403
    assert len(signups(app, db)) == 1
    auth.logout()
    auth.login(make_user(role="editor").email)
    for url in urls:
        assert client.get(url).status_code == 200, url
    auth.logout()
    auth.login(make_user(role="admin").email)
    assert client.get(urls[2]).status_code == 200


@pytest.fixture
def editor(make_user: Callable[..., Any], auth: AuthActions) -> Any:
    user = make_user(role="editor")
    auth.login(user.email)
    return user


@pytest.fixture
def three_signups(call_id: int, add_signup: Callable[..., None]) -> int:
    people = [
        ("Élodie Roux", "Échiré", "61+", ["weekend"]),
        ("Marc Texier", "Niort", "26-40", ["weekday_day", "weekend"]),
        ("Inès Bart", "Coulon", "", ["school_holidays"]),
    ]
    for name, commune, age, slots in people:
        add_signup(call_id, full_name=name, commune=commune, age_range=age, availability=slots)
    return call_id


def names_in(page: str) -> set[str]:
    return {n for n in ("Élodie Roux", "Marc Texier", "Inès Bart") if n in page}


def test_editors_filter_sign_ups(client, three_signups: int, editor):
    base = f"/edition/figuration/{three_signups}"
    page = text(client.get(base))
    assert names_in(page) == {"Élodie Roux", "Marc Texier", "Inès Bart"}
    assert "3 inscriptions" in page
    page = text(client.get(base + "?commune=echire"))
    assert names_in(page) == {"Élodie Roux"}
    assert "1 inscription correspond aux filtres" in page
    assert f"{base}/inscriptions.csv?commune=echire" in page
    assert names_in(text(client.get(base + "?dispo=weekend"))) == {"Élodie Roux", "Marc Texier"}
    assert names_in(text(client.get(base + "?age=61%2B"))) == {"Élodie Roux"}
    assert names_in(text(client.get(base + "?dispo=weekend&commune=NIO"))) == {"Marc Texier"}
    # Unknown filter values are ignored rather than hiding everyone.
    assert len(names_in(text(client.get(base + "?dispo=nuit&age=12")))) == 3


def read_csv(response: Any) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_the_csv_export_honours_the_filters(client, three_signups: int, editor):
    url = f"/edition/figuration/{three_signups}/inscriptions.csv"
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    rows = read_csv(response)
    assert rows[0][:4] == ["Nom", "E-mail", "Téléphone", "Commune"]
    assert [r[0] for r in rows[1:]] == ["Élodie Roux", "Marc Texier", "Inès Bart"]
    elodie = rows[1]
    assert elodie[3] == "Échiré"
    assert elodie[4] == "61 ans et plus"
    assert elodie[5] == "Le week-end"
    assert elodie[7] == "2026-12-03 11:00"  # consent time, Paris
    filtered = read_csv(client.get(url + "?dispo=weekend&commune=niort"))
    assert [r[0] for r in filtered[1:]] == ["Marc Texier"]


def test_the_csv_export_neutralises_formulas(app, client, clock, call_id, add_signup, make_user):
    formula = '=HYPERLINK("http://evil.example","x")'
    add_signup(
        call_id, full_name=formula, phone="+33 6 12 34 56 78", commune="-2+3", note="@SUM(A1)"
    )
    AuthActions(client).login(make_user(role="editor").email)
    [_header, row] = read_csv(client.get(f"/edition/figuration/{call_id}/inscriptions.csv"))
    assert row[0] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[2] == "'+33 6 12 34 56 78"
    assert row[3] == "'-2+3"
    assert row[6] == "'@SUM(A1)"
    assert row[1] == VALID["email"]
    # Tabs and carriage returns never get through the form (trimmed), but the export holds.
    tricky = CastingSignup(
        full_name="\tcmd", email="a@b.fr", phone="", commune="\r=1", age_range="",
        availability=[], note="ok", consent_at=clock.now, created_at=clock.now,
    )  # fmt: skip
    with app.test_request_context():
        body = casting.signups_csv([tricky]).decode("utf-8-sig")
    [_h, cells] = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert cells[0] == "'\tcmd"
    assert cells[3] == "'\r=1"
    assert cells[6] == "ok"


def test_marking_the_season_filmed_deletes_the_sign_ups(
    app: Flask, db, client, clock: Clock, three_signups: int, editor
):
    url = f"/edition/figuration/{three_signups}/tournage"
    page = text(client.get(f"/edition/figuration/{three_signups}"))
    assert "Saison tournée : supprimer les inscriptions" in page
    token = csrf_token(client)
    # First the confirmation step: nothing is deleted yet.
    confirm = client.post(url, data={"csrf_token": token})
    assert confirm.status_code == 200
    assert "3 inscriptions à « Figurants au marché de Niort » seront supprimées" in text(confirm)
    assert len(signups(app, db)) == 3
    done = client.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    assert signups(app, db) == []
    with app.app_context():
        call = db.session.get(CastingCall, three_signups)
        assert call.filmed_at == clock.now
        assert not casting.is_open(call, clock.now)
    assert "ses 3 inscriptions sont supprimées" in text(client.get(done.headers["Location"]))


def test_retention_purges_calls_filmed_or_whose_filming_ended(
    app, db, clock, make_call, add_signup
):
    today = clock.now.astimezone(RELEASE_TIMEZONE).date()
    ended, ending_today, upcoming, filmed = (make_call() for _ in range(4))
    for call_id in (ended, ending_today, upcoming, filmed):
        add_signup(call_id)
    # Time passes: one call's filming is over, another's ends today, one was marked filmed.
    began = today - dt.timedelta(days=9)
    changes = {
        ended: {"filming_starts_on": began, "filming_ends_on": today - dt.timedelta(days=1)},
        ending_today: {"filming_starts_on": began, "filming_ends_on": today},
        filmed: {"filmed_at": clock.now},
    }
    with app.app_context():
        for call_id, values in changes.items():
            db.session.execute(
                sa.update(CastingCall).where(CastingCall.id == call_id).values(**values)
            )
        assert casting.purge_filmed_signups(db.session, clock.now) == 2
        db.session.commit()
    assert sorted(s.call_id for s in signups(app, db)) == sorted([ending_today, upcoming])
    with app.app_context():
        assert casting.purge_filmed_signups(db.session, clock.now) == 0


def test_editors_create_and_change_a_call(app: Flask, db, client, clock: Clock, make_call, editor):
    token = csrf_token(client, "/edition/figuration/nouvel-appel")
    form = {
        "csrf_token": token,
        "season": "2",
        "territory": "Melle et le Mellois",
        "title": "Une foule pour la fête de Melle",
        "description": "Costumes fournis.",
        "signup_until": "2027-01-15T18:00",
        "filming_starts_on": "2027-02-01",
        "filming_ends_on": "2027-02-10",
    }
    wrong = client.post(
        "/edition/figuration/nouvel-appel", data=form | {"filming_ends_on": "2027-01-01"}
    )
    assert wrong.status_code == 422
    assert 'href="#filming_ends_on"' in text(wrong)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CastingCall)) == 0
    created = client.post("/edition/figuration/nouvel-appel", data=form)
    assert created.status_code == 302
    with app.app_context():
        call = db.session.scalar(sa.select(CastingCall))
        assert call.season.number == 2
        assert call.signup_until == dt.datetime(2027, 1, 15, 17, 0, tzinfo=dt.UTC)
        assert call.filming_ends_on == dt.date(2027, 2, 10)
        call_id = call.id
    changed = client.post(
        f"/edition/figuration/{call_id}/modifier", data=form | {"title": "La fête de Melle"}
    )
    assert changed.status_code == 302
    with app.app_context():
        assert db.session.get(CastingCall, call_id).title == "La fête de Melle"
    assert "La fête de Melle" in text(client.get("/edition/figuration"))


def test_the_seed_is_idempotent(app: Flask, db, clock: Clock):
    today = clock.now.astimezone(RELEASE_TIMEZONE).date()
    with app.app_context():
        seed_catalogue(db.session, clock.now)
        assert seed_casting(db.session, clock.now) == ["casting call season 2"]
        assert seed_casting(db.session, clock.now) == []
        db.session.commit()
        [call] = db.session.scalars(sa.select(CastingCall)).all()
        assert call.season.number == 2
        assert call.season.departement_code == "79"
        assert call.signup_until > clock.now
        assert today < call.filming_starts_on < call.filming_ends_on
        assert casting.is_open(call, clock.now)
