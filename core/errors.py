"""Errors: one JSON shape for the API, pages in the site's style for browsers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A refusal with an HTTP status, a stable reason code and a translated message."""

    def __init__(self, status: int, code: str, message: str | LazyString, **extra: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self.message), **self.extra}


#: Messages for plain HTTP errors, by status.
HTTP_MESSAGES: dict[int, tuple[str, LazyString]] = {
    400: ("bad_request", _l("La requête est invalide.")),
    401: ("unauthorized", _l("Connectez-vous pour continuer.")),
    403: ("forbidden", _l("Vous n'avez pas accès à cette page.")),
    404: ("not_found", _l("Cette page n'existe pas (ou pas encore).")),
    405: ("method_not_allowed", _l("Méthode non autorisée.")),
    409: ("conflict", _l("Cette action entre en conflit avec l'état actuel.")),
    413: ("too_large", _l("Le fichier envoyé est trop volumineux.")),
    422: ("invalid", _l("Les données envoyées sont invalides.")),
    429: ("rate_limited", _l("Trop de tentatives : réessayez dans un moment.")),
    500: ("server_error", _l("Une erreur inattendue est survenue. L'équipe a été prévenue.")),
}


def wants_json() -> bool:
    """API paths, and callers that ask for JSON, get JSON errors."""
    if request.path.startswith("/api/") or request.path in ("/healthz", "/metrics"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The error as JSON or as a page, with the right status."""
    if wants_json():
        response = jsonify({"error": code, "message": message})
    else:
        response = Response(
            render_template("errors/error.html", status=status, code=code, message=message),
            mimetype="text/html",
        )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_errors(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        if wants_json():
            response = jsonify(error.to_dict())
            response.status_code = error.status
            response.headers.update(error.headers)
            return response
        return render_error(error.status, error.code, str(error.message), error.headers)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Response:
        return render_error(
            400,
            "csrf_failed",
            str(
                _l(
                    "Le formulaire a expiré ou son jeton de sécurité (CSRF) manque : "
                    "rechargez la page et recommencez."
                )
            ),
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code, message = HTTP_MESSAGES.get(status, ("http_error", _l("Erreur.")))
        # Keep headers the exception carries (Allow on 405); Flask-Limiter adds Retry-After
        # on 429 in its after_request hook.
        headers = {k: v for k, v in error.get_response().headers.items() if k == "Allow"}
        return render_error(status, code, str(message), headers)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_MESSAGES[500]
        return render_error(500, code, str(message))
