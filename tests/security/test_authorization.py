"""The authorisation matrix: every route of the URL map, called by every kind of caller
(tests/security/policy.py's ACTORS) with its session and with an API token, answers as the
policy says; a route without a rule, or a rule without a route, fails.

One seeded database serves the whole matrix. Each request runs inside a savepoint rolled back
right after it, so what a request changes (a hotspot deleted, a casting call's sign-ups purged,
a held stamp decided, a reward code redeemed) is gone before the next caller comes: every
answer is the one a caller gets from the same world, whatever the order. Each request also
starts from a fresh client holding only the caller's session cookie, so a logout or a guest
cookie never leaks into the next request. The only effect outside the database, the editor's
upload deleted from disk, is put back after each request (world.repair).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for

from core.config import OidcProviderConfig
from tests.security.policy import ACTORS, ANONYMOUS, OIDC, POLICY, Param, Ref, Rule
from tests.security.world import Actor, World, build_world

ALLOWED, REFUSED = "allowed", "refused"
SESSION, TOKEN = "session", "token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/connexion"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A provider that does not answer (its login is a 502, its callback a 400): enough to
    # reach the views of an OpenID Connect login.
    provider = OidcProviderConfig(OIDC, "http://127.0.0.1:9", "matrix", "secret")
    return app_config | {"OIDC_PROVIDERS": [provider]}


def route_methods(app: Flask) -> dict[str, set[str]]:
    """Every endpoint (static files aside) and the methods its routes answer."""
    found: dict[str, set[str]] = {}
    for url_rule in app.url_map.iter_rules():
        if url_rule.endpoint == "static":
            continue
        methods = set(url_rule.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # answered by the GET view
        if getattr(url_rule, "provide_automatic_options", True):
            methods.discard("OPTIONS")
        found.setdefault(url_rule.endpoint, set()).update(methods)
    return found


def rules_of(endpoint: str) -> tuple[Rule, ...]:
    entry = POLICY[endpoint]
    return entry if isinstance(entry, tuple) else (entry,)


def test_every_route_has_a_rule(app: Flask) -> None:
    missing = sorted(set(route_methods(app)) - set(POLICY))
    assert not missing, f"routes without a line in tests/security/policy.py: {missing}"


def test_every_rule_names_a_route(app: Flask) -> None:
    stale = sorted(set(POLICY) - set(route_methods(app)))
    assert not stale, f"lines of tests/security/policy.py without a route: {stale}"


# ---- the matrix


@dataclass(frozen=True)
class Call:
    """One cell of the matrix."""

    endpoint: str
    method: str
    path: str
    rule: Rule
    actor: str
    via: str

    @property
    def expected(self) -> str:
        access = self.rule.access_for(self.method)
        if self.actor not in access.allowed or (self.via == TOKEN and not self.rule.tokens):
            return REFUSED
        return ALLOWED


def _value(param: Param, world: World) -> Any:
    return world.resources[param.name] if isinstance(param, Ref) else param


def calls(app: Flask, world: World) -> list[Call]:
    """Every route × method × caller × way of signing in (visitors have no token)."""
    # Built before any request: a request made while this context is pushed would share it.
    with app.test_request_context():
        return [
            Call(endpoint, method, url_for(endpoint, **_params(rule, world)), rule, actor, via)
            for endpoint, methods in sorted(route_methods(app).items())
            if endpoint in POLICY  # test_every_route_has_a_rule names the others
            for rule in rules_of(endpoint)
            for method in sorted(methods)
            for actor in ACTORS
            for via in ((SESSION,) if actor == ANONYMOUS else (SESSION, TOKEN))
        ]


def _params(rule: Rule, world: World) -> dict[str, Any]:
    return {name: _value(value, world) for name, value in rule.params.items()}


def classify(status: int, location: str | None, body: bytes, hidden: bool) -> str:
    """Allowed, refused, or what is wrong with the request itself.

    Anything but a refusal lets the caller through, an error of the (empty) body included:
    a 422 or a 409 comes from the view, after its guards. A 429 too: only public routes are
    rate limited.
    """
    if status in (401, 403):
        return REFUSED
    if status in (301, 302, 303, 307) and urlsplit(location or "").path == LOGIN_PATH:
        return REFUSED
    if status == 404:
        # Outside hidden rules a 404 means the parameters reach nothing: fix them.
        return REFUSED if hidden else "404 (parameters reach nothing)"
    if status == 400 and b"csrf_failed" in body:
        return "400 (CSRF token refused)"
    if status == 500:
        return "500"
    return ALLOWED


def answer(app: Flask, connection: Any, world: World, call: Call) -> tuple[str, int]:
    """Make the call inside a savepoint rolled back after it; classify the answer."""
    actor: Actor = world.actors[call.actor]
    client = app.test_client()
    headers = dict(call.rule.headers)
    if call.via == TOKEN:
        headers["Authorization"] = f"Bearer {actor.api_token}"
    else:
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], actor.session_cookie)
        if call.method in UNSAFE:
            headers["X-CSRFToken"] = actor.csrf_token
    form = {k: _value(v, world) for k, v in call.rule.form.items()}
    savepoint = connection.begin_nested()
    try:
        response = client.open(call.path, method=call.method, headers=headers, data=form or None)
        body = response.get_data()
        response.close()
    finally:
        savepoint.rollback()
        world.repair()
    hidden = call.rule.access_for(call.method).hidden
    return classify(response.status_code, response.location, body, hidden), response.status_code


def report(wrong: list[tuple[Call, str, int]]) -> str:
    lines = [f"{len(wrong)} answers differ from tests/security/policy.py:"]
    for call, observed, status in wrong:
        access = call.rule.access_for(call.method)
        lines.append(
            f"  {call.endpoint} {call.method} {call.path} [{access.name}]"
            f" {call.actor} by {call.via}: expected {call.expected}, got {observed} ({status})"
        )
    return "\n".join(lines)


def test_every_caller_gets_what_the_policy_says(
    app: Flask, db: Any, make_user: Any, make_token: Any, pilot: dict[int, int]
) -> None:
    world = build_world(app, db, make_user, make_token, pilot)
    with app.app_context():
        connection = db.session.get_bind()
    started = time.perf_counter()
    wrong = []
    made = 0
    for call in calls(app, world):
        observed, status = answer(app, connection, world, call)
        made += 1
        if observed != call.expected:
            wrong.append((call, observed, status))
    elapsed = time.perf_counter() - started
    print(f"authorisation matrix: {made} requests in {elapsed:.1f} s")
    assert not wrong, report(wrong)
