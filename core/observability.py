"""Operations: /healthz, Prometheus /metrics, request ids and structured (JSON) logs."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from core.db import db

logger = logging.getLogger(__name__)

bp = Blueprint("observability", __name__)

REQUESTS = Counter(
    "experts_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "experts_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class ServiceUnavailable(RuntimeError):
    """A configured service does not answer."""


def check_database() -> None:
    """Raise ServiceUnavailable unless the database answers."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        raise ServiceUnavailable(
            f"database unreachable: {error.__class__.__name__}: {str(error).splitlines()[0]}"
        ) from None
    finally:
        db.session.rollback()


def check_redis(url: str | None) -> None:
    """Raise ServiceUnavailable unless Redis answers (when configured)."""
    if not url:
        return
    from core.redis import redis_client

    try:
        redis_client().ping()
    except Exception as error:  # redis raises several unrelated classes
        raise ServiceUnavailable(f"redis unreachable at {url}: {error}") from None


def check_services() -> list[str]:
    """Check every configured service; return the one-line reasons of the failures."""
    problems = []
    for check in (check_database, lambda: check_redis(current_app.config["REDIS_URL"])):
        try:
            check()
        except ServiceUnavailable as error:
            problems.append(str(error))
    return problems


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """200 once the database (and Redis when configured) answers, else 503 with the reason."""
    problems = check_services()
    body: dict[str, Any] = {
        "status": "ok" if not problems else "unavailable",
        "database": current_app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0],
        "redis": bool(current_app.config["REDIS_URL"]),
    }
    if problems:
        body["problems"] = problems
    return jsonify(body), 200 if not problems else 503


@bp.route("/metrics")
def metrics() -> ResponseReturnValue:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def init_observability(app: Flask) -> None:
    """Request ids, timings and metrics on every request."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex

    @app.after_request
    def _record(response: Response) -> Response:
        started = g.get("request_started")
        endpoint = request.endpoint or "unmatched"
        if started is not None:
            elapsed = time.perf_counter() - started
            LATENCY.labels(endpoint).observe(elapsed)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": g.get("request_id"),
                    "duration_ms": round(elapsed * 1000, 1),
                    "status": response.status_code,
                },
            )
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if app.config.get("SERVED_BY"):
            response.headers["X-Served-By"] = app.config["SERVED_BY"]
        return response


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any extra fields."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    """Structured logs on stderr (for `experts serve` and workers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("engineio.server", "socketio.server", "geventwebsocket.handler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
