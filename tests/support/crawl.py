"""Every page of the site: the URL map's routes, their parameters filled from the demo content.

Shared by the in-process crawl of tests/core/test_security.py and the browser audit of
tests/e2e/test_accessibility.py, so a new route is visited by both without a list to update.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

#: A rule's parameter: `<int:tip_id>`, `<path:filename>`, `<token>`.
PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def pilot_episodes(session: Session) -> dict[int, int]:
    """Episode number -> id of the seeded pilot season (1–3 released, 4–6 upcoming)."""
    from series.models import Episode, Season

    rows = session.execute(
        sa.select(Episode.number, Episode.id).join(Season).where(Season.number == 1)
    )
    return {int(number): int(ident) for number, ident in rows}


def demo_values(session: Session, pilot: dict[int, int]) -> dict[str, list[Any]]:
    """Route parameter -> every value worth visiting in the demo content."""
    from community.models import Tip, TipPhoto
    from passport.models import FilmingLocation
    from passport.reward_models import Reward
    from series.episodes.hotspot_models import Hotspot, Offer
    from series.votes.models import CastingCall, Poll, PollOption

    def ids(column: Any, limit: int = 4) -> list[Any]:
        return list(session.scalars(sa.select(column).limit(limit))) or [1]

    return {
        "episode_id": list(pilot.values()),
        "hotspot_id": ids(Hotspot.id),
        "number": [1, 2],
        "lang": ["fr", "en"],
        "tip_id": ids(Tip.id, 6),
        "poll_id": ids(Poll.id),
        "call_id": ids(CastingCall.id),
        "location_id": ids(FilmingLocation.id),
        "offer_id": ids(Offer.id) + ids(Reward.id),
        "option_id": ids(PollOption.id, 2),
        "name": [*ids(TipPhoto.path, 2), "x"],
    }


def routes(
    app: Flask, values: dict[str, list[Any]], methods: set[str]
) -> Iterator[tuple[str, str]]:
    """(endpoint, URL) of every route with one of the methods, its parameters filled with
    every known value."""
    for rule in app.url_map.iter_rules():
        if not (methods & set(rule.methods or ())) or rule.endpoint == "static":
            continue
        combos: list[dict[str, Any]] = [{}]
        for match in PARAM.finditer(rule.rule):
            name = match["name"]
            combos = [c | {name: v} for c in combos for v in values.get(name, [1, "x"])]
        for combo in combos:
            yield rule.endpoint, PARAM.sub(lambda m, c=combo: str(c[m["name"]]), rule.rule)


def urls(app: Flask, values: dict[str, list[Any]], methods: set[str]) -> Iterator[str]:
    """Every route with one of the methods, its parameters filled with every known value."""
    for _, url in routes(app, values, methods):
        yield url


def page_endpoints(
    app: Flask, values: dict[str, list[Any]], email: str, password: str, skip: set[str]
) -> set[str]:
    """The GET endpoints (but `skip`) that answer with an HTML page to a visitor or to the
    account: an endpoint is a page as soon as one of its URLs answers 200 with text/html."""
    found: set[str] = set()
    visitor = app.test_client()
    account = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', account.get("/connexion").text)
    assert token is not None
    login = {"email": email, "password": password, "csrf_token": token[1]}
    assert account.post("/connexion", data=login).status_code == 302
    for endpoint, url in routes(app, values, {"GET"}):
        if endpoint in found or endpoint in skip:
            continue
        for client in (visitor, account):
            response = client.get(url)
            response.close()
            if response.status_code == 200 and response.mimetype == "text/html":
                found.add(endpoint)
                break
    return found
