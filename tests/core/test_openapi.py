"""The OpenAPI document describes every /api/v1 route."""

from __future__ import annotations

import re

import pytest

from core.api import build_document, operation


def test_every_api_route_is_in_the_document(client, app):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
    }
    assert routes == set(document["paths"])
    assert "/api/v1/seasons" in document["paths"]
    episode = document["paths"]["/api/v1/episodes/{episode_id}"]["get"]
    assert episode["parameters"][0] == {
        "name": "episode_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    assert "404" in episode["responses"]


def test_a_route_without_a_description_breaks_the_document(app):
    @app.route("/api/v1/undocumented")
    def undocumented():
        return {}

    with pytest.raises(RuntimeError, match="/api/v1/undocumented"):
        build_document(app)


def test_schema_references_resolve(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for reference in refs(document):
        assert reference.removeprefix("#/components/schemas/") in schemas


def test_operation_keeps_the_view_callable():
    @operation("x", {200: ("ok", None)})
    def view():
        return 1

    assert view() == 1
    assert view.openapi["summary"] == "x"


def test_every_operation_documents_the_errors_any_caller_may_meet(client):
    document = client.get("/api/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            # A bad bearer token is refused before any view; 400 for a body that is not JSON.
            assert {"400", "401", "429"} <= set(op["responses"]), (method, path)
            if "{" in path:
                assert "404" in op["responses"], (method, path)
    # roles_required views document the refusal of other roles.
    assert "403" in document["paths"]["/api/v1/polls/{poll_id}/close"]["post"]["responses"]
    assert "403" not in document["paths"]["/api/v1/seasons"]["get"]["responses"]


def test_keyframe_bounds_use_the_openapi_3_0_form(client):
    document = client.get("/api/openapi.json").get_json()
    width = document["components"]["schemas"]["HotspotKeyframe"]["properties"]["w"]
    assert width["minimum"] == 0
    assert width["exclusiveMinimum"] is True
