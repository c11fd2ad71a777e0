"""The role guard used by every protected view."""

from __future__ import annotations

import pytest

from core.accounts.auth import roles_required


@pytest.fixture
def app(app):
    @app.route("/api/v1/test-editors-only")
    @roles_required("editor")
    def editors_only():
        return {"ok": True}

    @app.route("/test-moderation")
    @roles_required("moderator", "editor")
    def moderation_page():
        return "modération"

    return app


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("viewer", 403),
        ("resident", 403),
        ("partner", 403),
        ("moderator", 403),
        ("editor", 200),
        ("admin", 200),
    ],
)
def test_only_the_named_roles_and_admins_pass(client, make_user, make_token, role, status):
    token = make_token(make_user(role=role))
    response = client.get("/api/v1/test-editors-only", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    if status == 403:
        assert response.get_json()["error"] == "forbidden"


def test_anonymous_api_callers_get_a_401(client):
    response = client.get("/api/v1/test-editors-only")
    assert response.status_code == 401
    assert response.get_json()["error"] == "login_required"


def test_anonymous_browsers_are_sent_to_the_login_page(client):
    response = client.get("/test-moderation")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion?next=/test-moderation"


def test_several_roles_may_be_allowed(client, auth, make_user):
    auth.login(make_user(role="moderator").email)
    assert client.get("/test-moderation").status_code == 200


def test_the_guard_records_its_roles_for_the_route_matrix():
    @roles_required("partner")
    def view():
        return None

    assert [r.value for r in view.required_roles] == ["partner"]
