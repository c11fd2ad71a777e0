"""Security headers on every route, pages the content security policy lets run as they are
(no inline script, handler or style), CSRF on every state-changing form and route, and the
flags of every cookie."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from core import consent, i18n
from core.config import OSM_TILE_URL, load_config
from core.security import HSTS, extend_csp, tile_source
from core.seed import DEMO_PASSWORD
from passport import guests
from series.clues import players
from series.episodes.models import EpisodeMedia
from tests.conftest import AuthActions
from tests.support.crawl import PARAM, demo_values, urls

#: Views that change nothing and take no CSRF token (see core.accounts.auth.csrf_exempt).
CSRF_EXEMPT = {"clues_api.verify", "votes_api.verify_receipt"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
#: Elements that make the browser fetch something, and the attributes naming it.
FETCHING = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "input": ("src",),
}


# ---- The pages ----


class Page(HTMLParser):
    """What the policy cares about in one HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.problems: list[str] = []
        #: (method, names of its fields) of every form.
        self.forms: list[tuple[str, set[str]]] = []
        self.scripts = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> (inline handler)")
            if name == "style":
                self.problems.append(f"<{tag} style=…> (inline style)")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> (javascript: URL)")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self.scripts += 1
            if not values.get("src") and values.get("type") != "application/json":
                self.problems.append(f"inline <script {values}>")
        if tag in ("iframe", "embed", "object", "frame", "base"):
            self.problems.append(f"<{tag}>")
        for name in FETCHING.get(tag, ()):
            self._local(tag, values.get(name))
        if tag == "link" and set((values.get("rel") or "").split()) - {"alternate", "canonical"}:
            self._local(tag, values.get("href"))
        if tag == "form":
            self.forms.append(((values.get("method") or "get").lower(), set()))
        if tag in ("input", "button", "select", "textarea") and self.forms:
            self.forms[-1][1].add(values.get("name") or "")

    def _local(self, tag: str, url: str | None) -> None:
        """Everything a page needs comes from this site (ARCHITECTURE.md)."""
        for candidate in (url or "").split(","):
            candidate = candidate.strip().split(" ")[0]
            if candidate and (not candidate.startswith("/") or candidate.startswith("//")):
                self.problems.append(f"<{tag}> loads {candidate} from elsewhere")


def rule_values(app: Flask, db: Any, pilot: dict[int, int]) -> dict[str, list[Any]]:
    """Route parameter -> every value worth visiting in the demo content."""
    with app.app_context():
        return demo_values(db.session, pilot)


def give_episodes_media(app: Flask, db: Any, pilot: dict[int, int]) -> None:
    """A media row for a released and an unreleased episode: the player and the hotspot
    editor render their full markup (the files themselves are not needed)."""
    with app.app_context():
        for number in (1, 4):
            db.session.add(
                EpisodeMedia(
                    episode_id=pilot[number],
                    directory=f"episodes/{pilot[number]}/abcdef{number}",
                    duration_s=60.0,
                    width=1280,
                    height=720,
                    has_audio=True,
                    renditions=[{"name": "720p", "width": 1280, "height": 720, "bitrate": 1}],
                    mp4_name="720p",
                    scenes=[2.0, 5.0],
                )
            )
        db.session.commit()


def crawl(client: FlaskClient, app: Flask, values: dict[str, list[Any]]) -> dict[str, Response]:
    seen = {}
    for url in sorted(set(urls(app, values, {"GET"}))):
        response = client.get(url)
        response.close()
        seen[url] = response
    return seen


