"""Poll pages: vote with a plain form (no script needed), live bars when scripts run.

Also the audit page of a closed poll, the ending videos, and the editors' poll pages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.accounts.auth import roles_required
from core.clock import now
from core.db import db, int_arg
from core.errors import ApiError
from core.i18n import gettext as _
from series.episodes import services as episodes
from series.episodes.editor import from_local_input, local_input
from series.episodes.media import MediaRejected
from series.episodes.media_views import ALLOWED_SUFFIXES, send_media
from series.models import Episode, Season
from series.votes import audit, endings, services, tally
from series.votes.api import vote_and_count
from series.votes.models import EndingMedia, Poll, PollScope, ResultsShown

bp = Blueprint("votes", __name__, template_folder="templates")


def _poll_or_404(poll_id: int) -> Poll:
    poll = services.get_visible_poll(db.session, poll_id, current_user, now())
    if poll is None:
        abort(404)
    return poll


def bars(poll: Poll, at: dt.datetime) -> dict[str, Any] | None:
    """Counts and percentages per option, when the caller may see them."""
    if not (services.results_public(poll, at) or services.is_editor(current_user)):
        return None
    counts = tally.counts_for(db.session, poll, at)
    total = sum(counts.values())
    return {
        "total": total,
        "options": {
            o.id: {"count": counts.get(o.id, 0), "percent": _percent(counts.get(o.id, 0), total)}
            for o in poll.options
        },
    }


def _percent(count: int, total: int) -> int:
    return round(100 * count / total) if total else 0


@bp.route("/sondages")
def index() -> ResponseReturnValue:
    """Open polls first, then scheduled, then closed."""
    at = now()
    polls = services.visible_polls(db.session, current_user, at)
    order = {"open": 0, "scheduled": 1, "closed": 2, "draft": 3}
    polls.sort(key=lambda p: order[services.state_of(p, at).value])
    return render_template(
        "votes/index.html", polls=polls, state_of=lambda p: services.state_of(p, at).value
    )


def _render(poll: Poll, status: int = 200, error: str | None = None) -> ResponseReturnValue:
    at = now()
    ballot = services.ballot_of(db.session, poll, current_user)
    winner, watchable = services.ending_access(db.session, poll, current_user, at)
    ending = winner.ending if winner is not None and winner.id in watchable else None
    extras = [
        o
        for o in poll.options
        if winner is not None and o.id != winner.id and o.ending is not None and o.id in watchable
    ]
    return render_template(
        "votes/poll.html",
        poll=poll,
        state=services.state_of(poll, at).value,
        bars=bars(poll, at),
        ballot=ballot,
        receipt=(
            services.receipt_of(poll, ballot.user_id, ballot.key) if ballot is not None else None
        ),
        winner=winner if (poll.is_ending or services.results_public(poll, at)) else None,
        ending=ending,
        extras=extras,
        extras_locked=winner is not None and not extras and poll.is_ending,
        key=str(uuid.uuid4()),
        error=error,
        ending_url=endings.ending_url,
        # The register is published at close, unless the results never are (editors aside).
        has_register=poll.results is not ResultsShown.NEVER or services.is_editor(current_user),
    ), status


@bp.route("/sondages/<int:poll_id>")
def poll_page(poll_id: int) -> ResponseReturnValue:
    return _render(_poll_or_404(poll_id))


@bp.route("/sondages/<int:poll_id>/voter", methods=["POST"])
def vote(poll_id: int) -> ResponseReturnValue:
    """The form's vote (no script needed); the key in the form makes a double submit harmless."""
    poll = _poll_or_404(poll_id)
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=url_for(".poll_page", poll_id=poll.id)))
    option = request.form.get("option", type=int_arg)
    if option is None:
        return _render(poll, 422, _("Choisissez une réponse avant de voter."))
    try:
        status, _body = vote_and_count(poll.id, option, request.form.get("key"))
    except ApiError as refused:
        return _render(_poll_or_404(poll_id), refused.status, str(refused.message))
    flash(
        _("Votre vote est enregistré. Merci !")
        if status == 201
        else _("Votre vote était déjà enregistré."),
        "success",
    )
    return redirect(url_for(".poll_page", poll_id=poll.id, _anchor="resultats"))


@bp.route("/sondages/<int:poll_id>/registre", methods=["GET", "POST"])
def audit_page(poll_id: int) -> ResponseReturnValue:
    """The public audit of a closed poll, and a form to check a receipt."""
    poll = _poll_or_404(poll_id)
    if not services.audit_published(poll, now(), current_user):
        abort(404)  # not closed yet, or results never published (the register has the totals)
    check = None
    receipt = ""
    if request.method == "POST":
        receipt = request.form.get("receipt", "").strip().lower()
        check = audit.verify(db.session, poll, receipt) if receipt else {"counted": False}
    log = audit.log_of(db.session, poll)
    return render_template(
        "votes/audit.html",
        poll=poll,
        log=log,
        entries=log["entries"][:200],
        check=check,
        receipt=receipt,
        labels={o.id: o.label for o in poll.options},
    )


