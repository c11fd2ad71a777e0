"""JSON API of the catalogue: seasons and episodes (CONTRACT.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.api import SCHEMAS, operation, ref
from core.clock import now
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from series import services
from series.models import Episode, Season

bp = Blueprint("series_api", __name__, url_prefix="/api/v1")

SCHEMAS["Departement"] = {
    "type": "object",
    "required": ["code", "name"],
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
}
SCHEMAS["Season"] = {
    "type": "object",
    "required": ["number", "departement", "title", "episode_count"],
    "properties": {
        "number": {"type": "integer", "minimum": 1, "maximum": 12},
        "departement": ref("Departement"),
        "title": {"type": "string"},
        "episode_count": {"type": "integer", "description": "episodes the caller can watch"},
        "episodes_planned": {"type": "integer"},
        "premiere_at": {"type": "string", "format": "date-time", "nullable": True},
    },
}
SCHEMAS["GuestStar"] = {
    "type": "object",
    "required": ["name", "real_life_role"],
    "properties": {
        "name": {"type": "string"},
        "real_life_role": {"type": "string"},
        "ambassador_text": {"type": "string"},
    },
}
SCHEMAS["Episode"] = {
    "type": "object",
    "required": ["id", "season", "number", "title", "released"],
    "properties": {
        "id": {"type": "integer"},
        "season": {"type": "integer"},
        "number": {"type": "integer"},
        "title": {"type": "string"},
        "synopsis": {"type": "string"},
        "duration": {"type": "number", "nullable": True},
        "publish_at": {"type": "string", "format": "date-time", "nullable": True},
        "released": {"type": "boolean"},
        "guest_stars": {"type": "array", "items": ref("GuestStar")},
    },
}
SCHEMAS["EpisodeDetail"] = {
    "allOf": [
        ref("Episode"),
        {
            "type": "object",
            "properties": {
                "media": {
                    "type": "object",
                    "nullable": True,
                    "description": "media URLs once the episode is ingested",
                },
                "hotspots": {"type": "array", "items": {"type": "object"}},
            },
        },
    ]
}


def season_json(season: Season, visible_count: int) -> dict[str, Any]:
    return {
        "number": season.number,
        "departement": {"code": season.departement_code, "name": season.departement_name},
        "title": season.title,
        "episode_count": visible_count,
        "episodes_planned": len(season.episodes),
        "premiere_at": season.premiere_at.isoformat() if season.premiere_at else None,
    }


def episode_json(episode: Episode) -> dict[str, Any]:
    current = now()
    return {
        "id": episode.id,
        "season": episode.season.number,
        "number": episode.number,
        "title": episode.title,
        "synopsis": episode.synopsis,
        "duration": episode.duration_s,
        "publish_at": episode.publish_at.isoformat() if episode.publish_at else None,
        "released": episode.is_released(current),
        "guest_stars": [
            {
                "name": g.name,
                "real_life_role": g.real_life_role,
                "ambassador_text": g.ambassador_text,
            }
            for g in episode.guest_stars
        ],
    }


@bp.route("/seasons")
@operation(
    "The 12 seasons, one per département",
    {200: ("Seasons in order", {"type": "array", "items": ref("Season")})},
    tags=["catalogue"],
)
def seasons() -> ResponseReturnValue:
    current = now()
    see_all = services.can_see_unreleased(current_user)
    counts = services.released_counts(db.session, current)
    return jsonify(
        [
            season_json(s, len(s.episodes) if see_all else counts.get(s.id, 0))
            for s in services.list_seasons(db.session)
        ]
    )


@bp.route("/seasons/<int:number>/episodes")
@operation(
    "Released episodes of a season (editors also see unreleased ones)",
    {
        200: ("Episodes in order", {"type": "array", "items": ref("Episode")}),
        404: ("No such season", ref("Error")),
    },
    tags=["catalogue"],
)
def season_episodes(number: int) -> ResponseReturnValue:
    season = services.get_season(db.session, number)
    if season is None:
        raise ApiError(404, "not_found", _("Saison introuvable."))
    episodes = services.visible_episodes(db.session, season, current_user, now())
    return jsonify([episode_json(e) for e in episodes])


@bp.route("/episodes/<int:episode_id>")
@operation(
    "An episode with its media, guest stars and public hotspots",
    {
        200: ("The episode", ref("EpisodeDetail")),
        404: ("No such episode, or not released yet", ref("Error")),
    },
    tags=["catalogue"],
)
def episode(episode_id: int) -> ResponseReturnValue:
    found = services.get_visible_episode(db.session, episode_id, current_user, now())
    if found is None:
        # The same answer for "unreleased" and "missing": nothing leaks before release.
        raise ApiError(404, "not_found", _("Épisode introuvable."))
    from series.episodes.media_views import media_urls
    from series.episodes.services import media_of, tracks_of

    media = media_of(db.session, found.id)
    urls = media_urls(media, tracks_of(db.session, found.id)) if media else None
    from series.episodes.hotspots import hotspot_json, public_hotspots

    hotspots = [hotspot_json(h) for h in public_hotspots(db.session, found.id)]
    return jsonify({**episode_json(found), "media": urls, "hotspots": hotspots})
