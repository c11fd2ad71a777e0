"""Nothing of an unreleased episode reaches anyone but editors (ARCHITECTURE.md, "Spoilers").

A visitor and a viewer crawl the site before the release of the pilot's last episodes: every
link from the home page on (pages, API answers, feeds, the sitemap, robots.txt, WebVTT tracks,
HLS playlists, media files), every GET route of the URL map with its parameters filled with
every id there is (the unreleased episodes', their media tokens and files, their tracks, their
hotspots and polls included), every GET operation of the OpenAPI document with its query
parameters, and the search boxes asked for the secrets themselves. No answer, body or header,
may carry a secret of tests/security/spoilers.py: the secret title, a media folder, token,
rendition or file name, a caption or chapter line, a hotspot's label or position, a clue's
answer, a ballot of a poll whose results are not public; no poll answer may carry the counts of
such a poll; every URL of the unreleased media is refused.

An editor sees each kind of secret at its place (the secrets are real and the crawl would see
them if they leaked).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from community.models import TipPhoto
from core.clock import now
from passport.models import FilmingLocation
from series.clues.models import ClueFind
from series.episodes.hotspot_models import Hotspot, Offer
from series.episodes.models import EpisodeMedia, IngestJob, Track
from series.models import Episode
from series.votes.models import CastingCall, EndingMedia, Poll
from tests.security.policy import ANONYMOUS, EDITOR, VIEWER
from tests.security.spoilers import Secrets, make_secrets
from tests.security.world import World, build_world

#: At most this many URLs per endpoint come from following links (the tips board alone has
#: pages, filters and sorts without end); the route and OpenAPI passes are not capped.
LINKS_PER_ENDPOINT = 8
#: Headers that carry no content of the site (the session cookie is signed data, the CSP
#: and the rest are fixed).
SKIPPED_HEADERS = {"set-cookie", "content-security-policy", "date", "content-length"}
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_ATTRIBUTE = re.compile(r"""\b[\w-]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XML_LINK = re.compile(r"""(?:href="([^"]+)"|<loc>([^<]+)</loc>)""")
_HEADER_LINK = re.compile(r"<([^>]+)>")
#: Routes whose GET changes something the crawl does not want changed.
NOT_FOLLOWED = {"i18n.switch_language"}


@dataclass
class Crawl:
    """One caller's crawl: the answers by URL, and the URLs still to fetch."""

    app: Flask
    client: FlaskClient
    answers: dict[str, TestResponse] = field(default_factory=dict)
    per_endpoint: Counter[str] = field(default_factory=Counter)
    queue: list[str] = field(default_factory=list)

    def endpoint_of(self, url: str) -> str | None:
        parts = urlsplit(url)
        adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, _args = adapter.match(parts.path, method="GET")
        except HTTPException:
            return None
        return str(endpoint)

    def fetch(self, url: str) -> TestResponse:
        if url not in self.answers:
            response = self.client.get(url)
            response.get_data()  # read before closing (a file's answer streams otherwise)
            response.close()
            self.answers[url] = response
            self.queue.extend(links_of(url, response))
        return self.answers[url]

    def follow(self, start: str) -> None:
        """Fetch a URL and everything linked from it, breadth first."""
        self.queue.append(start)
        while self.queue:
            url = self.queue.pop(0)
            if url in self.answers:
                continue
            endpoint = self.endpoint_of(url)
            if endpoint in (None, "static", *NOT_FOLLOWED):
                continue
            if self.per_endpoint[endpoint] >= LINKS_PER_ENDPOINT and urlsplit(url).path != start:
                continue
            self.per_endpoint[endpoint] += 1
            self.fetch(url)


