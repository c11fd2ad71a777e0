"""The JSON API: an OpenAPI 3 document built from the routes' own descriptions.

Every /api/v1 view carries an `@operation(...)` description; building the document fails for a
route without one, so the document cannot fall behind the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("api", __name__, url_prefix="/api")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}

#: Reusable schemas, filled by the domains' api modules.
SCHEMAS: dict[str, dict[str, Any]] = {"Error": ERROR_SCHEMA}


def ref(name: str) -> dict[str, str]:
    """A reference to a named schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def operation(
    summary: str,
    responses: dict[int, tuple[str, dict[str, Any] | None]],
    *,
    parameters: list[dict[str, Any]] | None = None,
    request_body: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    auth: bool = False,
) -> Callable[[F], F]:
    """Describe an API view for the OpenAPI document."""

    def decorator(view: F) -> F:
        view.openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "responses": responses,
            "parameters": parameters or [],
            "request_body": request_body,
            "tags": tags or [],
            "auth": auth,
        }
        return view

    return decorator


def query_param(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def _path_of(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for match in _CONVERTER.finditer(rule):
        schema = {"type": "integer"} if match["conv"] == "int" else {"type": "string"}
        params.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule), params


def _default_responses(view: Callable[..., Any], has_path_params: bool) -> list[tuple[int, str]]:
    """Errors any such route may answer, whatever its own description says."""
    defaults = [
        (400, "Bad request (a body that is not JSON, a missing CSRF token)"),
        # Checked before any view: an unknown, expired or revoked token is refused everywhere.
        (401, "Invalid API token, or sign-in required"),
        (429, "Rate limited"),
    ]
    # roles_required (login_required is its role-less form) marks the views it guards.
    if getattr(view, "required_roles", ()):
        defaults.append((403, "The caller's role does not allow it"))
    if has_path_params:
        # A parameter of the wrong type or out of range matches no route.
        defaults.append((404, "No such resource"))
    return sorted(defaults)


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3 document of every /api/v1 route."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "openapi", None)
        if spec is None:
            raise RuntimeError(f"API route {rule.rule} has no @operation description")
        path, path_params = _path_of(rule.rule)
        defaults = _default_responses(view, bool(path_params))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": spec["summary"],
                "tags": spec["tags"],
                "parameters": path_params + spec["parameters"],
                "responses": {},
            }
            for status, (description, schema) in spec["responses"].items():
                response: dict[str, Any] = {"description": description}
                if schema is not None:
                    response["content"] = {"application/json": {"schema": schema}}
                op["responses"][str(status)] = response
            for status, description in defaults:
                op["responses"].setdefault(
                    str(status),
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ref("Error")}},
                    },
                )
            if spec["request_body"] is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": spec["request_body"]}},
                }
            if spec["auth"]:
                op["security"] = [{"bearer": []}, {"session": []}]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Les Experts de Nouvelle-Aquitaine — API",
            "version": "1",
            "description": "Public interface of the companion platform (see CONTRACT.md).",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


@bp.route("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """The OpenAPI 3 document."""
    return jsonify(build_document(current_app))
