"""Privacy pages of the account: my data (a JSON download and a readable page), deleting it.

The readable page renders the export itself, whatever its sections hold: a mapping becomes a
definition list (its nested parts get headings), a list of flat records a table, anything
else a list. A new section of core.accounts.privacy shows up without a template change.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime
from flask_login import current_user, logout_user

from core import retention
from core.accounts import privacy
from core.accounts.auth import login_required, session_required
from core.accounts.forms import DeleteAccountForm
from core.clock import now
from core.db import db
from core.extensions import limiter
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l

bp = Blueprint("privacy", __name__, template_folder="templates")

F = TypeVar("F", bound=Callable[..., Any])


def no_store(view: F) -> F:
    """For pages holding personal data: no browser or proxy keeps a copy."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    return cast(F, wrapper)


#: Headings of the export's keys on the readable page (a key not here shows as it is).
LABELS: dict[str, Any] = {
    "profile": _l("Profil"),
    "email": _l("Adresse e-mail"),
    "display_name": _l("Nom affiché"),
    "role": _l("Rôle"),
    "locale": _l("Langue"),
    "email_verified": _l("Adresse vérifiée"),
    "has_password": _l("Mot de passe défini"),
    "created_at": _l("Créé le"),
    "last_login_at": _l("Dernière connexion"),
    "api_tokens": _l("Jetons d'API"),
    "label": _l("Nom"),
    "last_used_at": _l("Dernier usage"),
    "revoked_at": _l("Révoqué le"),
    "sign_in_providers": _l("Fournisseurs de connexion"),
    "provider": _l("Fournisseur"),
    "issuer": _l("Émetteur"),
    "linked_at": _l("Lié le"),
    "purpose": _l("Finalité"),
    "granted": _l("Accepté"),
    "text_version": _l("Version du texte"),
    "decided_at": _l("Date du choix"),
    "player": _l("Joueur"),
    "public_name": _l("Nom public"),
    "listed": _l("Classé publiquement"),
    "notebook_shared": _l("Carnet partagé"),
    "finds": _l("Indices trouvés"),
    "season": _l("Saison"),
    "episode": _l("Épisode"),
    "episode_title": _l("Titre de l'épisode"),
    "clue": _l("Indice"),
    "rank": _l("Rang"),
    "points": _l("Points"),
    "method": _l("Méthode"),
    "found_at": _l("Trouvé le"),
    "note": _l("Note"),
    "accusations": _l("Accusations"),
    "suspect": _l("Suspect"),
    "motive": _l("Mobile"),
    "place": _l("Lieu"),
    "commitment": _l("Sceau"),
    "submitted_at": _l("Envoyée le"),
    "episodes_opened": _l("Épisodes ouverts"),
    "opened_at": _l("Ouvert le"),
    "poll": _l("Sondage"),
    "choice": _l("Réponse choisie"),
    "cast_at": _l("Voté le"),
    "receipt": _l("Reçu"),
    "call": _l("Appel à figurants"),
    "territory": _l("Territoire"),
    "full_name": _l("Nom complet"),
    "phone": _l("Téléphone"),
    "commune": _l("Commune"),
    "age_range": _l("Tranche d'âge"),
    "availability": _l("Disponibilités"),
    "consent_at": _l("Accord donné le"),
    "stamps": _l("Tampons"),
    "taken_at": _l("Sur place le"),
    "stamped_at": _l("Tamponné le"),
    "distance_band": _l("Distance"),
    "status": _l("État"),
    "reward_claims": _l("Récompenses demandées"),
    "reward": _l("Récompense"),
    "partner": _l("Partenaire"),
    "code": _l("Code"),
    "claimed_at": _l("Demandée le"),
    "redeemed_at": _l("Utilisée le"),
    "codes_redeemed_for_a_partner": _l("Codes validés pour un partenaire"),
    "standing": _l("Statut sur les bons plans"),
    "trust_level": _l("Niveau de confiance"),
    "badge": _l("Badge"),
    "tips_read": _l("Bons plans lus"),
    "days_visited": _l("Jours de visite"),
    "last_visit_on": _l("Dernière visite"),
    "approved_posts": _l("Contributions acceptées"),
    "rejected_posts": _l("Contributions refusées"),
    "silenced_until": _l("Réduit au silence jusqu'au"),
    "banned": _l("Exclu"),
    "tips": _l("Bons plans"),
    "id": _l("Numéro"),
    "title": _l("Titre"),
    "body": _l("Texte"),
    "category": _l("Catégorie"),
    "departement": _l("Département"),
    "latitude": _l("Latitude"),
    "longitude": _l("Longitude"),
    "starts_on": _l("Début"),
    "ends_on": _l("Fin"),
    "language": _l("Langue du texte"),
    "photos": _l("Photos"),
    "helpful_count": _l("Votes « utile »"),
    "comment_count": _l("Commentaires reçus"),
    "moderation_reason": _l("Motif de modération"),
    "published_at": _l("Publié le"),
    "comments": _l("Commentaires"),
    "tip": _l("Bon plan"),
    "tip_title": _l("Titre du bon plan"),
    "helpful_votes": _l("Mes votes « utile »"),
    "confirmations": _l("Confirmations"),
    "confirmed_at": _l("Confirmé le"),
    "flags": _l("Signalements"),
    "reason": _l("Motif"),
    "resolved_at": _l("Traité le"),
    "follows": _l("Départements suivis"),
    "appeals": _l("Recours"),
    "text": _l("Texte"),
    "moderation_decisions": _l("Décisions de modération me concernant"),
    "action": _l("Décision"),
    "videos_sent": _l("Vidéos envoyées"),
}


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _is_flat(value: Any) -> bool:
    """A value shown in one line: a scalar, or a list of them (in a table's cell)."""
    return _is_scalar(value) or (isinstance(value, list) and all(map(_is_scalar, value)))