def local(base: str, link: str) -> str | None:
    """A link as a path (and query) of this site, or None if it leads elsewhere."""
    link = link.strip()
    if not link or link.startswith(("#", "data:", "blob:", "mailto:", "tel:", "javascript:")):
        return None
    absolute = urljoin(f"http://localhost{base}", link)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.hostname != "localhost":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_of(url: str, response: TestResponse) -> Iterator[str]:
    """Every link of an answer: its headers, and its body whatever the format."""
    candidates: list[str] = []
    if response.location:
        candidates.append(response.location)
    for value in response.headers.getlist("Link"):
        candidates += _HEADER_LINK.findall(value)
    text = text_of(response)
    mimetype = response.mimetype or ""
    if mimetype == "text/html":
        for quoted in _ATTRIBUTE.findall(text):
            value = quoted[0] or quoted[1]
            for part in value.split(","):  # srcset
                word = part.strip().split(" ")[0]
                if word.startswith(("/", "http://localhost")):
                    candidates.append(word)
        candidates += re.findall(r'"(/[^"\s]*)"', text)  # JSON data blocks
    elif mimetype.endswith("json"):
        with contextlib.suppress(ValueError):
            candidates += [s for s in strings_of(json.loads(text)) if s.startswith("/")]
    elif mimetype.endswith("xml"):
        candidates += [a or b for a, b in _XML_LINK.findall(text)]
    elif mimetype in ("text/vtt", "application/vnd.apple.mpegurl"):
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "-->" not in line and " " not in line:
                candidates.append(line.split("#")[0])
            candidates += re.findall(r'"(/[^"\s]*)"', line)  # hotspot payloads
    elif mimetype == "text/plain":  # robots.txt
        candidates += re.findall(r"^(?:Sitemap|Allow):\s*(\S+)", text, re.MULTILINE)
    for candidate in candidates:
        found = local(url, candidate)
        if found is not None:
            yield found


def text_of(response: TestResponse) -> str:
    """The body as text (a binary file's bytes too: a name may hide in them)."""
    return response.get_data().decode("utf-8", "replace")


