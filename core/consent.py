"""Audience-measurement consent (RGPD): the visitor's choice, kept in a signed cookie.

One purpose covers both uses of the pseudonymous id: audience measurement of the episodes'
interactive areas, and attribution of clicks on partners' offers (/go/<id>, impressions). The
banner and the page say so (text version 2026-12-02).

Without a choice, or after a refusal, nothing identifies the visitor: only anonymous per-day
totals are kept. With consent, the cookie carries a random pseudonymous visitor id, and that id
(never an IP address or an account) is what identified audience events record.

Each choice is also written to the consent history (ConsentEvent): with the account when one is
signed in, so its owner sees their choices on the account page, else with nobody. The visitor
id is never written there, so the history cannot tie audience events to an account.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core import retention
from core.clock import now
from core.consent_models import ConsentEvent
from core.db import db
from core.i18n import gettext as _
from core.redirects import local_path
from core.security import cookie_flags

logger = logging.getLogger(__name__)

bp = Blueprint("consent", __name__)

CONSENT_COOKIE = "consent"
#: 13 months at most (CNIL); 390 days stays under 13 calendar months whatever the start date.
CONSENT_MAX_AGE = 390 * 24 * 3600
_SALT = "audience-consent"
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,40}$")
#: The form's two answers, equally easy to give.
ACCEPT, REFUSE = "accept", "refuse"
_UNSET = object()
#: The purposes one may consent to.
AUDIENCE = "audience"
#: Version of each purpose's explanation (banner and page): raise it when the text changes, so
#: the history tells which text a choice was made on.
TEXT_VERSIONS = {AUDIENCE: "2026-12-02"}


@dataclass(frozen=True)
class ConsentChoice:
    """What the visitor answered, and when."""

    audience: bool
    visitor: str | None
    at: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _parse(data: Any) -> ConsentChoice | None:
    if not isinstance(data, dict) or not isinstance(data.get("audience"), bool):
        return None
    at: str = data["at"] if isinstance(data.get("at"), str) else ""
    if not data["audience"]:
        return ConsentChoice(audience=False, visitor=None, at=at)
    visitor = data.get("visitor")
    if not isinstance(visitor, str) or not _VISITOR.match(visitor):
        return None
    return ConsentChoice(audience=True, visitor=visitor, at=at)


def current_choice() -> ConsentChoice | None:
    """The visitor's choice; None when none was made (or the cookie is forged or too old)."""
    if not has_request_context():
        return None
    cached = g.get("_consent_choice", _UNSET)
    if cached is not _UNSET:
        return cast(ConsentChoice | None, cached)
    choice = None
    raw = request.cookies.get(CONSENT_COOKIE)
    if raw:
        try:
            choice = _parse(_serializer().loads(raw, max_age=CONSENT_MAX_AGE))
        except BadSignature:  # also SignatureExpired
            choice = None
    g._consent_choice = choice
    return choice


def audience_consent() -> str | None:
    """The pseudonymous visitor id when the visitor accepted audience measurement."""
    choice = current_choice()
    return choice.visitor if choice is not None and choice.audience else None


def store_choice(response: Response, audience: bool) -> ConsentChoice:
    """Put the choice in the signed cookie (a refusal drops the visitor id for good)."""
    previous = current_choice()
    visitor = None
    if audience:
        visitor = (
            previous.visitor
            if previous is not None and previous.audience and previous.visitor
            else secrets.token_urlsafe(18)
        )
    choice = ConsentChoice(audience=audience, visitor=visitor, at=now().isoformat())
    payload: dict[str, Any] = {"audience": audience, "at": choice.at}
    if visitor:
        payload["visitor"] = visitor
    response.set_cookie(
        CONSENT_COOKIE,
        _serializer().dumps(payload),
        max_age=CONSENT_MAX_AGE,
        path="/",
        **cookie_flags(),
    )
    g._consent_choice = choice
    return choice


def record_choice(
    session: Session, user_id: int | None, purpose: str, granted: bool, at: dt.datetime
) -> ConsentEvent:
    """Write a choice to the consent history (the account's, or nobody's)."""
    event = ConsentEvent(
        user_id=user_id,
        purpose=purpose,
        granted=granted,
        text_version=TEXT_VERSIONS[purpose],
        decided_at=at,
    )
    session.add(event)
    session.flush()
    return event


def history_of(session: Session, user_id: int) -> list[ConsentEvent]:
    """An account's consent choices, the latest first."""
    return list(
        session.scalars(
            sa.select(ConsentEvent)
            .where(ConsentEvent.user_id == user_id)
            .order_by(ConsentEvent.decided_at.desc(), ConsentEvent.id.desc())
        )
    )


def _safe_next(target: str | None) -> str:
    """A path of this site to go back to (never another site)."""
    return local_path(target, url_for("consent.audience"))


def banner_needed() -> bool:
    """Whether the page shows the consent banner: no choice yet, and not on the choice page."""
    if not has_request_context() or request.endpoint == "consent.audience":
        return False
    return current_choice() is None


@bp.app_context_processor
def _consent_globals() -> dict[str, Any]:
    return {"consent_banner_needed": banner_needed}


def _page(error: str | None, next_url: str, status: int = 200) -> ResponseReturnValue:
    choice = current_choice()
    decided_at = None
    if choice is not None and choice.at:
        try:
            decided_at = dt.datetime.fromisoformat(choice.at)
        except ValueError:
            decided_at = None
    html = render_template(
        "consent.html",
        choice=choice,
        decided_at=decided_at,
        error=error,
        next_url=next_url,
        retention_periods=retention.periods(),
    )
    return html, status


@bp.route("/confidentialite/mesure-d-audience", methods=["GET", "POST"])
def audience() -> ResponseReturnValue:
    """Explain audience measurement; accept or refuse it (and change one's mind) any time."""
    if request.method == "GET":
        return _page(None, _safe_next(request.args.get("next")))
    answer = request.form.get("audience")
    next_url = _safe_next(request.form.get("next"))
    if answer not in (ACCEPT, REFUSE):
        return _page(_("Choisissez « Accepter » ou « Refuser »."), next_url, 422)
    response = redirect(next_url)
    choice = store_choice(response, answer == ACCEPT)
    account = current_user.id if current_user.is_authenticated else None
    record_choice(
        db.session, account, AUDIENCE, choice.audience, dt.datetime.fromisoformat(choice.at)
    )
    db.session.commit()
    flash(
        _("Mesure d'audience acceptée : merci !")
        if answer == ACCEPT
        else _("Mesure d'audience refusée : seuls des totaux anonymes sont comptés."),
        "success",
    )
    logger.info("audience consent %s", "given" if answer == ACCEPT else "refused")
    return response
