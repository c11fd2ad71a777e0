"""API tokens: hashed at rest, bearer authentication, revocation."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from core.accounts.models import ApiToken


def test_a_token_is_stored_only_as_its_hash(db, make_user, make_token):
    user = make_user()
    clear = make_token(user)
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.token_hash == hashlib.sha256(clear.encode()).hexdigest()
    assert clear not in (stored.token_hash, stored.prefix)
    assert clear.startswith(stored.prefix)


def test_bearer_token_authenticates_api_calls(client, seeded, make_user, make_token):
    editor = make_user(role="editor")
    token = make_token(editor)
    anonymous = client.get("/api/v1/seasons/1/episodes").get_json()
    as_editor = client.get(
        "/api/v1/seasons/1/episodes", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    # The editor sees the three unreleased episodes of the pilot too.
    assert len(anonymous) == 3
    assert len(as_editor) == 6


def test_an_invalid_token_is_a_401_not_an_anonymous_call(client, seeded):
    response = client.get("/api/v1/seasons", headers={"Authorization": "Bearer xna_nope"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert "invalide" in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_empty_bearer_token_is_a_401(client):
    response = client.get("/api/v1/seasons", headers={"Authorization": "Bearer "})
    assert response.status_code == 401


def test_a_revoked_token_stops_working(app, client, db, seeded, make_user, make_token):
    from core.accounts.services import revoke_api_token

    user = make_user()
    token = make_token(user)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/seasons", headers=headers).status_code == 200
    with app.app_context():
        revoke_api_token(db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id)))
        db.session.commit()
    assert client.get("/api/v1/seasons", headers=headers).status_code == 401


def test_token_callers_need_no_csrf_token(client, make_user, make_token):
    # A POST with a bearer token reaches the view (here: 405 as seasons is read-only), where a
    # cookie caller without CSRF token would be stopped first.
    token = make_token(make_user())
    response = client.post("/api/v1/seasons", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405


def test_tokens_are_created_and_revoked_from_the_account_page(client, auth, make_user, db):
    from tests.conftest import csrf_token

    user = make_user()
    auth.login(user.email)
    response = client.post(
        "/compte/jetons", data={"label": "mon intégration", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    page = client.get("/compte").get_data(as_text=True)
    assert "Copiez-le maintenant" in page
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.prefix in page
    response = client.post(
        f"/compte/jetons/{token.id}/revoquer", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_a_user_cannot_revoke_someone_elses_token(client, auth, make_user, make_token, db):
    from tests.conftest import csrf_token

    owner = make_user()
    make_token(owner)
    token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == owner.id))
    auth.login(make_user().email)
    response = client.post(
        f"/compte/jetons/{token_id}/revoquer", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 404


def test_a_token_can_neither_make_nor_revoke_tokens(client, make_user, make_token, db):
    from tests.conftest import csrf_token

    user = make_user()
    make_token(user)
    headers = {"Authorization": f"Bearer {make_token(user)}"}
    # Even with a form's CSRF token, which any page gives to whoever holds the token.
    form = {"label": "relève", "csrf_token": csrf_token(client)}
    made = client.post("/compte/jetons", data=form, headers=headers)
    assert made.status_code == 403
    first = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id))
    revoked = client.post(f"/compte/jetons/{first}/revoquer", data=form, headers=headers)
    assert revoked.status_code == 403
    db.session.expire_all()
    tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert len(tokens) == 2
    assert all(t.revoked_at is None for t in tokens)
