"""Poll pages: vote with a plain form (no script needed), live bars when scripts run."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("votes", __name__, template_folder="templates")