def shape(value: Any) -> str:
    """How the page shows a value: "empty", "mapping", "table", "items" or "flat"."""
    if isinstance(value, dict | list) and not value:
        return "empty"
    if isinstance(value, dict):
        return "mapping"
    if _is_flat(value):
        return "flat"
    if all(isinstance(row, dict) and all(map(_is_flat, row.values())) for row in value):
        return "table"
    return "items"


def blocks(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    """A mapping's entries in order: runs of scalars (a definition list, key "") and the other
    entries one by one (each under a heading)."""
    out: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if not _is_scalar(value):
            out.append((key, value))
        elif out and out[-1][0] == "":
            out[-1][1].append((key, value))
        else:
            out.append(("", [(key, value)]))
    return out


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """The keys of a table's rows, in the order they first appear."""
    return list(dict.fromkeys(key for row in rows for key in row))


def display(value: Any) -> str:
    """One value as text: dates in the reader's language, yes/no, lists joined."""
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    if isinstance(value, dt.datetime):
        return format_datetime(value, "short")
    if isinstance(value, dt.date):
        return format_date(value, "short")
    if isinstance(value, list):
        return ", ".join(display(item) for item in value)
    return str(value)


@bp.route("/compte/donnees.json")
@no_store
@login_required
def download() -> ResponseReturnValue:
    """Everything tied to the account, as a JSON file to keep."""
    data = privacy.export_user_data(db.session, current_user)
    response = Response(privacy.to_json(data), content_type="application/json; charset=utf-8")
    name = f"mes-donnees-experts-na-{now():%Y-%m-%d}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.route("/compte/donnees")
@no_store
@login_required
def data_page() -> ResponseReturnValue:
    """The same data as the download, as a page to read."""
    data = privacy.export_user_data(db.session, current_user)
    return render_template(
        "accounts/my_data.html",
        sections=[(section, data[section.key]) for section in privacy.SECTIONS],
        labels=LABELS,
        shape=shape,
        blocks=blocks,
        columns=columns,
        display=display,
        retention_periods=retention.periods(),
    )


@bp.route("/compte/suppression", methods=["GET", "POST"])
@no_store
@login_required
@session_required  # a leaked API token must not delete the account
@limiter.limit("10 per hour", methods=["POST"])
def delete_account() -> ResponseReturnValue:
    """Explain what deletion does; delete once the password (or the phrase) is given."""
    user = current_user._get_current_object()  # the row itself, to delete
    form = DeleteAccountForm()
    has_password = user.password_hash is not None
    status = 200
    if form.is_submitted():
        typed = (form.password.data if has_password else form.phrase.data) or ""
        if form.validate() and privacy.confirms_deletion(user, typed):
            privacy.delete_account(db.session, user, now())
            db.session.commit()
            keep_lang = session.get("lang")
            logout_user()
            session.clear()
            if keep_lang:
                session["lang"] = keep_lang
            flash(_("Votre compte est supprimé. Au revoir !"), "success")
            return redirect(url_for("home.index"))
        field = form.password if has_password else form.phrase
        if not form.csrf_token.errors:
            field.errors = [
                _("Mot de passe incorrect.")
                if has_password
                else _(
                    "Recopiez la phrase exactement : %(phrase)s", phrase=privacy.CONFIRMATION_PHRASE
                )
            ]
        status = 422
    return render_template(
        "accounts/delete_account.html",
        form=form,
        has_password=has_password,
        phrase=privacy.CONFIRMATION_PHRASE,
    ), status
