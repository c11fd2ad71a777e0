"""Atomic counters shared by every process: Redis INCR when configured, memory otherwise."""

from __future__ import annotations

import threading
import time

from flask import current_app

from core.redis import redis_client, redis_key

_lock = threading.Lock()
#: In-memory counters of the embedded default: key -> (value, expiry as monotonic time).
_memory: dict[str, tuple[int, float | None]] = {}


def _memory_get(key: str) -> int:
    value, expires = _memory.get(key, (0, None))
    if expires is not None and expires <= time.monotonic():
        _memory.pop(key, None)
        return 0
    return value


def incr(name: str, amount: int = 1, ttl: int | None = None) -> int:
    """Add to a counter and return the new value; ttl (s) is set when the counter starts."""
    if current_app.config["REDIS_URL"]:
        key = redis_key("counter", name)
        pipe = redis_client().pipeline()
        pipe.incrby(key, amount)
        if ttl:
            pipe.expire(key, ttl, nx=True)
        value = pipe.execute()[0]
        return int(value)
    key = current_app.config["REDIS_KEY_PREFIX"] + name
    with _lock:
        current = _memory_get(key)
        expires = _memory.get(key, (0, None))[1]
        if current == 0:
            expires = time.monotonic() + ttl if ttl else None
        _memory[key] = (current + amount, expires)
        return current + amount


def get(name: str) -> int:
    """The counter's value (0 when unset or expired)."""
    if current_app.config["REDIS_URL"]:
        value = redis_client().get(redis_key("counter", name))
        return int(value) if value is not None else 0
    with _lock:
        return _memory_get(current_app.config["REDIS_KEY_PREFIX"] + name)


_RAISE_TO = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1] end
return current
"""


def raise_to(name: str, value: int) -> int:
    """Set the counter to value unless it is already higher (atomic); returns the result."""
    if current_app.config["REDIS_URL"]:
        key = redis_key("counter", name)
        return int(redis_client().eval(_RAISE_TO, 1, key, value))
    key = current_app.config["REDIS_KEY_PREFIX"] + name
    with _lock:
        current = _memory_get(key)
        if current < value:
            _memory[key] = (value, None)
            return value
        return current


def reset(name: str) -> None:
    """Forget a counter."""
    if current_app.config["REDIS_URL"]:
        redis_client().delete(redis_key("counter", name))
        return
    with _lock:
        _memory.pop(current_app.config["REDIS_KEY_PREFIX"] + name, None)


def ttl(name: str) -> int:
    """Seconds before the counter expires (0 when unset, expired or without expiry)."""
    if current_app.config["REDIS_URL"]:
        remaining = int(redis_client().ttl(redis_key("counter", name)))
        return max(remaining, 0)
    key = current_app.config["REDIS_KEY_PREFIX"] + name
    with _lock:
        if _memory_get(key) == 0:
            return 0
        expires = _memory[key][1]
        return 0 if expires is None else max(0, round(expires - time.monotonic()))


def try_lock(name: str, ttl: float) -> bool:
    """Take a lock shared by every process, released by `unlock` or after ttl seconds."""
    if current_app.config["REDIS_URL"]:
        return bool(redis_client().set(redis_key("lock", name), 1, nx=True, px=int(ttl * 1000)))
    key = current_app.config["REDIS_KEY_PREFIX"] + "lock:" + name
    with _lock:
        if _memory_get(key):
            return False
        _memory[key] = (1, time.monotonic() + ttl)
        return True


def unlock(name: str) -> None:
    """Release a lock taken with `try_lock`."""
    if current_app.config["REDIS_URL"]:
        redis_client().delete(redis_key("lock", name))
        return
    with _lock:
        _memory.pop(current_app.config["REDIS_KEY_PREFIX"] + "lock:" + name, None)
