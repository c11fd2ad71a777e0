"""Pages of the catalogue: seasons, a season, an episode."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from community import places as community_places
from core.clock import now
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from series import services
from series.clues import players as clue_players
from series.clues import services as clue_services
from series.clues.accusation import investigation_of
from series.episodes import services as media_services
from series.episodes.media_views import media_urls
from series.votes import services as votes
from series.votes.endings import ending_url

bp = Blueprint("series", __name__, template_folder="templates")


@bp.route("/saisons")
def seasons() -> ResponseReturnValue:
    """The 12 seasons, one per département."""
    current = now()
    return render_template(
        "series/seasons.html",
        seasons=services.list_seasons(db.session),
        released=services.released_counts(db.session, current),
    )


@bp.route("/saisons/<int:number>")
def season(number: int) -> ResponseReturnValue:
    """A season: its released episodes and the countdown to the next ones."""
    found = services.get_season(db.session, number)
    if found is None:
        raise ApiError(404, "not_found", _("Saison introuvable."))
    current = now()
    return render_template(
        "series/season.html",
        season=found,
        episodes=services.visible_episodes(db.session, found, current_user, current),
        upcoming=[
            e
            for e in services.upcoming_episodes(db.session, found, current)
            if not services.can_see_unreleased(current_user)
        ],
        now=current,
    )


@bp.route("/episodes/<int:episode_id>")
def episode(episode_id: int) -> ResponseReturnValue:
    """An episode page (404 before release, except for editors)."""
    current = now()
    found = services.get_visible_episode(db.session, episode_id, current_user, current)
    if found is None:
        raise ApiError(404, "not_found", _("Épisode introuvable."))
    previous, following = services.neighbours(db.session, found, current_user, current)
    media = media_services.media_of(db.session, found.id)
    tracks = media_services.tracks_of(db.session, found.id)
    player = clue_players.current_player()
    places = community_places.episode_places(db.session, found.id)
    return render_template(
        "series/episode.html",
        episode=found,
        previous=previous,
        following=following,
        released=found.is_released(current),
        media=media_urls(media, tracks) if media else None,
        extras=services.visible_extras(db.session, found, current),
        clue_count=len(clue_services.clues_of(db.session, found.id)),
        my_finds=clue_services.finds_of(db.session, player, found.id) if player else [],
        has_investigation=investigation_of(db.session, found.season) is not None,
        polls=votes.visible_polls(db.session, current_user, current, episode_id=found.id),
        poll_state=lambda p: votes.state_of(p, current).value,
        ending=votes.episode_ending(db.session, found, current_user, current),
        ending_url=ending_url,
        places=places,
        tips_near=community_places.tips_near_places(db.session, places, current.date()),
    )
