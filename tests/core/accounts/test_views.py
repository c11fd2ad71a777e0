"""Sign-up, login, logout, CSRF, rate limits and password reset through the real pages."""

from __future__ import annotations

import email
import re
from pathlib import Path

import sqlalchemy as sa

from core.accounts.models import User
from tests.conftest import AuthActions, csrf_token


def signup(client, email_address="nouvelle@example.org", password="un mot de passe sûr", **extra):
    token = csrf_token(client, "/inscription")
    data = {
        "email": email_address,
        "display_name": "Nouvelle",
        "password": password,
        "confirm": password,
        "csrf_token": token,
        **extra,
    }
    return client.post("/inscription", data=data)


def test_signup_creates_an_argon2_account_and_signs_in(client, db):
    response = signup(client)
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "nouvelle@example.org"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "un mot de passe" not in user.password_hash
    account = client.get("/compte")
    assert account.status_code == 200
    assert "nouvelle@example.org" in account.get_data(as_text=True)


def test_signup_with_an_email_already_taken_is_a_409_with_a_message(client, make_user):
    make_user("prise@example.org")
    response = signup(client, "PRISE@example.org")
    assert response.status_code == 409
    assert "Un compte existe déjà avec cette adresse" in response.get_data(as_text=True)


def test_signup_with_a_short_password_is_refused_and_nothing_is_written(client, db):
    response = signup(client, "court@example.org", password="court")
    assert response.status_code == 422
    assert "au moins 10 caractères" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "court@example.org")) is None


def test_login_with_a_wrong_password_is_a_401_and_not_signed_in(client, auth, make_user):
    make_user("alice@example.org")
    response = auth.login("alice@example.org", "pas le bon mot de passe")
    assert response.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect" in response.get_data(as_text=True)
    assert client.get("/compte").status_code == 302


def test_login_with_an_unknown_email_answers_like_a_wrong_password(auth):
    response = auth.login("personne@example.org", "peu importe 123")
    assert response.status_code == 401


def test_login_then_logout(client, auth, make_user):
    make_user("bob@example.org")
    response = auth.login("bob@example.org")
    assert response.status_code == 302
    assert client.get("/compte").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/compte").status_code == 302


def test_login_rotates_the_session(client, auth, make_user):
    make_user("carol@example.org")
    client.get("/connexion")
    before = client.get_cookie("session").value
    auth.login("carol@example.org")
    after = client.get_cookie("session").value
    assert before != after
    assert "_user_id" in client.get("/compte").request.environ.get("HTTP_COOKIE", "") or after


def test_a_post_without_csrf_token_is_refused_with_a_clear_400(client, make_user):
    make_user("dave@example.org")
    response = client.post(
        "/connexion", data={"email": "dave@example.org", "password": AuthActions.password}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/compte").status_code == 302


def test_a_post_with_a_forged_csrf_token_is_refused(client, make_user):
    make_user("erin@example.org")
    client.get("/connexion")
    response = client.post(
        "/connexion",
        data={
            "email": "erin@example.org",
            "password": AuthActions.password,
            "csrf_token": "forged-token",
        },
    )
    assert response.status_code == 400
    assert client.get("/compte").status_code == 302


def test_csrf_error_is_json_on_the_api(client, seeded):
    response = client.post("/api/v1/seasons", json={})
    # Method not allowed is decided before CSRF only for unknown routes; seasons is GET-only.
    assert response.status_code in (400, 405)
    assert response.is_json
    assert set(response.get_json()) == {"error", "message"}


def test_logins_are_rate_limited(client, app, make_user):
    make_user("frank@example.org")
    auth = AuthActions(client)
    statuses = [
        auth.login("frank@example.org", f"mauvais {i:02d} essai").status_code for i in range(7)
    ]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    limited = auth.login("frank@example.org")
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.get_data(as_text=True)
    assert "Retry-After" in limited.headers


def _last_mail(app) -> email.message.Message:
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    assert outbox, "no mail written"
    return email.message_from_bytes(outbox[-1].read_bytes())


def test_password_reset_by_email_is_single_use(client, app, make_user, auth):
    make_user("gina@example.org")
    token = csrf_token(client, "/mot-de-passe-oublie")
    response = client.post(
        "/mot-de-passe-oublie", data={"email": "gina@example.org", "csrf_token": token}
    )
    assert response.status_code == 302
    message = _last_mail(app)
    assert message["To"] == "gina@example.org"
    body = message.get_payload(decode=True).decode()
    link = re.search(r"http://localhost(/mot-de-passe/\S+)", body).group(1)

    page = client.get(link)
    assert page.status_code == 200
    token = csrf_token(client, link)
    new_password = "un tout nouveau secret"
    response = client.post(
        link, data={"password": new_password, "confirm": new_password, "csrf_token": token}
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login("gina@example.org", new_password).status_code == 302
    # The link died with the old password.
    assert client.get(link).status_code == 400


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, app):
    token = csrf_token(client, "/mot-de-passe-oublie")
    response = client.post(
        "/mot-de-passe-oublie", data={"email": "inconnu@example.org", "csrf_token": token}
    )
    assert response.status_code == 302
    assert not list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))


def test_a_forged_reset_link_is_a_400(client):
    response = client.get("/mot-de-passe/forged.token.value")
    assert response.status_code == 400
    assert "invalide" in response.get_data(as_text=True)


def test_changing_the_password_signs_out_other_sessions(app, make_user, db):
    from core.accounts.services import set_password

    user = make_user("hal@example.org")
    other = app.test_client()
    AuthActions(other).login("hal@example.org")
    assert other.get("/compte").status_code == 200
    with app.app_context():
        set_password(db.session.get(User, user.id), "encore un autre secret")
        db.session.commit()
    assert other.get("/compte").status_code == 302


def test_account_page_requires_login_and_redirects_back(client):
    response = client.get("/compte")
    assert response.status_code == 302
    assert "/connexion?next=/compte" in response.headers["Location"]


def test_open_redirects_after_login_are_refused(client, auth, make_user):
    make_user("ivy@example.org")
    token = csrf_token(client, "/connexion")
    response = client.post(
        "/connexion?next=//evil.example/",
        data={"email": "ivy@example.org", "password": AuthActions.password, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/compte"


def test_form_fields_carry_no_placeholder_attribute_values(client):
    html = client.get("/inscription").get_data(as_text=True)
    assert '="None"' not in html
    assert 'aria-invalid="true"' not in html
    assert 'autocomplete="email"' in html
    assert "required" in html
