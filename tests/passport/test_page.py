"""The passport page: places by département, progress and badges, the code form without script."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape
from typing import Any

from flask import Flask

from passport import services
from passport.models import FilmingLocation
from tests.conftest import csrf_token
from tests.support.clock import Clock


def code_for(app: Flask, db: Any, location_id: int, clock: Clock) -> str:
    with app.app_context():
        place = db.session.get(FilmingLocation, location_id)
        return services.place_code(place, clock.now)


def test_visitors_without_an_account_may_stamp_on_this_device(client: Any, places: dict[str, int]):
    page = unescape(client.get("/passeport").get_data(as_text=True))
    assert "Futuroscope" in page
    assert "Pyrénées-Atlantiques (64)" in page
    assert "votre passeport est gardé sur cet appareil" in page
    assert "Tamponner avec le code" in page
    assert client.get_cookie("passeport") is None  # reading makes no guest passport


def test_a_code_stamps_through_the_form_and_wins_the_departement_badge(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    auth.login(make_user("passeport@example.org").email)
    page = client.get("/passeport").get_data(as_text=True)
    assert "0 lieu tamponné sur 14" in page
    assert "Utiliser ma position" in page
    token = csrf_token(client, "/passeport")
    biarritz = places["rocher-de-la-vierge"]
    wrong = client.post(
        "/passeport/code", data={"csrf_token": token, "location": biarritz, "code": "1-2-3"}
    )
    assert wrong.status_code == 302
    assert "n'est pas celui de ce lieu" in unescape(client.get("/passeport").get_data(as_text=True))
    code = code_for(app, db, biarritz, clock)
    done = client.post(
        "/passeport/code",
        data={"csrf_token": token, "location": biarritz, "code": code},
        follow_redirects=True,
    )
    html = unescape(done.get_data(as_text=True))
    assert "Tampon « Rocher de la Vierge, Biarritz » ajouté" in html
    assert "1 lieu tamponné sur 14 · 1 badge de département" in html
    assert "badge obtenu" in html


def test_a_place_of_remembrance_is_stamped_soberly(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    auth.login(make_user("memoire@example.org").email)
    token = csrf_token(client, "/passeport")
    oradour = places["oradour-sur-glane"]
    done = client.post(
        "/passeport/code",
        data={"csrf_token": token, "location": oradour, "code": code_for(app, db, oradour, clock)},
        follow_redirects=True,
    )
    html = unescape(done.get_data(as_text=True))
    assert "Votre passage à « Village martyr d'Oradour-sur-Glane » est noté." in html
    assert "Passage noté le" in html
    assert "Bravo" not in html


def test_editors_print_posters_whose_qr_code_leads_to_a_stamp(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    cognac = places["cognac"]
    assert client.get(f"/edition/passeport/{cognac}/affiche").status_code == 302  # sign in
    auth.login(make_user("affiches@example.org", role="editor").email)
    code = code_for(app, db, cognac, clock)
    index = unescape(client.get("/edition/passeport").get_data(as_text=True))
    assert code in index
    poster = unescape(client.get(f"/edition/passeport/{cognac}/affiche").get_data(as_text=True))
    assert "<svg" in poster
    assert code in poster
    assert f"/passeport/scan/{cognac}?code={code}" in poster
    auth.logout()
    # A visitor scans the QR code: the page offers the stamp, with or without an account.
    scan = unescape(client.get(f"/passeport/scan/{cognac}?code={code}").get_data(as_text=True))
    assert "votre passeport est gardé sur cet appareil" in scan
    assert f'value="{code}"' in scan
    auth.login(make_user("scan@example.org").email)
    scan = client.get(f"/passeport/scan/{cognac}?code={code}").get_data(as_text=True)
    assert f'value="{code}"' in scan
    done = client.post(
        "/passeport/code",
        data={"csrf_token": csrf_token(client, "/passeport"), "location": cognac, "code": code},
        follow_redirects=True,
    )
    assert "Tampon « Cognac » ajouté" in unescape(done.get_data(as_text=True))


def test_editors_give_a_place_a_partner_pin_that_visitors_type_in_the_code_form(
    client: Any, auth: Any, make_user: Callable[..., Any], places: dict[str, int]
):
    aubusson = places["aubusson"]
    auth.login(make_user("pin-editor@example.org", role="editor").email)
    token = csrf_token(client, "/edition/passeport")
    short = client.post(
        f"/edition/passeport/{aubusson}/pin", data={"csrf_token": token, "pin": "123"}
    )
    assert short.status_code == 302
    assert "de 6 à 8 chiffres" in unescape(client.get("/edition/passeport").get_data(as_text=True))
    client.post(f"/edition/passeport/{aubusson}/pin", data={"csrf_token": token, "pin": "230230"})
    assert "un code est en place" in client.get("/edition/passeport").get_data(as_text=True)
    auth.logout()
    auth.login(make_user("pin-visitor@example.org").email)
    token = csrf_token(client, "/passeport")
    done = client.post(
        "/passeport/code",
        data={"csrf_token": token, "location": aubusson, "code": "230230"},
        follow_redirects=True,
    )
    assert "Tampon « Aubusson » ajouté" in unescape(done.get_data(as_text=True))


def test_the_passport_is_installable_and_its_service_worker_may_control_it(client: Any):
    worker = client.get("/passeport/sw.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/passeport"
    assert '"/static/js/passport.js"' in worker.get_data(as_text=True)
    manifest = client.get("/passeport/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["start_url"] == "/passeport"
    assert data["display"] == "standalone"
    icon = client.get(data["icons"][0]["src"])
    assert icon.status_code == 200
    icon.close()
    assert 'rel="manifest"' in client.get("/passeport").get_data(as_text=True)
