"""Atom feed of released episodes, the sitemap and robots.txt: public, so released content
only."""

from __future__ import annotations

from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask import Blueprint, Response, url_for
from flask.typing import ResponseReturnValue

from core.clock import now
from core.db import db
from core.templating import SITE_NAME
from series import services
from series.models import Episode

bp = Blueprint("feeds", __name__)

FEED_SIZE = 30


@bp.route("/flux.atom")
def episodes_feed() -> ResponseReturnValue:
    """The latest released episodes, newest first (never an unreleased one, whoever asks)."""
    current = now()
    episodes = db.session.scalars(
        sa.select(Episode)
        .where(services.released_clause(current))
        .order_by(Episode.publish_at.desc())
        .limit(FEED_SIZE)
    ).all()
    latest = episodes[0].publish_at if episodes else None
    updated = (latest or current).isoformat()
    entries = []
    for episode in episodes:
        link = url_for("series.episode", episode_id=episode.id, _external=True)
        assert episode.publish_at is not None
        entries.append(
            "<entry>"
            f"<title>{escape(f'Saison {episode.season.number} · {episode.title}')}</title>"
            f'<link rel="alternate" href="{escape(link)}"/>'
            f"<id>{escape(link)}</id>"
            f"<updated>{episode.publish_at.isoformat()}</updated>"
            f"<summary>{escape(episode.synopsis)}</summary>"
            "</entry>"
        )
    self_link = url_for("feeds.episodes_feed", _external=True)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr">'
        f"<title>{escape(SITE_NAME)}</title>"
        f'<link rel="self" href="{escape(self_link)}"/>'
        f"<id>{escape(self_link)}</id><updated>{updated}</updated>" + "".join(entries) + "</feed>"
    )
    return Response(body, mimetype="application/atom+xml")


@bp.route("/sitemap.xml")
def sitemap() -> ResponseReturnValue:
    """Public pages for search engines: seasons and released episodes."""
    current = now()
    urls = [url_for("home.index", _external=True), url_for("series.seasons", _external=True)]
    urls += [
        url_for("series.season", number=s.number, _external=True)
        for s in services.list_seasons(db.session)
    ]
    urls += [
        url_for("series.episode", episode_id=episode_id, _external=True)
        for episode_id in db.session.scalars(
            sa.select(Episode.id).where(services.released_clause(current)).order_by(Episode.id)
        )
    ]
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{escape(u)}</loc></url>" for u in urls)
        + "</urlset>"
    )
    return Response(body, mimetype="application/xml")


#: What search engines have no business in: accounts, the staff's and partners' areas, the API,
#: the sponsored redirects (a crawler's visit would count as a click for the partner) and the
#: shared notebooks (each a player's own page).
NOT_FOR_ROBOTS = (
    "/api/",
    "/compte",
    "/connexion",
    "/edition",
    "/moderation",
    "/partenaire",
    "/go/",
    "/carnet/",
    "/passeport/scan/",
)


@bp.route("/robots.txt")
def robots() -> ResponseReturnValue:
    """Where crawlers may go, and the sitemap."""
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in NOT_FOR_ROBOTS)]
    lines.append(f"Sitemap: {url_for('feeds.sitemap', _external=True)}")
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