def strings_of(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


# ---- What to ask for besides the links


def values_of(app: Flask, db: Any, world: World) -> dict[str, list[Any]]:
    """Route parameter -> every value there is (ids of everything, released or not)."""

    def every(column: Any) -> list[Any]:
        return list(db.session.scalars(sa.select(column).order_by(column)))

    with app.app_context():
        unreleased = [
            e.id for e in db.session.scalars(sa.select(Episode)) if not e.is_released(now())
        ]
        hotspots = db.session.execute(
            sa.select(Hotspot.id, Hotspot.episode_id).order_by(Hotspot.id)
        )
        hidden = [h for h, episode in hotspots if episode in unreleased]
        released = [h for h in every(Hotspot.id) if h not in hidden]
        return {
            "episode_id": every(Episode.id),
            # Every hotspot of the unreleased episodes (clues too), a few of the others.
            "hotspot_id": hidden + released[:4],
            "poll_id": every(Poll.id),
            "call_id": every(CastingCall.id),
            "location_id": every(FilmingLocation.id)[:3],
            "tip_id": [world.resources["published_tip"], world.resources["pending_tip"]],
            "offer_id": every(Offer.id),
            "find_id": every(ClueFind.id),
            "job_id": every(IngestJob.id),
            "user_id": [world.resources["member"]],
            "token_id": [world.resources["residents_token"]],
            "stamp_id": [world.resources["held_stamp"]],
            "reward_id": [world.resources["partner_reward"]],
            # The pilot (its episodes), a season without any yet, one that does not exist.
            "number": [1, 2, 13],
            "lang": ["fr"],
            "code": ["86"],
            "token": [world.resources["shared_notebook"], "x"],
            "name": ["x"],
        }


def media_urls(app: Flask, db: Any) -> list[str]:
    """Every file of every episode's and ending's media, and every track."""
    from series.episodes.services import media_root

    urls = []
    with app.app_context():
        for media in db.session.scalars(sa.select(EpisodeMedia)):
            folder = media_root() / media.directory
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                name = path.relative_to(folder).as_posix()
                urls.append(f"/media/episodes/{media.episode_id}/{media.token}/{name}")
        for track in db.session.scalars(sa.select(Track)):
            urls.append(f"/media/episodes/{track.episode_id}/tracks/{track.id}.vtt")
        for ending in db.session.scalars(sa.select(EndingMedia)):
            urls.append(f"/media/fins/{ending.option_id}/{ending.token}/poster.jpg")
        for tip_id, name in db.session.execute(sa.select(TipPhoto.tip_id, TipPhoto.path)):
            urls.append(f"/bons-plans/photos/{tip_id}/{name}")
    return urls


def route_urls(app: Flask, values: dict[str, list[Any]]) -> Iterator[str]:
    """Every GET route, its parameters filled with every known value (files aside)."""
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in ("static", *NOT_FOLLOWED):
            continue
        if rule.endpoint in ("media.episode_file", "media.track_file", "votes.ending_file"):
            continue  # media_urls: every real file
        names = [m["name"] for m in _PARAM.finditer(rule.rule)]
        for combo in itertools.product(*(values.get(n, ["x"]) for n in names)):
            filled = dict(zip(names, combo, strict=True))
            yield _PARAM.sub(lambda m, f=filled: str(f[m["name"]]), rule.rule)


def openapi_urls(document: dict[str, Any], values: dict[str, list[Any]], secrets: Secrets):
    """Every GET operation of the OpenAPI document, bare and with each query parameter."""
    queries: dict[str, list[Any]] = {
        "episode": values["episode_id"],
        "season": [1, 2],
        "state": ["open", "scheduled", "closed"],
        "t": [4.0],
        "q": secrets.queries,
        "kind": ["clue", "place"],
    }
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        params = get.get("parameters", [])
        names = [p["name"] for p in params if p["in"] == "path"]
        for combo in itertools.product(*(values.get(n, ["x"]) for n in names)):
            filled = dict(zip(names, combo, strict=True))
            url = re.sub(r"\{(\w+)\}", lambda m, f=filled: str(f[m[1]]), path)
            yield url
            for param in params:
                for value in queries.get(param["name"], []) if param["in"] == "query" else []:
                    yield f"{url}?{urlencode({param['name']: value})}"


def extra_urls(values: dict[str, list[Any]], secrets: Secrets) -> Iterator[str]:
    """The site's public documents, and pages filtered by an episode or asked a secret."""
    yield from ("/robots.txt", "/sitemap.xml", "/flux.atom", "/api/openapi.json")
    for episode_id in values["episode_id"]:
        yield f"/enquete/classement?{urlencode({'episode': episode_id})}"
        yield f"/api/v1/episodes/{episode_id}/scene?t=5"
    for query in secrets.queries:
        for path in ("/recherche", "/bons-plans", "/api/v1/tips"):
            yield f"{path}?{urlencode({'q': query})}"


# ---- Checks


def searchable(url: str, response: TestResponse) -> str:
    """The answer's body and headers, less what the caller sent itself (an echoed query or
    path is no leak)."""
    parts = [text_of(response)]
    parts += [
        f"{name}: {value}"
        for name, value in response.headers.items()
        if name.lower() not in SKIPPED_HEADERS
    ]
    text = "\n".join(parts)
    split = urlsplit(url)
    echoes = [url, split.path, unquote(split.path)]
    echoes += [v for _k, v in parse_qsl(split.query)] + [split.query]
    for echo in sorted(filter(None, echoes), key=len, reverse=True):
        text = text.replace(echo, "")
    return text


def leaks(url: str, response: TestResponse, secrets: Secrets) -> list[str]:
    text = searchable(url, response)
    found = [f"{name} ({needle!r})" for name, needle in secrets.needles.items() if needle in text]
    if (response.mimetype or "").endswith("json"):
        with contextlib.suppress(ValueError):
            found += counts_of_hidden_polls(json.loads(text_of(response)), secrets)
    for poll_id, options in secrets.hidden_polls.items():
        # The bars of a poll's page name their options (data-option); the audit its totals.
        if any(f'data-option="{o}"' in text for o in options):
            found.append(f"bars of poll {poll_id}")
        if response.status_code == 200 and urlsplit(url).path in (
            f"/sondages/{poll_id}/registre",
            f"/api/v1/polls/{poll_id}/audit",
        ):
            found.append(f"audit of poll {poll_id}")
    return found


def counts_of_hidden_polls(value: Any, secrets: Secrets) -> list[str]:
    """A poll object (or an audit log) of a hidden poll with counts in it."""
    found = []
    if isinstance(value, dict):
        # A poll object ({"id", "question", …}), an audit log or a tally event ({"poll", …}).
        poll = value.get("id") if "question" in value else value.get("poll")
        if isinstance(poll, int) and poll in secrets.hidden_polls:
            for key in ("counts", "total", "totals", "entries"):
                if value.get(key) not in (None, {}, []):
                    found.append(f"{key} of poll {poll}")
        for item in value.values():
            found += counts_of_hidden_polls(item, secrets)
    elif isinstance(value, list):
        for item in value:
            found += counts_of_hidden_polls(item, secrets)
    return found


def refused(response: TestResponse) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code in (302, 303) and "/connexion" in (response.location or "")


def client_of(app: Flask, world: World, actor: str) -> FlaskClient:
    client = app.test_client()
    if actor != ANONYMOUS:
        cookie = world.actors[actor].session_cookie
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client


def socket_events(
    app: Flask, world: World, actor: str, values: dict[str, list[Any]], secrets: Secrets
) -> tuple[list[Any], list[str]]:
    """Join every room there is (episodes, polls, rankings, ingest jobs) over Socket.IO: the
    events received, and the problems (an unreleased episode's room let in)."""
    from core.extensions import socketio
    from core.realtime import ROOM_KINDS

    ids = {
        "episode": values["episode_id"],
        "leaderboard-episode": values["episode_id"],
        "poll": values["poll_id"],
        "leaderboard": [0, 1],
        "ingest": values["job_id"],
    }
    assert set(ROOM_KINDS) <= set(ids), f"rooms the crawl does not know: {set(ROOM_KINDS)}"
    client = socketio.test_client(app, flask_test_client=client_of(app, world, actor))
    problems = []
    episodes = ("episode", "leaderboard-episode")
    try:
        for kind, idents in ids.items():
            for ident in idents:
                ack = client.emit("join", {kind: ident}, callback=True)
                if ack.get("ok") and kind in episodes and ident in secrets.unreleased:
                    problems.append(f"{actor} joined the room of unreleased {kind} {ident}")
        events = client.get_received()
    finally:
        client.disconnect()
    return events, problems


def crawl_as(app: Flask, world: World, actor: str, urls: Iterable[str]) -> Crawl:
    crawl = Crawl(app, client_of(app, world, actor))
    crawl.follow("/")
    for url in urls:
        crawl.fetch(url)
        while crawl.queue:  # what the answer links to, capped like the rest
            crawl.follow(crawl.queue.pop(0))
    return crawl


def test_nothing_of_an_unreleased_episode_reaches_a_visitor_or_a_viewer(
    app: Flask, db: Any, make_user: Any, make_token: Any, pilot: dict[int, int]
) -> None:
    world = build_world(app, db, make_user, make_token, pilot)
    with app.app_context():
        secrets = make_secrets(db.session, pilot)
        db.session.commit()
    values = values_of(app, db, world)
    files = media_urls(app, db)
    assert set(secrets.media_urls) & set(files), "the unreleased media files are on disk"
    document = app.test_client().get("/api/openapi.json").get_json()
    urls = [
        *extra_urls(values, secrets),
        *route_urls(app, values),
        *openapi_urls(document, values, secrets),
        *files,
        *secrets.media_urls,
    ]

    # The secrets are real: an editor finds each kind where it lives.
    editor = client_of(app, world, EDITOR)
    for url, needle in secrets.editor_checks:
        with editor.get(url) as response:
            assert response.status_code == 200, url
            assert needle in text_of(response), (url, needle)

    started = time.perf_counter()
    problems: list[str] = []
    fetched: dict[str, int] = {}
    received: dict[str, int] = {}
    for actor in (ANONYMOUS, VIEWER):
        crawl = crawl_as(app, world, actor, urls)
        fetched[actor] = len(crawl.answers)
        for url, response in crawl.answers.items():
            problems += [f"{actor} {url}: {leak}" for leak in leaks(url, response, secrets)]
            if response.status_code >= 500:
                problems.append(f"{actor} {url}: {response.status_code}")
        for url in secrets.media_urls:
            if not refused(crawl.answers[url]):
                problems.append(f"{actor} {url}: {crawl.answers[url].status_code}, not refused")
        kinds = Counter(r.mimetype for r in crawl.answers.values() if r.status_code == 200)
        # The crawl saw every kind of answer: pages, API, the feed, the sitemap, tracks.
        for kind in ("text/html", "application/json", "application/atom+xml", "text/vtt"):
            assert kinds[kind], (actor, kind, kinds)
        assert kinds["application/xml"] or kinds["text/xml"], (actor, kinds)
        assert crawl.answers["/robots.txt"].status_code == 200
        events, refusals = socket_events(app, world, actor, values, secrets)
        problems += refusals
        text = json.dumps(events, ensure_ascii=False)
        problems += [
            f"{actor} Socket.IO: {name}"
            for name, needle in secrets.needles.items()
            if needle in text
        ]
        problems += [f"{actor} Socket.IO: {c}" for c in counts_of_hidden_polls(events, secrets)]
        assert any(e["name"] == "tally" for e in events), events  # the rooms answered
        received[actor] = len(events)
    elapsed = time.perf_counter() - started
    print(f"spoiler crawl: {fetched} URLs, {received} Socket.IO events in {elapsed:.1f} s")
    assert not problems, "\n".join(problems[:80]) + f"\n({len(problems)} problems)"
    assert min(fetched.values()) > 300, fetched
