"""Casting calls for the next season: residents sign up, editors see and export sign-ups."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("casting", __name__, template_folder="templates")
