"""Login with OpenID Connect providers (Authlib): discovery, PKCE, state and nonce."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from joserfc.errors import JoseError

from core.accounts import services
from core.accounts.views import start_session
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from core.redirects import safe_next

logger = logging.getLogger(__name__)

bp = Blueprint("oidc", __name__)


def init_oidc(app: Flask) -> None:
    """Register one Authlib client per provider named in OIDC_PROVIDERS."""
    oauth = OAuth(app)
    for provider in app.config["OIDC_PROVIDERS"]:
        oauth.register(
            name=provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
    app.extensions["experts_oauth"] = oauth
    app.register_blueprint(bp)


def _client(name: str) -> Any:
    oauth: OAuth = current_app.extensions["experts_oauth"]
    if name not in {p.name for p in current_app.config["OIDC_PROVIDERS"]}:
        raise ApiError(404, "unknown_provider", _("Fournisseur d'identité inconnu."))
    return oauth.create_client(name)


def _refused(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


@bp.route("/connexion/oidc/<name>")
def login(name: str) -> ResponseReturnValue:
    """Send the browser to the provider (state, nonce and PKCE kept in the session)."""
    client = _client(name)
    session["oidc_next"] = safe_next(url_for("accounts.account"))
    redirect_uri = url_for("oidc.callback", name=name, _external=True)
    try:
        return client.authorize_redirect(redirect_uri, nonce=secrets.token_urlsafe(24))
    except (OSError, AuthlibBaseError, ValueError) as error:
        logger.warning("oidc provider %s unreachable: %s", name, error)
        raise ApiError(
            502, "provider_unreachable", _("Le fournisseur d'identité ne répond pas.")
        ) from None


@bp.route("/connexion/oidc/<name>/retour")
def callback(name: str) -> ResponseReturnValue:
    """Back from the provider: check state, exchange the code, check the ID token and nonce."""
    client = _client(name)
    try:
        token = client.authorize_access_token()
    except MismatchingStateError:
        raise _refused(
            "oidc_state_mismatch",
            _("La réponse du fournisseur ne correspond à aucune connexion en cours (state)."),
        ) from None
    except (JoseError, AuthlibBaseError, ValueError) as error:
        logger.warning("oidc login with %s refused: %s", name, error)
        if "nonce" in str(error):
            raise _refused(
                "oidc_nonce_mismatch",
                _("Le jeton d'identité ne correspond pas à cette connexion (nonce)."),
            ) from None
        raise _refused(
            "oidc_refused", _("Le fournisseur d'identité a refusé la connexion.")
        ) from None
    claims = token.get("userinfo")
    if not claims or "sub" not in claims:
        # Without a verified ID token (and its nonce) the login is not trusted.
        raise _refused("oidc_no_id_token", _("Le fournisseur n'a pas fourni de jeton d'identité."))
    user, created = services.user_for_oidc_login(db.session, name, dict(claims))
    if not user.is_active:
        raise ApiError(403, "account_disabled", _("Ce compte est désactivé."))
    target = session.pop("oidc_next", None) or url_for("accounts.account")
    start_session(user)
    db.session.commit()
    logger.info("user %s logged in through %s", user.email, name)
    if created:
        flash(_("Bienvenue ! Votre compte est créé."), "success")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return redirect(target)


def provider_buttons() -> list[dict[str, str]]:
    """Names and URLs of the configured providers, for the login page."""
    return [
        {"name": p.name, "url": url_for("oidc.login", name=p.name, next=request.args.get("next"))}
        for p in current_app.config["OIDC_PROVIDERS"]
    ]
