"""Operations: health check, Prometheus metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import logging

from core.observability import JsonFormatter


def test_healthz_reports_ok_when_the_database_answers(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["redis"] is bool(app.config["REDIS_URL"])


def test_healthz_is_503_with_the_reason_when_redis_is_down(app_config, request):
    from tests.support.live import free_port

    app_config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    app_config["RATELIMIT_STORAGE_URI"] = "memory://"
    app = request.getfixturevalue("app")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert "redis unreachable" in body["problems"][0]


def test_metrics_count_requests_in_prometheus_format(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'experts_http_requests_total{endpoint="observability.healthz",method="GET"' in text
    assert "experts_http_request_duration_seconds_bucket" in text


def test_every_answer_carries_a_request_id(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
    assert echoed == "abc-123"


def test_json_log_lines_carry_extra_fields():
    record = logging.makeLogRecord(
        {
            "name": "core.test",
            "levelname": "INFO",
            "msg": "%s %s",
            "args": ("GET", "/"),
            "status": 200,
            "request_id": "r1",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /"
    assert line["status"] == 200
    assert line["request_id"] == "r1"
    assert line["level"] == "info"


def test_404_and_405_pages_use_the_site_style_and_json_on_the_api(client):
    page = client.get("/nulle-part")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    assert 'class="site-header"' in html
    assert "Retour à l'accueil" in html
    api = client.get("/api/v1/nulle-part")
    assert api.status_code == 404
    assert api.get_json() == {
        "error": "not_found",
        "message": "Cette page n'existe pas (ou pas encore).",
    }
    assert client.delete("/api/v1/seasons").status_code in (400, 405)


def test_an_unexpected_error_is_a_500_page_without_details(app, client):
    @app.route("/boom-test")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "secret internals" not in html
    assert "Une erreur inattendue" in html
