"""OpenID Connect login against a real provider (npm oidc-provider) started on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
import sqlalchemy as sa

from core.accounts.models import OidcIdentity, User
from core.config import OidcProviderConfig
from tests.support.oidc import OidcProvider, complete_login, start_oidc_provider

CALLBACK = "http://localhost/connexion/oidc/local/retour"

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with start_oidc_provider([CALLBACK]) as running:
        yield running


@pytest.fixture
def app_config(app_config, provider):
    app_config["OIDC_PROVIDERS"] = [
        OidcProviderConfig("local", provider.issuer, provider.client_id, provider.client_secret)
    ]
    return app_config


def start_login(client) -> str:
    response = client.get("/connexion/oidc/local")
    assert response.status_code == 302
    return response.headers["Location"]


def test_login_page_shows_a_button_per_provider(client):
    html = client.get("/connexion").get_data(as_text=True)
    assert 'href="/connexion/oidc/local' in html
    assert "Continuer avec Local" in html


def test_authorization_request_uses_pkce_state_and_nonce(client, provider):
    location = start_login(client)
    assert location.startswith(provider.issuer + "/auth")
    params = parse_qs(urlparse(location).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["code_challenge"][0]
    assert params["state"][0]
    assert params["nonce"][0]
    assert params["redirect_uri"] == [CALLBACK]
    assert "openid" in params["scope"][0].split()


def test_first_login_creates_the_account_and_the_second_finds_it(client, db, provider):
    callback = complete_login(start_login(client), login="zoe")
    response = client.get(callback.removeprefix("http://localhost"))
    assert response.status_code == 302, response.get_data(as_text=True)
    account = client.get("/compte")
    assert account.status_code == 200
    assert "zoe@example.test" in account.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).where(User.email == "zoe@example.test"))
    assert user.password_hash is None
    assert user.email_verified
    identity = db.session.scalar(sa.select(OidcIdentity).where(OidcIdentity.user_id == user.id))
    assert (identity.provider, identity.subject) == ("local", "zoe")

    client.post("/deconnexion", data={"csrf_token": _csrf(client)})
    callback = complete_login(start_login(client), login="zoe")
    assert client.get(callback.removeprefix("http://localhost")).status_code == 302
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.email == "zoe@example.test")
    )
    assert count == 1


def test_first_login_links_an_existing_account_with_a_verified_email(client, db, make_user):
    existing = make_user("yann@example.test")
    callback = complete_login(start_login(client), login="yann")
    assert client.get(callback.removeprefix("http://localhost")).status_code == 302
    identity = db.session.scalar(sa.select(OidcIdentity).where(OidcIdentity.subject == "yann"))
    assert identity.user_id == existing.id


def test_an_unverified_email_does_not_take_over_an_existing_account(client, db, make_user):
    make_user("unverified-xena@example.test")
    callback = complete_login(start_login(client), login="unverified-xena")
    response = client.get(callback.removeprefix("http://localhost"))
    assert response.status_code == 409
    assert "email_unverified" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(OidcIdentity)) is None


def _replace_query(url: str, **changes: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunparse(parts._replace(query=urlencode(query)))


def test_a_wrong_state_is_refused(client, db):
    callback = complete_login(start_login(client), login="walt")
    forged = _replace_query(callback, state="forged-state")
    response = client.get(forged.removeprefix("http://localhost"))
    assert response.status_code == 400
    assert "oidc_state_mismatch" in response.get_data(as_text=True)
    assert client.get("/compte").status_code == 302
    assert db.session.scalar(sa.select(User).where(User.email == "walt@example.test")) is None


def test_a_callback_replayed_in_another_browser_is_refused(app, client):
    callback = complete_login(start_login(client), login="vera")
    other_browser = app.test_client()
    response = other_browser.get(callback.removeprefix("http://localhost"))
    assert response.status_code == 400
    assert "oidc_state_mismatch" in response.get_data(as_text=True)


def test_a_wrong_nonce_is_refused(client, db):
    location = start_login(client)
    state = parse_qs(urlparse(location).query)["state"][0]
    # The ID token will carry the nonce sent to the provider; the session now expects another.
    with client.session_transaction() as session:
        key = next(k for k in session if k.startswith("_state_local_") and k.endswith(state))
        stored = session[key]
        stored["data"]["nonce"] = "not-the-nonce-sent"
        session[key] = stored
    callback = complete_login(location, login="ursula")
    response = client.get(callback.removeprefix("http://localhost"))
    assert response.status_code == 400
    assert "oidc_nonce_mismatch" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "ursula@example.test")) is None


def test_an_error_from_the_provider_is_shown_clearly(client):
    location = start_login(client)
    state = parse_qs(urlparse(location).query)["state"][0]
    response = client.get(f"/connexion/oidc/local/retour?error=access_denied&state={state}")
    assert response.status_code == 400
    assert "oidc_refused" in response.get_data(as_text=True)


def test_an_unknown_provider_is_a_404(client):
    assert client.get("/connexion/oidc/nowhere").status_code == 404


def _csrf(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)
