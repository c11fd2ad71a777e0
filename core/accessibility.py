"""The accessibility statement (déclaration d'accessibilité), in the RGAA 4 model."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("accessibility", __name__)

#: When the statement was made; update it with the statement after each new audit.
STATEMENT_DATE = dt.date(2026, 12, 2)


@bp.route("/accessibilite")
def statement() -> ResponseReturnValue:
    """The statement: compliance, test results, exceptions, contact and means of redress."""
    return render_template(
        "accessibility.html",
        publisher=current_app.config["PUBLISHER_NAME"],
        contact_email=current_app.config["CONTACT_EMAIL"],
        statement_date=STATEMENT_DATE,
    )
