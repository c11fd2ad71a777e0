"""Who is calling: session or bearer token, CSRF policy, and the role guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, g, redirect, request, url_for
from flask_login import AnonymousUserMixin, current_user

from core.accounts import services
from core.accounts.models import Role, User
from core.db import db
from core.errors import ApiError, wants_json
from core.extensions import csrf, login_manager
from core.i18n import lazy_gettext as _l

F = TypeVar("F", bound=Callable[..., Any])

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Anonymous(AnonymousUserMixin):
    """A visitor without an account."""

    role = None
    locale = None
    id = None

    def has_role(self, *roles: Role | str) -> bool:
        return False


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or ""


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_nonce != nonce:
        return None
    return user


def invalid_token() -> ApiError:
    error = ApiError(401, "invalid_token", _l("Le jeton d'API est invalide ou révoqué."))
    error.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return error


def init_auth(app: Flask) -> None:
    """Login manager, bearer tokens and CSRF on every state-changing browser request."""
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "accounts.login"
    login_manager.login_message = cast(str, _l("Connectez-vous pour accéder à cette page."))
    login_manager.login_message_category = "info"
    csrf.init_app(app)

    @app.before_request
    def _authenticate_and_check_csrf() -> None:
        token = bearer_token()
        if token is not None:
            # A token caller is checked on every call; a bad token is a 401, never anonymous.
            user = services.user_for_api_token(db.session, token)
            if user is None:
                raise invalid_token()
            g._login_user = user  # Flask-Login's slot for current_user
            g.auth_via_token = True
            # Browsers never send a bearer token on their own: no CSRF risk.
            return
        view = app.view_functions.get(request.endpoint or "")
        if request.method in UNSAFE_METHODS and not getattr(view, "csrf_exempt", False):
            csrf.protect()


def csrf_exempt(view: F) -> F:
    """For a POST that changes nothing (a check): any page or script may call it."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def roles_required(*roles: Role | str) -> Callable[[F], F]:
    """Allow only signed-in users holding one of the roles (any role when none given)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if wants_json():
                    raise ApiError(401, "login_required", _l("Connectez-vous pour continuer."))
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if roles and not current_user.has_role(*roles):
                raise ApiError(403, "forbidden", _l("Votre rôle ne permet pas cette action."))
            return view(*args, **kwargs)

        wrapper.required_roles = tuple(Role(r) for r in roles)  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


login_required = roles_required()


def session_required(view: F) -> F:
    """Refuse bearer-token callers: for what only a signed-in browser may do, such as making
    or revoking tokens (a leaked token must not mint its successors nor revoke the others)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("auth_via_token"):
            raise ApiError(
                403,
                "session_required",
                _l("Un jeton d'API ne permet pas cette action : connectez-vous sur le site."),
            )
        return view(*args, **kwargs)

    return cast(F, wrapper)
