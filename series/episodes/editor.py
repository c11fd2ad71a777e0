"""The editor area: release schedule, masters (resumable or plain upload), ingest jobs, tracks."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, format_decimal, get_locale
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import selectinload
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from core.accounts.auth import roles_required
from core.api import SCHEMAS, operation, ref
from core.clock import now
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from series import services as catalogue
from series.episodes import services
from series.episodes import uploads as tus
from series.episodes.media import MediaRejected
from series.episodes.models import EpisodeMedia, IngestJob, IngestState, TrackKind
from series.models import Episode, Season

logger = logging.getLogger(__name__)

bp = Blueprint("editor", __name__, template_folder="templates")

EDITOR = "editor"
#: Largest WebVTT file accepted (a feature-length subtitle file is ~100 KB).
MAX_TRACK_BYTES = 2 * 1024 * 1024
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")

EPISODE_STATES = {
    "published": _l("Publié"),
    "scheduled": _l("Programmé"),
    "unscheduled": _l("Non programmé"),
}
JOB_STATES = {
    IngestState.QUEUED: _l("En attente"),
    IngestState.RUNNING: _l("En cours"),
    IngestState.DONE: _l("Terminé"),
    IngestState.FAILED: _l("Échec"),
}
TRACK_KINDS = {
    TrackKind.SUBTITLES: _l("Sous-titres"),
    TrackKind.CAPTIONS: _l("Sous-titres pour sourds et malentendants"),
    TrackKind.CHAPTERS: _l("Chapitres"),
    TrackKind.DESCRIPTIONS: _l("Audiodescription (texte)"),
}
TRACK_ERRORS = {
    "not_webvtt": _l(
        "Ce fichier n'est pas au format WebVTT : sa première ligne doit être « WEBVTT »."
    ),
    "empty_track": _l("Ce fichier WebVTT ne contient aucune réplique (aucune ligne « --> »)."),
}

SCHEMAS["IngestJob"] = {
    "type": "object",
    "required": ["id", "episode", "state", "progress"],
    "properties": {
        "id": {"type": "integer"},
        "episode": {"type": "integer"},
        "ending_option": {
            "type": "integer",
            "nullable": True,
            "description": "set when the master is an alternative ending (a poll option)",
        },
        "state": {"type": "string", "enum": [s.value for s in IngestState]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "eta_s": {"type": "number", "nullable": True, "description": "seconds left"},
        "attempts": {"type": "integer"},
        "error": {"type": "string", "nullable": True},
        "message": {"type": "string", "nullable": True},
        "original_name": {"type": "string"},
    },
}

_required = DataRequired(message=_l("Ce champ est obligatoire."))


class PremiereForm(FlaskForm):
    premiere = DateTimeLocalField(
        _l("Sortie de l'épisode 1 (heure de Paris)"),
        format=LOCAL_FORMATS,
        # InputRequired (not DataRequired) keeps the "invalid date" message of the parser.
        validators=[InputRequired(message=_l("Ce champ est obligatoire."))],
        invalid_value_message=_l("Date et heure invalides."),
    )


class EpisodeScheduleForm(FlaskForm):
    publish_at = DateTimeLocalField(
        _l("Sortie (heure de Paris)"),
        format=LOCAL_FORMATS,
        validators=[Optional()],
        invalid_value_message=_l("Date et heure invalides."),
    )
    title_secret = BooleanField(_l("Garder le titre secret jusqu'à la sortie"))


class MasterForm(FlaskForm):
    master = FileField(
        _l("Fichier vidéo (master)"),
        validators=[FileRequired(message=_l("Choisissez un fichier vidéo."))],
        render_kw={"accept": "video/*,.mp4,.mov,.mkv,.mxf,.avi,.ts,.webm"},
    )


class TrackForm(FlaskForm):
    kind = SelectField(
        _l("Type de piste"),
        choices=[SelectChoice(k.value, label) for k, label in TRACK_KINDS.items()],
        default=TrackKind.SUBTITLES.value,
    )
    lang = StringField(
        _l("Langue (code BCP 47 : fr, en, oc…)"),
        default="fr",
        validators=[
            _required,
            Regexp(
                r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
                message=_l("Code de langue invalide (exemples : fr, en, fr-CA)."),
            ),
        ],
    )
    label = StringField(
        _l("Libellé affiché dans le lecteur"),
        validators=[_required, Length(max=80)],
        render_kw={"placeholder": "Français"},
    )
    file = FileField(
        _l("Fichier WebVTT (.vtt)"),
        validators=[FileRequired(message=_l("Choisissez un fichier WebVTT."))],
        render_kw={"accept": ".vtt,text/vtt"},
    )


# ---------------------------------------------------------------- helpers


def local_input(value: dt.datetime | None) -> dt.datetime | None:
    """A UTC time as the naive Paris wall time a datetime-local input shows."""
    if value is None:
        return None
    return value.astimezone(catalogue.RELEASE_TIMEZONE).replace(tzinfo=None)


def from_local_input(value: dt.datetime) -> dt.datetime:
    """A naive Paris wall time from a datetime-local input, as an aware UTC time."""
    return value.replace(tzinfo=catalogue.RELEASE_TIMEZONE).astimezone(dt.UTC)


def episode_state(episode: Episode, current: dt.datetime) -> str:
    """published, scheduled or unscheduled."""
    if episode.publish_at is None:
        return "unscheduled"
    return "published" if episode.publish_at <= current else "scheduled"


def eta_text(seconds: float | None) -> str:
    """'≈ 2 min 05 s' for an ETA; an em dash when unknown."""
    if seconds is None:
        return "—"
    total = max(0, round(seconds))
    if total >= 3600:
        return _("≈ %(h)s h %(m)02d min", h=total // 3600, m=total // 60 % 60)
    if total >= 60:
        return _("≈ %(m)s min %(s)02d s", m=total // 60, s=total % 60)
    return _("≈ %(s)s s", s=total)


def human_size(size: int) -> str:
    """A byte count for people: 8 Go, 64 Mo (binary multiples)."""
    units = [_("o"), _("Ko"), _("Mo"), _("Go"), _("To")]
    value = float(size)
    for unit in units:
        if value < 1024 or unit == units[-1]:
            return f"{format_decimal(round(value, 1))} {unit}"
        value /= 1024
    return str(size)  # pragma: no cover


def clock(seconds: float | None) -> str:
    """Duration as M:SS (or H:MM:SS)."""
    if seconds is None:
        return "—"
    total = round(seconds)
    if total >= 3600:
        return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"
    return f"{total // 60}:{total % 60:02d}"


def _message(error: MediaRejected) -> str:
    language = getattr(get_locale(), "language", "fr")
    return error.message_en if language == "en" else error.message_fr


def _staged_path(original_name: str) -> Path:
    suffix = Path(original_name).suffix.lower()
    if not _SAFE_SUFFIX.match(suffix):
        suffix = ""
    return services.staging_dir() / f"{uuid.uuid4().hex}{suffix}"


def _episode_or_404(episode_id: int) -> Episode:
    episode = db.session.get(Episode, episode_id)
    if episode is None:
        raise ApiError(404, "not_found", _("Épisode introuvable."))
    return episode


def _season_or_404(number: int) -> Season:
    season = catalogue.get_season(db.session, number)
    if season is None:
        raise ApiError(404, "not_found", _("Saison introuvable."))
    return season


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "eta_text": eta_text,
        "human_size": human_size,
        "clock": clock,
        "EPISODE_STATES": EPISODE_STATES,
        "JOB_STATES": JOB_STATES,
        "TRACK_KINDS": TRACK_KINDS,
    }


# ---------------------------------------------------------------- pages


@bp.route("/edition")
@roles_required(EDITOR)
def index() -> ResponseReturnValue:
    """Every season with its schedule, and each episode's state, media and latest job."""
    seasons = db.session.scalars(
        sa.select(Season).options(selectinload(Season.episodes)).order_by(Season.number)
    ).all()
    with_media = {
        row.episode_id: row.duration_s
        for row in db.session.execute(sa.select(EpisodeMedia.episode_id, EpisodeMedia.duration_s))
    }
    latest_ids = sa.select(sa.func.max(IngestJob.id)).group_by(IngestJob.episode_id)
    latest = {
        job.episode_id: job
        for job in db.session.scalars(sa.select(IngestJob).where(IngestJob.id.in_(latest_ids)))
    }
    current = now()
    return render_template(
        "episodes/editor_index.html",
        seasons=seasons,
        media=with_media,
        latest=latest,
        states={e.id: episode_state(e, current) for s in seasons for e in s.episodes},
    )


