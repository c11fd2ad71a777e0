"""Template helpers shared by every page."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request, url_for
from flask_babel import format_date, format_datetime, gettext
from flask_wtf.csrf import generate_csrf

SITE_NAME = "Les Experts de Nouvelle-Aquitaine"


def page_title(*parts: str, error: bool = False) -> str:
    """'Les Experts de Nouvelle-Aquitaine / Saison N / <title>', flagged when a form failed."""
    title = " / ".join([SITE_NAME, *[p for p in parts if p]])
    return gettext("Erreur : %(title)s", title=title) if error else title


def init_templating(app: Flask) -> None:
    """Globals and filters for Jinja."""
    app.jinja_env.globals.update(page_title=page_title, SITE_NAME=SITE_NAME)
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": format_datetime(value, fmt)
    app.jinja_env.filters["date"] = lambda value, fmt="medium": format_date(value, fmt)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        from core.accounts.oidc import provider_buttons

        return {
            "csrf_token_value": generate_csrf,
            "lang": g.get("lang", "fr"),
            "other_lang": "en" if g.get("lang", "fr") == "fr" else "fr",
            "lang_switch_url": lambda code: url_for(
                "i18n.switch_language", lang=code, next=request.full_path.rstrip("?")
            ),
            "oidc_buttons": provider_buttons,
        }
