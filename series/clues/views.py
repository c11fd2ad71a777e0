"""Pages of the clue game: the notebook, its shared view, leaderboards, the accusation."""

from __future__ import annotations

import json
import logging
import unicodedata

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from core.accounts.auth import roles_required
from core.clock import now
from core.db import db, int_arg
from core.errors import ApiError
from core.i18n import gettext as _
from series import services as catalogue
from series.clues import accusation, leaderboard, notebook, players
from series.clues.models import ClueFind

logger = logging.getLogger(__name__)

bp = Blueprint("clues", __name__, template_folder="templates")


@bp.app_template_filter("clock")
def clock(seconds: float) -> str:
    """'01:05' for 65.3 seconds."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


@bp.route("/enquete/carnet")
def notebook_page() -> ResponseReturnValue:
    """The player's notebook: found clues by episode, notes, totals, achievements."""
    player = players.current_player()
    current = now()
    seasons = notebook.summaries(db.session, player, current) if player else []
    earned = notebook.achievements(db.session, player, seasons, current) if player else []
    response = render_template(
        "clues/notebook.html",
        player=player,
        seasons=seasons,
        achievements=earned,
        labels=notebook.ACHIEVEMENTS,
        share_url=url_for("clues.shared_notebook", token=player.share_token, _external=True)
        if player and player.share_token
        else None,
    )
    return response, 200, {"Cache-Control": "private, no-store"}


def _own_find(find_id: int) -> ClueFind:
    player = players.current_player()
    find = db.session.get(ClueFind, find_id)
    if player is None or find is None or find.player_id != player.id:
        abort(404)
    return find


@bp.route("/enquete/carnet/<int:find_id>/note", methods=["POST"])
def save_note(find_id: int) -> ResponseReturnValue:
    """Keep a note on one of my finds."""
    find = _own_find(find_id)
    text = request.form.get("note", "")
    if len(text) > notebook.MAX_NOTE:
        raise ApiError(
            422, "note_too_long", _("Une note fait %(n)s caractères au plus.", n=notebook.MAX_NOTE)
        )
    notebook.save_note(db.session, find, text)
    db.session.commit()
    flash(_("Note enregistrée."), "success")
    return redirect(url_for("clues.notebook_page", _anchor=f"trouvaille-{find.id}"))


@bp.route("/enquete/carnet/reglages", methods=["POST"])
def notebook_settings() -> ResponseReturnValue:
    """Share the notebook (or stop), appear on leaderboards (or not)."""
    player = players.current_player(create=True)
    assert player is not None
    action = request.form.get("action")
    if action in ("share", "unshare"):
        notebook.share(db.session, player, action == "share")
        flash(
            _("Lien de partage créé.") if action == "share" else _("Le carnet n'est plus partagé."),
            "success",
        )
    elif action in ("list", "unlist"):
        player.listed = action == "list"
        flash(
            _("Vous apparaissez dans les classements.")
            if player.listed
            else _("Vous n'apparaissez plus dans les classements publics."),
            "success",
        )
    else:
        raise ApiError(422, "invalid_action", _("Action inconnue."))
    db.session.commit()
    if action in ("list", "unlist"):
        # Open leaderboards drop (or show again) the player at once.
        leaderboard.invalidate()
        for number in notebook.seasons_played(db.session, player):
            leaderboard.changed(number)
    return redirect(url_for("clues.notebook_page"))


@bp.route("/enquete/trouvailles/<int:find_id>/image.jpg")
def find_frame(find_id: int) -> ResponseReturnValue:
    """The frame where I found a clue (only its finder sees it)."""
    find = _own_find(find_id)
    path = notebook.frame_path(db.session, find)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/carnet/<token>")
def shared_notebook(token: str) -> ResponseReturnValue:
    """A notebook shared by its owner: counts, points and achievements, no spoiler."""
    player = notebook.shared_player(db.session, token)
    if player is None:
        abort(404)
    view = notebook.public_view(db.session, player, now())
    return render_template("clues/shared.html", view=view, labels=notebook.ACHIEVEMENTS)


