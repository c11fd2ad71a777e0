"""Tests of the OpenID Connect test harness itself, with a plain requests client."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.support.oidc import OidcLoginError, OidcProvider, complete_login, start_oidc_provider

REDIRECT_URI = "http://127.0.0.1:5999/auth/oidc/callback"
OTHER_REDIRECT_URI = "http://localhost:5999/auth/oidc/callback"

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with start_oidc_provider([REDIRECT_URI, OTHER_REDIRECT_URI]) as running:
        yield running


@pytest.fixture(scope="module")
def metadata(provider: OidcProvider) -> dict[str, Any]:
    response = requests.get(provider.metadata_url, timeout=5)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _jwt_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def _authorize(
    provider: OidcProvider,
    metadata: dict[str, Any],
    login: str,
    redirect_uri: str = REDIRECT_URI,
) -> tuple[str, str, str, str]:
    """Run the front-channel part; return (code, state, nonce, code_verifier)."""
    state = secrets.token_urlsafe(16)
    nonce = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    challenge = _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid email profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = f"{metadata['authorization_endpoint']}?{urlencode(params)}"
    final = complete_login(url, login=login)
    assert final.startswith(redirect_uri + "?")
    answer = parse_qs(urlsplit(final).query)
    assert answer["state"] == [state]
    assert answer["iss"] == [provider.issuer]
    return answer["code"][0], state, nonce, verifier


def _token(
    provider: OidcProvider,
    metadata: dict[str, Any],
    code: str,
    verifier: str,
    redirect_uri: str = REDIRECT_URI,
) -> requests.Response:
    return requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(provider.client_id, provider.client_secret),
        timeout=5,
    )


def test_discovery_document(provider: OidcProvider, metadata: dict[str, Any]) -> None:
    assert provider.issuer.startswith("http://127.0.0.1:")
    assert metadata["issuer"] == provider.issuer
    assert "S256" in metadata["code_challenge_methods_supported"]
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert metadata[key].startswith(provider.issuer + "/")
    assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"]
    assert {"openid", "email", "profile"} <= set(metadata["scopes_supported"])
    assert {"sub", "email", "email_verified", "name"} <= set(metadata["claims_supported"])
    jwks = requests.get(metadata["jwks_uri"], timeout=5).json()
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"]


def test_code_flow_with_pkce(provider: OidcProvider, metadata: dict[str, Any]) -> None:
    code, _state, nonce, verifier = _authorize(provider, metadata, "alice")
    response = _token(provider, metadata, code, verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer"
    claims = _jwt_payload(tokens["id_token"])
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == provider.client_id
    assert claims["nonce"] == nonce
    assert claims["sub"] == "alice"
    assert claims["email"] == "alice@example.test"
    assert claims["email_verified"] is True
    assert claims["name"] == "alice"

    userinfo = requests.get(
        metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=5,
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["email"] == "alice@example.test"

    # A code is single-use.
    again = _token(provider, metadata, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_unverified_login_and_second_redirect_uri(
    provider: OidcProvider, metadata: dict[str, Any]
) -> None:
    code, _state, _nonce, verifier = _authorize(
        provider, metadata, "unverified-bob", redirect_uri=OTHER_REDIRECT_URI
    )
    response = _token(provider, metadata, code, verifier, redirect_uri=OTHER_REDIRECT_URI)
    assert response.status_code == 200, response.text
    claims = _jwt_payload(response.json()["id_token"])
    assert claims["sub"] == "unverified-bob"
    assert claims["email"] == "unverified-bob@example.test"
    assert claims["email_verified"] is False


def test_wrong_code_verifier_is_refused(provider: OidcProvider, metadata: dict[str, Any]) -> None:
    code, _state, _nonce, _verifier = _authorize(provider, metadata, "carol")
    response = _token(provider, metadata, code, secrets.token_urlsafe(48))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_refused(provider: OidcProvider, metadata: dict[str, Any]) -> None:
    code, _state, _nonce, verifier = _authorize(provider, metadata, "dave")
    response = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(provider.client_id, "not-the-secret"),
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unregistered_redirect_uri_shows_error_page(
    provider: OidcProvider, metadata: dict[str, Any]
) -> None:
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": "http://127.0.0.1:5999/elsewhere",
        "scope": "openid email",
        "state": "s",
    }
    url = f"{metadata['authorization_endpoint']}?{urlencode(params)}"
    with pytest.raises(OidcLoginError, match="redirect_uri"):
        complete_login(url)


def test_stopped_provider_releases_everything() -> None:
    running = start_oidc_provider(["http://127.0.0.1:5999/cb"], client_secret="s3cret")
    assert running.client_secret == "s3cret"
    assert running.client_id == "experts-test"
    running.stop()
    assert running.process.returncode is not None
    running.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(running.metadata_url, timeout=2)


def test_client_secret_post_is_accepted_too(
    provider: OidcProvider, metadata: dict[str, Any]
) -> None:
    code, _state, _nonce, verifier = _authorize(provider, metadata, "erin")
    response = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        },
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert _jwt_payload(response.json()["id_token"])["sub"] == "erin"


def test_missing_node_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.support.oidc.shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match="node"):
        start_oidc_provider([REDIRECT_URI])
