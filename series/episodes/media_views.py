"""Media files behind the release check: nothing of an unreleased episode is reachable.

Media is served through the application so the spoiler rule holds for every file; at scale
nginx serves the same layout (X-Accel-Redirect) after the same check.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import Blueprint, Response, abort, current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.clock import now
from core.db import db
from series import services as catalogue
from series.episodes import services
from series.episodes.models import EpisodeMedia, Track

mimetypes.add_type("application/vnd.apple.mpegurl", ".m3u8")
mimetypes.add_type("video/mp2t", ".ts")
mimetypes.add_type("text/vtt", ".vtt")

bp = Blueprint("media", __name__, url_prefix="/media")

#: Files a client may ask for inside an episode's media folder.
ALLOWED_SUFFIXES = (".m3u8", ".ts", ".mp4", ".jpg", ".vtt")


def _visible_episode(episode_id: int) -> Any:
    episode = catalogue.get_visible_episode(db.session, episode_id, current_user, now())
    if episode is None:
        abort(404)
    return episode


def _cache(response: Response, released: bool) -> Response:
    # Released media may sit in shared caches; an editor's preview must not.
    response.headers["Cache-Control"] = "public, max-age=3600" if released else "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/episodes/<int:episode_id>/<token>/<path:filename>")
def episode_file(episode_id: int, token: str, filename: str) -> ResponseReturnValue:
    """A file of an episode's current media (playlists, segments, MP4, poster, sprites)."""
    episode = _visible_episode(episode_id)
    media = services.media_of(db.session, episode_id)
    if media is None or media.token != token or not filename.endswith(ALLOWED_SUFFIXES):
        abort(404)
    return _cache(send_media(media.directory, filename), episode.is_released(now()))


def send_media(directory: str, filename: str) -> Response:
    """A file of a media folder under MEDIA_ROOT, once the caller has been allowed it.

    At scale nginx sends the bytes (an `internal` location on MEDIA_ROOT) after the
    application has said yes; the path stays inside the folder either way.
    """
    accel = current_app.config.get("MEDIA_ACCEL_PREFIX")
    if accel:
        if ".." in filename.split("/"):
            abort(404)
        response = Response(mimetype=mimetypes.guess_type(filename)[0])
        response.headers["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{directory}/{filename}"
        return response
    return send_from_directory(
        services.media_root() / directory, filename, conditional=True, max_age=None
    )


@bp.route("/episodes/<int:episode_id>/tracks/<int:track_id>.vtt")
def track_file(episode_id: int, track_id: int) -> ResponseReturnValue:
    """A WebVTT text track of an episode."""
    episode = _visible_episode(episode_id)
    track = db.session.get(Track, track_id)
    if track is None or track.episode_id != episode_id:
        abort(404)
    response = Response(track.content, mimetype="text/vtt")
    return _cache(response, episode.is_released(now()))


def media_urls(media: EpisodeMedia, tracks: list[Track]) -> dict[str, Any]:
    """URLs of an episode's media for pages and the API."""

    def file(name: str) -> str:
        return url_for(
            "media.episode_file", episode_id=media.episode_id, token=media.token, filename=name
        )

    return {
        "hls": file("hls/master.m3u8"),
        "mp4": file(f"mp4/{media.mp4_name}.mp4"),
        "poster": file("poster.jpg"),
        "thumbnails": file("sprites.vtt"),
        "hotspots": url_for("media.hotspots_track", episode_id=media.episode_id),
        "hotspot_chapters": url_for("media.hotspot_chapters", episode_id=media.episode_id),
        "duration": media.duration_s,
        "renditions": media.renditions,
        "tracks": [
            {
                "kind": t.kind.value,
                "lang": t.lang,
                "label": t.label,
                "url": url_for("media.track_file", episode_id=media.episode_id, track_id=t.id),
            }
            for t in tracks
        ],
    }


@bp.route("/episodes/<int:episode_id>/hotspots.vtt")
def hotspots_track(episode_id: int) -> ResponseReturnValue:
    """Public hotspots as a WebVTT metadata track (one JSON payload per cue; never clues)."""
    from series.episodes.hotspots import public_hotspots, webvtt_track

    episode = _visible_episode(episode_id)
    response = Response(webvtt_track(public_hotspots(db.session, episode_id)), mimetype="text/vtt")
    return _cache(response, episode.is_released(now()))


@bp.route("/episodes/<int:episode_id>/hotspot-chapters.vtt")
def hotspot_chapters(episode_id: int) -> ResponseReturnValue:
    """Public hotspots as WebVTT chapters, for players without the overlay."""
    from series.episodes.hotspots import chapters_track, public_hotspots

    episode = _visible_episode(episode_id)
    response = Response(
        chapters_track(public_hotspots(db.session, episode_id)), mimetype="text/vtt"
    )
    return _cache(response, episode.is_released(now()))