def _render_season(
    season: Season,
    premiere_form: PremiereForm | None = None,
    episode_forms: dict[int, EpisodeScheduleForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    if premiere_form is None:
        premiere_form = PremiereForm(
            formdata=None, data={"premiere": local_input(season.premiere_at)}
        )
    forms = dict(episode_forms or {})
    for episode in season.episodes:
        if episode.id not in forms:
            forms[episode.id] = EpisodeScheduleForm(
                formdata=None,
                prefix=f"ep{episode.id}",
                data={
                    "publish_at": local_input(episode.publish_at),
                    "title_secret": episode.title_secret,
                },
            )
    current = now()
    return render_template(
        "episodes/editor_season.html",
        season=season,
        premiere_form=premiere_form,
        forms=forms,
        states={e.id: episode_state(e, current) for e in season.episodes},
        has_errors=status != 200,
    ), status


@bp.route("/edition/saisons/<int:number>", methods=["GET", "POST"])
@roles_required(EDITOR)
def season(number: int) -> ResponseReturnValue:
    """A season's release schedule: the premiere sets every episode a week apart."""
    found = _season_or_404(number)
    if request.method == "GET":
        return _render_season(found)
    form = PremiereForm()
    if not form.validate():
        return _render_season(found, premiere_form=form, status=422)
    assert form.premiere.data is not None
    premiere = from_local_input(form.premiere.data)
    catalogue.schedule_season(found, premiere)
    db.session.commit()
    logger.info(
        "user %s scheduled season %s from %s", current_user.id, number, premiere.isoformat()
    )
    flash(
        _(
            "Saison %(n)s programmée : l'épisode 1 sort le %(when)s, puis un épisode par semaine.",
            n=number,
            when=format_datetime(premiere, "EEEE d MMMM y, HH:mm"),
        ),
        "success",
    )
    return redirect(url_for("editor.season", number=number))


@bp.route("/edition/episodes/<int:episode_id>/programmation", methods=["POST"])
@roles_required(EDITOR)
def schedule_episode(episode_id: int) -> ResponseReturnValue:
    """Move one episode's release, or keep its title secret until then."""
    episode = _episode_or_404(episode_id)
    form = EpisodeScheduleForm(prefix=f"ep{episode.id}")
    if not form.validate():
        return _render_season(episode.season, episode_forms={episode.id: form}, status=422)
    episode.publish_at = from_local_input(form.publish_at.data) if form.publish_at.data else None
    episode.title_secret = bool(form.title_secret.data)
    db.session.commit()
    logger.info(
        "user %s set episode %s release to %s (secret title: %s)",
        current_user.id,
        episode.id,
        episode.publish_at,
        episode.title_secret,
    )
    if episode.publish_at is None:
        flash(
            _("Épisode %(n)s : plus de date de sortie (non programmé).", n=episode.number),
            "success",
        )
    else:
        flash(
            _(
                "Épisode %(n)s : sortie le %(when)s.",
                n=episode.number,
                when=format_datetime(episode.publish_at, "EEEE d MMMM y, HH:mm"),
            ),
            "success",
        )
    target = url_for("editor.season", number=episode.season.number)
    return redirect(f"{target}#episode-{episode.id}")


def _render_media(
    episode: Episode,
    master_form: MasterForm | None = None,
    track_form: TrackForm | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    media = services.media_of(db.session, episode.id)
    return render_template(
        "episodes/editor_episode.html",
        episode=episode,
        state=episode_state(episode, now()),
        jobs=services.latest_jobs(db.session, episode.id, limit=10),
        media=media,
        tracks=services.tracks_of(db.session, episode.id),
        master_form=master_form or MasterForm(formdata=None),
        track_form=track_form or TrackForm(formdata=None),
        refusal=refusal,
        upload_max=int(current_app.config["UPLOAD_MAX_SIZE"]),
        form_max=current_app.config.get("MAX_CONTENT_LENGTH"),
        has_errors=status != 200,
    ), status


@bp.route("/edition/episodes/<int:episode_id>")
@roles_required(EDITOR)
def episode(episode_id: int) -> ResponseReturnValue:
    """An episode's media: upload a master, follow its jobs, attach text tracks."""
    return _render_media(_episode_or_404(episode_id))


def _ingest(episode: Episode, staged: Path, original_name: str) -> IngestJob:
    """Validate a staged master and queue its job (commits); MediaRejected leaves nothing."""
    try:
        job = services.start_ingest(db.session, episode, staged, original_name, current_user.id)
    except BaseException:
        db.session.rollback()
        staged.unlink(missing_ok=True)
        raise
    db.session.commit()
    services.enqueue_ingest(job)
    logger.info("user %s started ingest job %s for episode %s", current_user.id, job.id, episode.id)
    return job


@bp.route("/edition/episodes/<int:episode_id>/televersement", methods=["POST"])
@roles_required(EDITOR)
def fallback_upload(episode_id: int) -> ResponseReturnValue:
    """Plain (non-resumable) upload for browsers without JavaScript; small files only."""
    episode = _episode_or_404(episode_id)
    form = MasterForm()
    if not form.validate():
        return _render_media(episode, master_form=form, status=422)
    storage = form.master.data
    original = tus.safe_filename(storage.filename or "")
    staged = _staged_path(original)
    storage.save(staged)  # streamed to disk in blocks by Werkzeug
    try:
        job = _ingest(episode, staged, original)
    except MediaRejected as error:
        return _render_media(episode, refusal=_message(error), status=422)
    flash(
        _(
            "Fichier « %(name)s » reçu : le traitement n° %(id)s est lancé.",
            name=original,
            id=job.id,
        ),
        "success",
    )
    return redirect(url_for("editor.episode", episode_id=episode.id) + "#traitements")


@bp.route("/edition/episodes/<int:episode_id>/pistes", methods=["POST"])
@roles_required(EDITOR)
def add_track(episode_id: int) -> ResponseReturnValue:
    """Attach (or replace) a WebVTT text track."""
    episode = _episode_or_404(episode_id)
    form = TrackForm()
    if not form.validate():
        return _render_media(episode, track_form=form, status=422)
    raw = form.file.data.stream.read(MAX_TRACK_BYTES + 1)
    error: str | None = None
    content = ""
    if len(raw) > MAX_TRACK_BYTES:
        error = _(
            "Fichier trop volumineux pour une piste texte (%(max)s au plus).",
            max=human_size(MAX_TRACK_BYTES),
        )
    else:
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            error = _("Le fichier doit être encodé en UTF-8.")
    if error is None:
        try:
            services.attach_track(
                db.session,
                episode,
                TrackKind(form.kind.data),
                form.lang.data or "fr",
                form.label.data or "",
                content,
            )
        except services.InvalidTrack as invalid:
            db.session.rollback()
            code = str(invalid.args[0]) if invalid.args else "not_webvtt"
            error = str(TRACK_ERRORS.get(code, TRACK_ERRORS["not_webvtt"]))
    if error is not None:
        form.file.errors = [error]
        return _render_media(episode, track_form=form, status=422)
    db.session.commit()
    flash(
        _("Piste « %(label)s » (%(lang)s) ajoutée.", label=form.label.data, lang=form.lang.data),
        "success",
    )
    return redirect(url_for("editor.episode", episode_id=episode.id) + "#pistes")


# ---------------------------------------------------------------- JSON


@bp.route("/api/v1/episodes/<int:episode_id>/ingest", methods=["POST"])
@roles_required(EDITOR)
@operation(
    "Start the ingest of a completed resumable upload as the episode's new media",
    {
        202: ("Job queued", {"type": "object", "properties": {"job": ref("IngestJob")}}),
        400: ('Body is not {"upload": "<id>"}', ref("Error")),
        401: ("Not signed in", ref("Error")),
        403: ("Not an editor", ref("Error")),
        404: ("No such episode, or unknown upload", ref("Error")),
        409: ("upload_incomplete: not every byte has arrived", ref("Error")),
        410: ("The upload was already used", ref("Error")),
        422: (
            "The master is refused (error = reason code: empty_file, not_a_video, "
            "audio_only, truncated, too_long…); nothing is kept",
            ref("Error"),
        ),
    },
    request_body={
        "type": "object",
        "required": ["upload"],
        "properties": {"upload": {"type": "string", "description": "id of a tus upload"}},
    },
    tags=["editor"],
    auth=True,
)
def ingest_api(episode_id: int) -> ResponseReturnValue:
    """Move a completed upload into staging and start its ingest."""
    episode = _episode_or_404(episode_id)
    body = request.get_json(silent=True)
    upload_id = body.get("upload") if isinstance(body, dict) else None
    if not isinstance(upload_id, str):
        raise ApiError(400, "invalid", _('Indiquez le téléversement : {"upload": "<id>"}.'))
    upload = tus.owned_upload(upload_id, current_user.id)
    if not upload.complete:
        raise ApiError(
            409,
            "upload_incomplete",
            _(
                "Le fichier n'est pas entièrement arrivé (%(got)s sur %(total)s octets).",
                got=upload.offset,
                total=upload.length,
            ),
            offset=upload.offset,
            length=upload.length,
        )
    staged = _staged_path(upload.filename)
    try:
        tus.consume_upload(upload, staged)
    except tus.UploadGone as gone:
        raise ApiError(410, "upload_consumed", _("Ce téléversement a déjà été utilisé.")) from gone
    try:
        job = _ingest(episode, staged, upload.filename)
    except MediaRejected as error:
        # The master is deleted: so is the tombstone, nothing of this upload stays on disk.
        tus.delete_upload(upload)
        raise ApiError(422, error.code, _message(error)) from None
    response = jsonify({"job": services.job_json(job)})
    response.status_code = 202
    response.headers["Location"] = url_for("editor.job_api", job_id=job.id)
    return response


@bp.route("/api/v1/ingest-jobs/<int:job_id>")
@roles_required(EDITOR)
@operation(
    "An ingest job: state, progress (0..1) and estimated time left",
    {
        200: ("The job", ref("IngestJob")),
        401: ("Not signed in", ref("Error")),
        403: ("Not an editor", ref("Error")),
        404: ("No such job", ref("Error")),
    },
    tags=["editor"],
    auth=True,
)
def job_api(job_id: int) -> ResponseReturnValue:
    """What editors see of a job (the same payload as the live `ingest` events)."""
    job = db.session.get(IngestJob, job_id)
    if job is None:
        raise ApiError(404, "not_found", _("Traitement introuvable."))
    return jsonify(services.job_json(job))
