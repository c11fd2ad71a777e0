"""The editors' hotspot editor page: draw timed, moving zones on an episode's picture."""

from __future__ import annotations

import logging
import math
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from sqlalchemy.orm import Session

from core.accounts.auth import roles_required
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from series.episodes import services
from series.episodes.hotspot_kinds import KINDS
from series.episodes.hotspots import SHAPES
from series.episodes.media_views import media_urls
from series.episodes.models import IngestJob, IngestState
from series.models import Episode

logger = logging.getLogger(__name__)

bp = Blueprint("hotspot_editor", __name__, template_folder="templates")

EDITOR = "editor"
#: Frame rate when the media's is unknown (the demo clips and most masters are 25 fps).
DEFAULT_FPS = 25.0
#: A start or end this close to a shot change (s) is moved onto it.
SNAP_S = 0.5

SHAPE_LABELS = {"rect": _l("Rectangle"), "ellipse": _l("Ellipse")}
ACTION_LABELS = {
    "card": _l("Ouvrir la fiche"),
    "url": _l("Ouvrir le site du partenaire"),
    "seek": _l("Aller à un instant de l'épisode"),
    "location": _l("Montrer un lieu de tournage"),
}


def frame_rate(session: Session, episode_id: int) -> float:
    """The frame rate of the episode's media, from its last finished ingest; else 25."""
    job = session.scalar(
        sa.select(IngestJob)
        .where(IngestJob.episode_id == episode_id, IngestJob.state == IngestState.DONE)
        .order_by(IngestJob.id.desc())
        .limit(1)
    )
    fps = (job.source_info or {}).get("fps") if job is not None else None
    if isinstance(fps, int | float) and math.isfinite(fps) and 1 <= fps <= 240:
        return float(fps)
    return DEFAULT_FPS


def kind_choices() -> list[dict[str, Any]]:
    """The registry of kinds as the page's select needs it."""
    return [
        {
            "name": name,
            "label": kind.label,
            "public": kind.public,
            "actions": " ".join(kind.actions),
            "offer_kinds": " ".join(kind.offer_kinds),
        }
        for name, kind in KINDS.items()
    ]


@bp.route("/edition/episodes/<int:episode_id>/zones")
@roles_required(EDITOR)
def hotspots(episode_id: int) -> ResponseReturnValue:
    """The hotspot editor of one episode (the page talks to the hotspot JSON API)."""
    episode = db.session.get(Episode, episode_id)
    if episode is None:
        raise ApiError(404, "not_found", _("Épisode introuvable."))
    media = services.media_of(db.session, episode.id)
    urls = media_urls(media, []) if media is not None else None
    scenes = sorted(float(s) for s in (media.scenes or [])) if media is not None else []
    duration = media.duration_s if media is not None else episode.duration_s
    return render_template(
        "episodes/editor_hotspots.html",
        episode=episode,
        media=media,
        urls=urls,
        fps=frame_rate(db.session, episode.id),
        scenes=scenes,
        scene_marks=[(s, format_decimal(s, "0.000")) for s in scenes],
        duration=duration,
        snap_s=SNAP_S,
        snap_text=format_decimal(SNAP_S, "0.0"),
        kinds=kind_choices(),
        shapes=[(s, SHAPE_LABELS.get(s, s)) for s in SHAPES],
        actions=ACTION_LABELS,
        api={
            "list": url_for("hotspot_api.list_hotspots", episode_id=episode.id),
            "create": url_for("hotspot_api.create", episode_id=episode.id),
            "item": url_for("hotspot_api.update", hotspot_id=0),
            "offers": url_for("hotspot_api.offers"),
        },
    )
