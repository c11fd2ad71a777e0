"""JSON API of polls (CONTRACT.md)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("votes_api", __name__, url_prefix="/api/v1")
