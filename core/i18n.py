"""Languages: French first, English for visitors (Flask-Babel)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from core.extensions import babel
from core.redirects import local_path
from core.security import cookie_flags

__all__ = ["gettext", "init_i18n", "lazy_gettext", "ngettext", "select_locale"]

LANG_COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Explicit choice (?lang=, cookie, account) first, then the browser, then French."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return str(languages[0])  # commands and jobs speak French
    for candidate in (
        request.args.get("lang"),
        request.cookies.get(LANG_COOKIE),
        getattr(current_user, "locale", None) if current_user else None,
    ):
        if candidate in languages:
            return str(candidate)
    return request.accept_languages.best_match(languages) or languages[0]


@bp.route("/langue/<lang>")
def switch_language(lang: str) -> ResponseReturnValue:
    """Remember the chosen language and go back where the visitor was."""
    response = redirect(local_path(request.args.get("next")))
    if lang in current_app.config["LANGUAGES"]:
        remember_language(response, lang)
    return response


def remember_language(response: Response, lang: str) -> None:
    """The language cookie (a year; no script reads it)."""
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, **cookie_flags())


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel and expose the current language to templates."""
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.before_request
    def _remember_locale() -> None:
        g.lang = select_locale()