def site_policy(response: Response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = [d.split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def header_problems(url: str, response: Response) -> list[str]:
    problems = []
    csp = site_policy(response)
    for directive in ("default-src", "script-src", "style-src", "object-src", "frame-ancestors"):
        if directive not in csp:
            problems.append(f"{url}: no {directive}")
    sources = {s for d in csp.values() for s in d}
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"):
        if loose in sources:
            problems.append(f"{url}: {loose} in the CSP")
    expected = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }
    for name, value in expected.items():
        if response.headers.get(name) != value:
            problems.append(f"{url}: {name}={response.headers.get(name)!r}")
    if "geolocation=(self)" not in response.headers.get("Permissions-Policy", ""):
        problems.append(f"{url}: Permissions-Policy")
    if "Strict-Transport-Security" in response.headers:
        problems.append(f"{url}: HSTS outside production")
    return problems


def page_problems(url: str, page: Page) -> list[str]:
    problems = [f"{url}: {p}" for p in page.problems]
    for method, names in page.forms:
        # A prefixed form's token (ep1-csrf_token) counts: Flask-WTF looks for the suffix.
        if method == "post" and not any(name.endswith("csrf_token") for name in names):
            problems.append(f"{url}: a post form without csrf_token")
    return problems


def test_every_page_sends_the_headers_and_needs_no_inline_script_or_style(
    app: Flask, db: Any, pilot: dict[int, int]
):
    give_episodes_media(app, db, pilot)
    values = rule_values(app, db, pilot)
    anonymous = crawl(app.test_client(), app, values)
    admin = app.test_client()
    assert AuthActions(admin).login("admin@experts.example", DEMO_PASSWORD).status_code == 302
    signed_in = crawl(admin, app, values)

    problems: list[str] = []
    pages: dict[str, Page] = {}
    for who, responses in (("anonymous", anonymous), ("admin", signed_in)):
        for url, response in responses.items():
            problems += header_problems(f"{who} {url}", response)
            if response.mimetype == "text/html":
                pages[f"{who} {url}"] = page = Page(response.get_data(as_text=True))
                problems += page_problems(f"{who} {url}", page)
    assert problems == []
    # The crawl reached the pages that have scripts, forms and data blocks.
    assert len(pages) > 150
    for url in (
        f"/episodes/{pilot[1]}",
        f"/edition/episodes/{pilot[1]}",
        f"/edition/episodes/{pilot[1]}/zones",
        "/passeport",
        "/bons-plans",
        "/bons-plans/nouveau",
        "/enquete/carnet",
        "/passeport/partage",
    ):
        assert signed_in[url].status_code == 200, url
        assert pages[f"admin {url}"].scripts, url
    assert 'data-player data-hls="' in signed_in[f"/episodes/{pilot[1]}"].get_data(as_text=True)
    polls = [u for u in signed_in if re.fullmatch(r"/sondages/\d+", u)]
    assert any("data-fill" in signed_in[u].get_data(as_text=True) for u in polls)


def test_the_policy_allows_only_this_site_and_the_tile_server(
    app_config: dict[str, Any], request: pytest.FixtureRequest
):
    app_config["PASSPORT_TILE_URL"] = OSM_TILE_URL  # the default
    csp = site_policy(request.getfixturevalue("client").get("/"))
    assert csp == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https://tile.openstreetmap.org"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


@pytest.mark.parametrize(
    ("tile_url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("https://a{s}.b.example.org/{z}/{x}/{y}.png", "https://*.b.example.org"),
        ("http://127.0.0.1:8080/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
        ("//tiles.example.org/{z}/{x}/{y}.png", "tiles.example.org"),
        ("/static/img/test-map-tile.png", None),
        ("", None),
    ],
)
def test_the_tile_server_of_the_configuration_is_the_only_outside_image_source(
    tile_url: str, source: str | None
):
    assert tile_source(tile_url) == source


def test_a_configured_tile_server_is_in_img_src(
    app_config: dict[str, Any], request: pytest.FixtureRequest
):
    app_config["PASSPORT_TILE_URL"] = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    client = request.getfixturevalue("client")  # the app, built from the settings above
    csp = site_policy(client.get("/healthz"))
    assert csp["img-src"] == ["'self'", "data:", "https://*.tiles.example.org"]


def test_a_view_may_extend_the_policy_for_its_own_responses(app: Flask):
    @extend_csp(frame_src=["https://player.example.org"], img_src=["https://img.example.org"])
    def embedded() -> str:
        return "ok"

    app.add_url_rule("/test-extended", view_func=embedded)
    client = app.test_client()
    extended = site_policy(client.get("/test-extended"))
    assert extended["frame-src"] == ["https://player.example.org"]  # 'none' gives way
    assert extended["img-src"][-1] == "https://img.example.org"
    assert "https://img.example.org" not in site_policy(client.get("/healthz"))["img-src"]
    with pytest.raises(ValueError, match="unknown CSP directive"):
        extend_csp(scripts_src=["https://cdn.example.org"])


# ---- HSTS and cookies: production is served over HTTPS only ----


@pytest.fixture
def production_config(app_config: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    """The test settings with what EXPERTS_ENV=production changes in the cookies (ask for it
    before `app`, which is built from these settings)."""
    production = load_config(
        {
            "EXPERTS_ENV": "production",
            "SECRET_KEY": "s" * 50,
            "EXPERTS_INSTANCE_PATH": str(tmp_path),
        }
    )
    app_config.update({k: v for k, v in production.items() if "COOKIE" in k})
    app_config["EXPERTS_ENV"] = "production"
    return app_config


def test_no_hsts_outside_production(client: FlaskClient):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def test_hsts_in_production_on_every_response(production_config: dict[str, Any], client):
    for path in ("/healthz", "/nulle-part", "/static/css/site.css"):
        with client.get(path, base_url="https://localhost") as response:
            assert response.headers["Strict-Transport-Security"] == HSTS, path
    assert HSTS == "max-age=31536000; includeSubDomains"


def set_cookies(response: Response) -> dict[str, dict[str, Any]]:
    """Name -> flags of every Set-Cookie header of a response."""
    cookies: dict[str, dict[str, Any]] = {}
    for header in response.headers.getlist("Set-Cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            cookies[name] = {
                "httponly": bool(morsel["httponly"]),
                "secure": bool(morsel["secure"]),
                "samesite": morsel["samesite"],
                "deleted": morsel["max-age"] == "0",
            }
    return cookies


def app_cookies(app: Flask) -> dict[str, dict[str, Any]]:
    """Every cookie the app sets or drops itself, through its real response hooks."""
    with app.test_request_context("/"):
        response = Response()
        players.COOKIE.issue()  # series.clues.players: a guest's first find
        guests.COOKIE.issue()  # passport.guests: a guest's first stamp
        consent.store_choice(response, True)
        i18n.remember_language(response, "en")
        cookies = set_cookies(app.process_response(response))
    with app.test_request_context("/"):
        players.COOKIE.forget()  # signed in: merged, dropped
        guests.COOKIE.forget()
        for name, flags in set_cookies(app.process_response(Response())).items():
            cookies[f"{name} (dropped)"] = flags
    return cookies


def signed_in_cookies(client: FlaskClient, make_user: Any, base_url: str) -> dict[str, Any]:
    """The cookies of a login with 'remember me' (a Secure cookie comes back over HTTPS only,
    hence the base URL)."""
    user = make_user()
    html = client.get("/connexion", base_url=base_url).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    response = client.post(
        "/connexion",
        data={
            "email": user.email,
            "password": AuthActions.password,
            "remember": "y",
            "csrf_token": match[1],
        },
        base_url=base_url,
        # Over HTTPS Flask-WTF also wants the Referer of a page of this site.
        headers={"Referer": f"{base_url}/connexion"},
    )
    assert response.status_code == 302
    return set_cookies(response)


EXPECTED_COOKIES = {
    "session",
    "remember_token",
    "enquete",
    "passeport",
    "consent",
    "lang",
    "enquete (dropped)",
    "passeport (dropped)",
}


def test_every_cookie_is_httponly_and_lax_and_not_secure_over_local_http(
    app: Flask, client: FlaskClient, make_user: Any
):
    cookies = app_cookies(app) | signed_in_cookies(client, make_user, "http://localhost")
    assert set(cookies) == EXPECTED_COOKIES
    for name, flags in cookies.items():
        assert flags["httponly"], name
        assert flags["samesite"] == "Lax", name
        assert not flags["secure"], name


def test_every_cookie_is_secure_in_production(
    production_config: dict[str, Any], app: Flask, client: FlaskClient, make_user: Any
):
    cookies = app_cookies(app) | signed_in_cookies(client, make_user, "https://localhost")
    assert set(cookies) == EXPECTED_COOKIES
    for name, flags in cookies.items():
        assert flags == {**flags, "httponly": True, "samesite": "Lax", "secure": True}, name


# ---- CSRF: every state-changing route refuses a browser without the token ----


def test_every_state_changing_route_needs_the_csrf_token(
    app: Flask, db: Any, pilot: dict[int, int]
):
    browser = app.test_client()
    AuthActions(browser).login("admin@experts.example", DEMO_PASSWORD)
    values = rule_values(app, db, pilot)
    checked = []
    for rule in app.url_map.iter_rules():
        unsafe = UNSAFE & set(rule.methods or ())
        if not unsafe or rule.endpoint in CSRF_EXEMPT:
            continue
        url = PARAM.sub(lambda m: str(values.get(m["name"], [1])[0]), rule.rule)
        for method in sorted(unsafe):
            response = browser.open(url, method=method, data={"x": "1"})
            assert response.status_code == 400, (method, url, response.status_code)
            assert "CSRF" in response.get_data(as_text=True), (method, url)
            checked.append((method, rule.endpoint))
    assert len(checked) > 60
    # The exempt ones are checks that change nothing.
    for endpoint in CSRF_EXEMPT:
        assert getattr(app.view_functions[endpoint], "csrf_exempt", False)