@bp.route("/enquete/classement")
def leaderboard_page() -> ResponseReturnValue:
    """Leaderboards: overall, per season, per episode; updated live."""
    current = now()
    seasons = catalogue.list_seasons(db.session)
    episode_id = request.args.get("episode", type=int_arg)
    season_number = request.args.get("saison", type=int_arg)
    episode = None
    if episode_id is not None:
        episode = catalogue.get_visible_episode(db.session, episode_id, current_user, current)
        if episode is None:
            abort(404)
        scope = leaderboard.Scope("episode", episode.id)
    elif season_number:
        if catalogue.get_season(db.session, season_number) is None:
            abort(404)
        scope = leaderboard.Scope("season", season_number)
    else:
        scope = leaderboard.OVERALL
    rows = leaderboard.standings(db.session, scope, current)
    me = leaderboard.standing_of(rows, players.current_player())
    response = render_template(
        "clues/leaderboard.html",
        scope=scope,
        episode=episode,
        seasons=seasons,
        entries=leaderboard.public_entries(rows, 50),
        total=len(rows),
        me=me,
    )
    return response, 200, {"Cache-Control": "private, no-store"}


@bp.route("/saisons/<int:number>/accusation", methods=["GET", "POST"])
def accusation_page(number: int) -> ResponseReturnValue:
    """Name the culprit, the motive and the place: once, sealed, before the finale."""
    season = catalogue.get_season(db.session, number)
    investigation = accusation.investigation_of(db.session, season) if season else None
    current = now()
    if season is None or investigation is None or not season.episodes:
        abort(404)
    first = min(season.episodes, key=lambda e: e.number)
    if not first.is_released(current) and not catalogue.can_see_unreleased(current_user):
        abort(404)
    status = 200
    errors: dict[str, str] = {}
    receipt = None
    if request.method == "POST":
        player = players.current_player(create=True)
        assert player is not None
        choice = {p: request.form.get(p, "") for p in accusation.PARTS}
        missing = [p for p in accusation.PARTS if not choice[p]]
        if missing or request.form.get("confirm") != "yes":
            for part in missing:
                errors[part] = _("Faites un choix.")
            if request.form.get("confirm") != "yes":
                errors["confirm"] = _("Cochez la case : l'accusation ne pourra plus changer.")
            status = 422
        else:
            try:
                sealed = accusation.submit_accusation(
                    db.session, investigation, player, choice, current
                )
            except ApiError as error:
                errors["form"] = str(error.message)
                status = error.status
            else:
                db.session.commit()
                receipt = accusation.receipt(sealed, season.number)
                flash(_("Accusation scellée. Gardez votre reçu."), "success")
    player = players.current_player()
    mine = accusation.accusation_of(db.session, season, player) if player else None
    if mine is not None and receipt is None:
        receipt = accusation.receipt(mine, season.number)
    revealed = accusation.is_revealed(investigation, current)
    points = accusation.points_of(mine, investigation, current) if mine else None
    response = render_template(
        "clues/accusation.html",
        season=season,
        investigation=investigation,
        deadline=accusation.deadline_of(investigation),
        open=not revealed and (accusation.deadline_of(investigation) or current) > current,
        revealed=revealed,
        mine=mine,
        receipt=receipt,
        receipt_json=json.dumps(receipt, ensure_ascii=False, indent=2) if receipt else None,
        points=points,
        errors=errors,
        form=request.form,
        label_of=lambda part, key: accusation.label_of(investigation, part, key),
    )
    return response, status, {"Cache-Control": "private, no-store"}


@bp.route("/edition/saisons/<int:number>/enquete", methods=["GET", "POST"])
@roles_required("editor")
def edit_investigation(number: int) -> ResponseReturnValue:
    """Editors set the suspects, motives and places, and seal the solution."""
    season = catalogue.get_season(db.session, number)
    if season is None:
        abort(404)
    investigation = accusation.investigation_of(db.session, season)
    status = 200
    error = None
    if request.method == "POST":
        lists = {}
        for part in accusation.PARTS:
            lines = [line.strip() for line in request.form.get(part + "s", "").splitlines()]
            lists[part + "s"] = [_option(line) for line in lines if line]
        solution = {p: request.form.get("solution_" + p, "") for p in accusation.PARTS}
        try:
            investigation = accusation.set_up(
                db.session,
                season,
                lists,
                solution if all(solution.values()) else None,
                now(),
            )
        except ApiError as refusal:
            db.session.rollback()
            error = str(refusal.message)
            status = refusal.status
        else:
            db.session.commit()
            flash(_("Enquête enregistrée."), "success")
            return redirect(url_for("clues.edit_investigation", number=number))
    return render_template(
        "clues/editor.html",
        season=season,
        investigation=investigation,
        error=error,
        parts=accusation.PARTS,
    ), status


def _option(line: str) -> dict[str, str]:
    """'key | Label' (or just a label: its key is made from it)."""
    key, sep, label = line.partition("|")
    if not sep:
        label = key
        ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
        key = "-".join("".join(c if c.isalnum() else " " for c in ascii_key.lower()).split())
    return {"key": key.strip()[:40], "label": label.strip()}
