"""Account pages: sign-up, login, logout, password reset, profile and API tokens."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from core import consent
from core.accounts import services
from core.accounts.auth import login_required, session_required
from core.accounts.forms import (
    EmptyForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignupForm,
    TokenForm,
)
from core.accounts.models import ApiToken, User
from core.accounts.privacy_views import no_store
from core.db import db
from core.errors import ApiError
from core.extensions import limiter
from core.i18n import gettext as _
from core.i18n import remember_language
from core.mail import send_mail
from core.redirects import safe_next

logger = logging.getLogger(__name__)

bp = Blueprint("accounts", __name__, template_folder="templates")


def start_session(user: User, remember: bool = False) -> None:
    """Sign the user in on a fresh session (no fixation: the old session is dropped)."""
    keep_lang = session.get("lang")
    session.clear()
    if keep_lang:
        session["lang"] = keep_lang
    login_user(user, remember=remember)
    services.record_login(user)


def _login_key() -> str:
    return "login:" + services.normalise_email(request.form.get("email", ""))


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit("5 per minute", key_func=_login_key, methods=["POST"])
def login() -> ResponseReturnValue:
    """Sign in with e-mail and password, or with an OpenID Connect provider."""
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            user = services.authenticate(
                db.session, form.email.data or "", form.password.data or ""
            )
            if user is not None:
                start_session(user, remember=bool(form.remember.data))
                db.session.commit()
                logger.info("user %s logged in", user.email)
                return redirect(safe_next(url_for("accounts.account")))
            form.password.errors = [_("Adresse e-mail ou mot de passe incorrect.")]
            status = 401
        else:
            status = 422
    providers = current_app.config["OIDC_PROVIDERS"]
    return render_template("accounts/login.html", form=form, providers=providers), status


@bp.route("/deconnexion", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Sign out (a form post, so another site cannot sign you out)."""
    logout_user()
    session.clear()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("home.index"))


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup() -> ResponseReturnValue:
    """Create an account with e-mail and password."""
    form = SignupForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                user = services.create_user(
                    db.session,
                    form.email.data or "",
                    form.password.data,
                    display_name=form.display_name.data,
                    locale=request.cookies.get("lang"),
                )
            except ApiError as error:
                form.email.errors = [str(error.message)]
                status = error.status
            else:
                start_session(user)
                db.session.commit()
                flash(_("Bienvenue ! Votre compte est créé."), "success")
                return redirect(safe_next(url_for("accounts.account")))
        else:
            status = 422
    return render_template("accounts/signup.html", form=form), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def reset_request() -> ResponseReturnValue:
    """Ask for a password reset link by e-mail."""
    form = ResetRequestForm()
    if request.method == "POST":
        if not form.validate():
            return render_template("accounts/reset_request.html", form=form), 422
        user = services.get_user_by_email(db.session, form.email.data or "")
        if user is not None and user.is_active:
            link = url_for(
                "accounts.reset_password", token=services.make_reset_token(user), _external=True
            )
            send_mail(
                user.email,
                _("Réinitialisation de votre mot de passe"),
                _(
                    "Bonjour %(name)s,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien "
                    "(valable une heure) :\n%(link)s\n\nSi vous n'avez rien demandé, ignorez ce "
                    "message.\n\n— Les Experts de Nouvelle-Aquitaine",
                    name=user.display_name,
                    link=link,
                ),
            )
        # The same answer whether or not the account exists.
        flash(
            _("Si un compte existe pour cette adresse, un e-mail vient de lui être envoyé."), "info"
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password from a reset link."""
    user = services.user_from_reset_token(db.session, token)
    if user is None:
        raise ApiError(
            400,
            "invalid_reset_link",
            _("Ce lien de réinitialisation est invalide, déjà utilisé ou expiré."),
        )
    form = ResetPasswordForm()
    if request.method == "POST":
        if form.validate():
            services.set_password(user, form.password.data or "")
            start_session(user)
            db.session.commit()
            flash(_("Votre mot de passe a été changé."), "success")
            return redirect(url_for("accounts.account"))
        return render_template("accounts/reset_password.html", form=form), 422
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/compte", methods=["GET", "POST"])
@no_store
@login_required
def account() -> ResponseReturnValue:
    """The signed-in user's profile, language, API tokens, data and consent history."""
    user: User = current_user
    form = ProfileForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.locale.data = user.locale or ""
    status = 200
    if request.method == "POST":
        if form.validate():
            user.display_name = form.display_name.data or user.display_name
            user.locale = form.locale.data or None
            db.session.commit()
            flash(_("Vos préférences sont enregistrées."), "success")
            response = redirect(url_for("accounts.account"))
            if user.locale:
                remember_language(response, user.locale)
            return response
        status = 422
    return render_template(
        "accounts/account.html",
        form=form,
        token_form=TokenForm(),
        revoke_form=EmptyForm(),
        new_token=session.pop("new_token", None),
        consent_history=consent.history_of(db.session, user.id),
        consent_purposes={consent.AUDIENCE: _("Mesure d'audience")},
    ), status


@bp.route("/compte/jetons", methods=["POST"])
@login_required
@session_required
def create_token() -> ResponseReturnValue:
    """Create an API token; it is shown once."""
    form = TokenForm()
    if not form.validate():
        raise ApiError(422, "invalid", _("Nom de jeton invalide."))
    _token, clear = services.issue_api_token(db.session, current_user, form.label.data or "")
    db.session.commit()
    session["new_token"] = clear
    return redirect(url_for("accounts.account") + "#jetons")


@bp.route("/compte/jetons/<int:token_id>/revoquer", methods=["POST"])
@login_required
@session_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revoke one of the user's own API tokens."""
    token = db.get_or_404(ApiToken, token_id)
    if token.user_id != current_user.id:
        raise ApiError(404, "not_found", _("Jeton introuvable."))
    services.revoke_api_token(token)
    db.session.commit()
    flash(_("Le jeton %(prefix)s… est révoqué.", prefix=token.prefix), "success")
    return redirect(url_for("accounts.account") + "#jetons")