@bp.route("/media/fins/<int:option_id>/<token>/<path:filename>")
def ending_file(option_id: int, token: str, filename: str) -> ResponseReturnValue:
    """A file of an ending's video, for those who may watch it."""
    ending = db.session.scalar(sa.select(EndingMedia).where(EndingMedia.option_id == option_id))
    if ending is None or ending.token != token or not filename.endswith(ALLOWED_SUFFIXES):
        abort(404)
    if not services.may_watch_ending(db.session, ending, current_user, now()):
        abort(404)
    response = send_media(ending.directory, filename)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ---- Editors ----


def _form_time(name: str) -> dt.datetime | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return from_local_input(dt.datetime.fromisoformat(raw))
    except ValueError:
        raise services.PollInvalid(name, _("Date invalide.")) from None


@bp.route("/edition/sondages", methods=["GET", "POST"])
@roles_required("editor")
def editor_index() -> ResponseReturnValue:
    """Every poll, and a form to create one."""
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            poll = _create_from_form()
        except services.PollInvalid as invalid:
            db.session.rollback()
            errors[invalid.field] = invalid.message
            status = 422
        else:
            db.session.commit()
            tally.watch_close(poll)
            flash(_("Sondage créé."), "success")
            return redirect(url_for(".editor_poll", poll_id=poll.id))
    polls = db.session.scalars(sa.select(Poll).order_by(Poll.id.desc())).all()
    at = now()
    return render_template(
        "votes/editor_index.html",
        polls=polls,
        state_of=lambda p: services.state_of(p, at).value,
        episodes=db.session.scalars(
            sa.select(Episode).join(Season).order_by(Season.number, Episode.number)
        ).all(),
        seasons=db.session.scalars(sa.select(Season).order_by(Season.number)).all(),
        errors=errors,
        form=request.form,
    ), status


def _create_from_form() -> Poll:
    form = request.form
    try:
        scope = PollScope(form.get("scope", ""))
    except ValueError:
        raise services.PollInvalid("scope", _("Choisissez la portée du sondage.")) from None
    try:
        results = ResultsShown(form.get("results", "live"))
    except ValueError:
        raise services.PollInvalid("results", _("Affichage des résultats inconnu.")) from None
    episode = db.session.get(Episode, form.get("episode", type=int_arg) or 0)
    season = db.session.get(Season, form.get("season", type=int_arg) or 0)
    return services.create_poll(
        db.session,
        question=form.get("question", ""),
        options=form.get("options", "").splitlines(),
        scope=scope,
        episode=episode,
        season_id=season.id if season is not None else None,
        is_ending=form.get("is_ending") == "yes",
        results=results,
        opens_at=_form_time("opens_at"),
        closes_at=_form_time("closes_at"),
        description=form.get("description", ""),
    )


@bp.route("/edition/sondages/<int:poll_id>", methods=["GET", "POST"])
@roles_required("editor")
def editor_poll(poll_id: int) -> ResponseReturnValue:
    """Open or close by hand, upload the endings, follow the counts."""
    poll = services.get_poll(db.session, poll_id)
    if poll is None:
        abort(404)
    error = None
    status = 200
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "open":
                duration = request.form.get("duration_s", type=int_arg)
                services.open_now(poll, now(), duration or None)
            elif action == "close":
                services.close_now(poll, now())
            elif action == "ending":
                _upload_ending(poll, request.form.get("option", type=int_arg) or 0)
            else:
                abort(400)
        except services.PollInvalid as invalid:
            db.session.rollback()
            error, status = invalid.message, 422
        except MediaRejected as rejected:
            db.session.rollback()
            error, status = str(rejected), 422
        else:
            db.session.commit()
            if action in ("open", "close"):
                tally.watch_close(poll)
                tally.push(db.session, poll.id)
            flash(_("C'est fait."), "success")
            return redirect(url_for(".editor_poll", poll_id=poll.id))
    at = now()
    return render_template(
        "votes/editor_poll.html",
        poll=poll,
        state=services.state_of(poll, at).value,
        bars=bars(poll, at),
        jobs=endings.ending_jobs(db.session, poll),
        error=error,
        local_input=local_input,
    ), status


def _upload_ending(poll: Poll, option_id: int) -> None:
    option = next((o for o in poll.options if o.id == option_id), None)
    upload = request.files.get("file")
    if option is None or not poll.is_ending:
        raise services.PollInvalid("option", _("Cette réponse ne porte pas de fin."))
    if upload is None or not upload.filename:
        raise services.PollInvalid("file", _("Choisissez le fichier vidéo de la fin."))
    staged = episodes.staging_dir() / f"ending-{option.id}-{uuid.uuid4().hex}"
    upload.save(staged)
    job = endings.start_ending_ingest(db.session, option, staged, upload.filename, current_user.id)
    db.session.commit()
    episodes.enqueue_ingest(job)
