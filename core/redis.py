"""One Redis client per process (when REDIS_URL is configured)."""

from __future__ import annotations

import functools

import redis
from flask import current_app


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)


def redis_client() -> redis.Redis:
    """The Redis client of the configured REDIS_URL."""
    url = current_app.config["REDIS_URL"]
    if not url:
        raise RuntimeError("REDIS_URL is not configured")
    return _client_for(url)


def redis_key(*parts: object) -> str:
    """A namespaced Redis key."""
    return current_app.config["REDIS_KEY_PREFIX"] + ":".join(str(p) for p in parts)
