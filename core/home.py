"""Home page and site-wide search."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.clock import now
from core.db import db
from series import services as series

bp = Blueprint("home", __name__)

MAX_QUERY = 100


@bp.route("/")
def index() -> ResponseReturnValue:
    """The home page: search first, then the pilot season and the map of seasons."""
    current = now()
    seasons = series.list_seasons(db.session)
    pilot = seasons[0] if seasons else None
    return render_template(
        "home.html",
        seasons=seasons,
        pilot=pilot,
        pilot_episodes=series.visible_episodes(db.session, pilot, current_user, current)
        if pilot
        else [],
        released=series.released_counts(db.session, current),
    )


@bp.route("/recherche")
def search() -> ResponseReturnValue:
    """Search episodes (places and tips join when their domains land)."""
    query = request.args.get("q", "").strip()[:MAX_QUERY]
    episodes = series.search_episodes(db.session, query, current_user, now()) if query else []
    return render_template("search.html", query=query, episodes=episodes)
