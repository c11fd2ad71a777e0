"""Where a `next` parameter may send the visitor back to: a path of this site, never another."""

from __future__ import annotations

from flask import request


def local_path(target: str | None, default: str = "/") -> str:
    """`target` when it is a path of this site, else `default`.

    Refused: other sites (`https://…`), protocol-relative `//host`, `/\\host` (browsers read the
    backslash as a slash) and control characters (a header split, or a tab browsers drop).
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return default
    return target


def safe_next(default: str = "/") -> str:
    """The request's `next` value (query or form) when it stays on this site, else the default."""
    return local_path(request.values.get("next"), default)
