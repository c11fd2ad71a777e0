"""The passport page: places by département, progress and badges, stamping by position (with
the visitor's consent, in the page's script) or by the code shown on site (a plain form)."""

from __future__ import annotations

import json

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from community import places as community_places
from core.accounts.auth import roles_required
from core.clock import now
from core.db import db, int_arg
from core.i18n import gettext as _
from passport import badges, guests, rewards, services
from passport.api import location_json, visible_episode_ids
from passport.models import Stamp

bp = Blueprint("passport", __name__, template_folder="templates")


@bp.route("/passeport")
def page() -> ResponseReturnValue:
    places = list(services.locations(db.session))
    stamps: dict[int, Stamp] = {}
    passport = guests.visitor_passport(db.session)
    if passport is not None:
        stamps = services.stamps_of(db.session, passport)
    visible = visible_episode_ids()
    done = badges.progress(db.session, places, stamps, now())
    return render_template(
        "passport/page.html",
        progress=done,
        departements=done.departements,
        stamps=stamps,
        places_json=[location_json(p, visible) for p in places],
        guest=not current_user.is_authenticated,
        reward_offers=rewards.offers_for(db.session, passport, done, now()),
        tips_near=community_places.tips_near_places(db.session, places, now().date()),
        tile_url=current_app.config.get("PASSPORT_TILE_URL") or "",
        tile_attribution=current_app.config.get("PASSPORT_TILE_ATTRIBUTION") or "",
    )


@bp.route("/passeport/code", methods=["POST"])
def stamp_with_code() -> ResponseReturnValue:
    """The code form (works without script): the code read on the sign at the place."""
    location = services.get_location(db.session, request.form.get("location", type=int_arg) or 0)
    code = request.form.get("code", "").strip()
    if location is None or not code:
        flash(_("Choisissez le lieu et saisissez le code affiché sur place."), "error")
        return redirect(url_for(".page"))
    passport = guests.visitor_passport(db.session, create=True)
    assert passport is not None
    db.session.commit()
    try:
        if code.isdigit():  # a partner's PIN (a place code always has dashes)
            result = services.verify_pin_stamp(db.session, passport, location, code, now())
        else:
            result = services.verify_code_stamp(db.session, passport, location, code, now(), now())
    except services.StampRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for(".page", _anchor=f"lieu-{location.id}"))
    db.session.commit()
    if result.status == 201:
        flash(
            _("Tampon « %(name)s » ajouté à votre passeport.", name=location.name)
            if not location.remembrance
            else _("Votre passage à « %(name)s » est noté.", name=location.name),
            "success",
        )
    else:
        flash(_("Ce lieu était déjà tamponné."), "success")
    return redirect(url_for(".page", _anchor=f"lieu-{location.id}"))


@bp.route("/passeport/scan/<int:location_id>")
def scan(location_id: int) -> ResponseReturnValue:
    """Where a poster's QR code leads: the place and a button to stamp with its code (a GET
    never writes: the stamp is the form's POST)."""
    location = services.get_location(db.session, location_id)
    if location is None:
        abort(404)
    return render_template(
        "passport/scan.html", place=location, code=request.args.get("code", "")[:40]
    )


# ---- Editors: the posters with each place's current code ----


@bp.route("/edition/passeport")
@roles_required("editor")
def editor_index() -> ResponseReturnValue:
    at = now()
    return render_template(
        "passport/editor_index.html",
        places=services.locations(db.session),
        code_of=lambda place: services.place_code(place, at),
        valid_until=services.code_valid_until(at),
    )


@bp.route("/edition/passeport/<int:location_id>/affiche")
@roles_required("editor")
def poster(location_id: int) -> ResponseReturnValue:
    """A printable poster: the QR code of the scan page with the current code, and the code."""
    location = services.get_location(db.session, location_id)
    if location is None:
        abort(404)
    at = now()
    code = services.place_code(location, at)
    target = url_for(".scan", location_id=location.id, code=code, _external=True)
    qr = segno.make(target, error="m")
    return render_template(
        "passport/poster.html",
        place=location,
        code=code,
        target=target,
        qr_svg=qr.svg_inline(scale=8, dark="#000", light="#fff", omitsize=True),
        valid_until=services.code_valid_until(at),
    )


@bp.route("/edition/passeport/<int:location_id>/pin", methods=["POST"])
@roles_required("editor")
def set_pin(location_id: int) -> ResponseReturnValue:
    """Give a place a partner PIN (6 to 8 digits), or remove it."""
    location = services.get_location(db.session, location_id)
    if location is None:
        abort(404)
    pin = request.form.get("pin", "").strip()
    try:
        services.set_pin(location, pin or None)
    except ValueError:
        flash(_("Un code partenaire a de 6 à 8 chiffres."), "error")
        return redirect(url_for(".editor_index"))
    db.session.commit()
    flash(_("Code partenaire enregistré.") if pin else _("Code partenaire retiré."), "success")
    return redirect(url_for(".editor_index"))


# ---- Offline: an installable page whose service worker keeps the passport readable ----

#: What the passport needs to show without network (the page itself is cached when visited).
OFFLINE_ASSETS = (
    "/passeport",
    "/static/css/site.css",
    "/static/css/passport.css",
    "/static/js/site.js",
    "/static/js/passport.js",
    "/static/js/passport-map.js",
    "/static/js/map-common.js",
    "/static/css/passport-map.css",
    "/static/css/map-common.css",
    "/static/css/rewards.css",
)


@bp.route("/passeport/sw.js")
def service_worker() -> ResponseReturnValue:
    """The service worker, served under /passeport and allowed that scope."""
    body = render_template("passport/sw.js", assets=list(OFFLINE_ASSETS))
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/passeport"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/passeport/manifest.webmanifest")
def manifest() -> ResponseReturnValue:
    data = {
        "name": _("Passeport des lieux de tournage"),
        "short_name": _("Passeport"),
        "start_url": "/passeport",
        "scope": "/passeport",
        "display": "standalone",
        "background_color": "#faf9f6",
        "theme_color": "#0b3a5c",
        "lang": "fr",
        "icons": [
            {
                "src": url_for("static", filename="img/passport-icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
            }
        ],
    }
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")
    return response
