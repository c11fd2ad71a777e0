"""A small shared cache of JSON values: Redis when configured, process memory otherwise.

Only data every visitor may see goes in here. Keys carry a version (bumped on every change
they depend on), so a reader never gets an answer older than the last committed change.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from flask import current_app

from core.redis import redis_client, redis_key

_lock = threading.Lock()
#: key -> (expiry as monotonic time, JSON text)
_memory: dict[str, tuple[float, str]] = {}
_MEMORY_LIMIT = 2000


def get(name: str) -> Any | None:
    """The cached value, or None."""
    if current_app.config["REDIS_URL"]:
        raw = redis_client().get(redis_key("cache", name))
        return None if raw is None else json.loads(raw)
    key = current_app.config["REDIS_KEY_PREFIX"] + name
    with _lock:
        entry = _memory.get(key)
        if entry is None or entry[0] <= time.monotonic():
            _memory.pop(key, None)
            return None
        return json.loads(entry[1])


def put(name: str, value: Any, ttl: int) -> None:
    """Cache a JSON-serialisable value for ttl seconds."""
    text = json.dumps(value, separators=(",", ":"))
    if current_app.config["REDIS_URL"]:
        redis_client().set(redis_key("cache", name), text, ex=ttl)
        return
    key = current_app.config["REDIS_KEY_PREFIX"] + name
    with _lock:
        if len(_memory) >= _MEMORY_LIMIT:
            now = time.monotonic()
            for stale in [k for k, (expires, _) in _memory.items() if expires <= now]:
                del _memory[stale]
            if len(_memory) >= _MEMORY_LIMIT:
                _memory.clear()
        _memory[key] = (time.monotonic() + ttl, text)
