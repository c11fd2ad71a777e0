"""Pages of the tips board: find tips (list and map), a tip's page with its small actions,
and the form to post one (works without JavaScript; nothing typed is lost on an error)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
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

from community import geocoding, moderation, search, services, text, trust
from community.api import search_args, tip_json
from community.models import (
    CommentStatus,
    DepartementFollow,
    FlagReason,
    Tip,
    TipCategory,
    TipComment,
    TipStatus,
)
from core.accounts.auth import login_required
from core.clock import now
from core.db import db
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l
from core.redirects import safe_next
from passport.models import FilmingLocation
from passport.services import format_distance
from series.episodes.media_views import send_media
from series.models import DEPARTEMENTS

bp = Blueprint("community", __name__, template_folder="templates")

CATEGORY_NAMES = {
    TipCategory.RESTAURANT: _l("Restaurant"),
    TipCategory.VISITE: _l("Visite"),
    TipCategory.EVENEMENT: _l("Événement"),
    TipCategory.PRODUIT_LOCAL: _l("Produit local"),
    TipCategory.NATURE: _l("Nature"),
    TipCategory.HEBERGEMENT: _l("Hébergement"),
    TipCategory.SORTIE: _l("Sortie"),
    TipCategory.PRATIQUE: _l("Pratique"),
}
FLAG_NAMES = {
    FlagReason.SPAM: _l("Publicité ou spam"),
    FlagReason.OFF_TOPIC: _l("Hors sujet"),
    FlagReason.INAPPROPRIATE: _l("Contenu inapproprié"),
    FlagReason.OUTDATED: _l("N'est plus vrai"),
    FlagReason.WRONG_PLACE: _l("Mauvais endroit"),
}
PAGE_SIZE = 20


@bp.app_context_processor
def _names() -> dict[str, Any]:
    return {
        "tip_categories": CATEGORY_NAMES,
        "departements": DEPARTEMENTS,
        "highlighted": lambda user_id: bool(moderation.badge_of(db.session, user_id)),
        "format_distance": format_distance,
        "stale": lambda tip: services.is_stale(tip, now()),
    }


def _place_from_text(args: Any) -> tuple[dict[str, Any], str]:
    """`near` typed as a commune or an address ("Coulon"): geocoded to LAT,LON."""
    where = (args.get("ou") or "").strip()
    if not where or args.get("near"):
        return {}, ""
    found = geocoding.geocode(where)
    if not found:
        return {}, _("Lieu introuvable : « %(q)s ».", q=where)
    return {"near": f"{found[0].lat},{found[0].lon}", "label": found[0].label}, ""


def _map_tiles() -> dict[str, str]:
    """The tile server of the maps (the passport's settings; empty: no map, the list only)."""
    return {
        "tile_url": current_app.config.get("PASSPORT_TILE_URL") or "",
        "tile_attribution": current_app.config.get("PASSPORT_TILE_ATTRIBUTION") or "",
    }


def _map_json(found: list[search.Found]) -> list[dict[str, Any]]:
    """The tips found as the page's script sees them: the API's fields and the category's name."""
    return [
        tip_json(f.tip, f.distance_m) | {"category_name": str(CATEGORY_NAMES[f.tip.category])}
        for f in found
    ]


@bp.route("/bons-plans")
def index() -> ResponseReturnValue:
    status = 200
    error = ""
    args = request.args.to_dict()
    place, error = _place_from_text(args)
    args |= {k: v for k, v in place.items() if k == "near"}
    filters: dict[str, Any] = {}
    try:
        filters = search_args(args)
        offset = max(int(args.get("offset") or 0), 0)
        found = search.find_tips(
            db.session, today=now().date(), limit=PAGE_SIZE + 1, offset=offset, **filters
        )
    except (ApiError, ValueError) as refused:
        error = str(getattr(refused, "message", refused))
        status, found, offset = 422, [], 0
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    next_args: dict[str, Any] = {k: v for k, v in args.items() if k != "offset" and v}
    next_url = url_for(".index", **(next_args | {"offset": offset + len(found)}))
    return render_template(
        "community/index.html",
        found=found,
        more=more,
        next_url=next_url,
        args=args,
        place_label=place.get("label", ""),
        error=error,
        tips_json=_map_json(found),
        near=filters.get("near") if found else None,
        radius_km=filters.get("radius_km") or search.DEFAULT_RADIUS_KM,
        excerpt=text.plain_excerpt,
        followed=_followed(),
        **_map_tiles(),
    ), status


def _followed() -> set[str]:
    if not current_user.is_authenticated:
        return set()
    return set(
        db.session.scalars(
            sa.select(DepartementFollow.departement_code).where(
                DepartementFollow.user_id == current_user.id
            )
        )
    )


def _visible(tip_id: int) -> Tip:
    tip = db.session.get(Tip, tip_id)
    if tip is None or not services.visible_to(tip, current_user):
        abort(404)
    return tip


@bp.route("/bons-plans/<int:tip_id>")
def tip(tip_id: int) -> ResponseReturnValue:
    item = _visible(tip_id)
    at = now()
    if current_user.is_authenticated and item.status == TipStatus.PUBLISHED:
        trust.record_read(db.session, current_user, item.id, at.date())
        db.session.commit()
    comments = db.session.scalars(
        sa.select(TipComment)
        .where(TipComment.tip_id == item.id)
        .where(
            (TipComment.status == CommentStatus.PUBLISHED)
            | (TipComment.author_id == (current_user.id if current_user.is_authenticated else -1))
        )
        .order_by(TipComment.created_at, TipComment.id)
    ).all()
    location = db.session.get(FilmingLocation, item.location_id) if item.location_id else None
    return render_template(
        "community/tip.html",
        tip=item,
        html=text.render_text(item.body),
        stale=services.is_stale(item, at),
        expired=services.is_expired(item, at.date()),
        comments=comments,
        location=location,
        flag_names=FLAG_NAMES,
        badge=moderation.badge_of(db.session, item.author_id),
        is_author=current_user.is_authenticated and item.author_id == current_user.id,
        tip_data=tip_json(item),
    )


@bp.route("/bons-plans/photos/<int:tip_id>/<name>")
def photo(tip_id: int, name: str) -> ResponseReturnValue:
    item = _visible(tip_id)
    if not any(name in (p.path, p.thumb_path) for p in item.photos):
        abort(404)
    response = send_media(f"{services.PHOTO_FOLDER}/{item.id}", name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if item.status == TipStatus.PUBLISHED:
        response.headers["Cache-Control"] = "public, max-age=86400"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    return response


# ---- Posting a tip ----


def _uploads() -> list[services.Upload]:
    return [
        services.Upload(
            upload.read(services.photos.MAX_PHOTO_BYTES + 1), request.form.get(f"alt{i}", "")
        )
        for i, upload in enumerate(request.files.getlist("photos"))
        if upload.filename
    ]


@bp.route("/bons-plans/nouveau", methods=["GET", "POST"])
@login_required
def new_tip() -> ResponseReturnValue:
    at = now()
    form = request.form.to_dict() if request.method == "POST" else dict(request.args)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        raw: dict[str, Any] = dict(form)
        if not raw.get("lat") and raw.get("address"):
            places = geocoding.geocode(raw["address"])
            if places:
                raw |= {"lat": places[0].lat, "lon": places[0].lon}
            else:
                errors["place"] = _("Adresse introuvable : précisez la commune.")
        try:
            if errors:
                raise services.InvalidTip(errors)
            data = services.clean_tip(raw, at.date())
            created = services.create_tip(db.session, current_user, data, at, _uploads())
        except services.InvalidTip as invalid:
            db.session.rollback()
            errors, status = invalid.fields, 422
        except ApiError as refused:
            db.session.rollback()
            errors, status = {"form": str(refused.message)}, refused.status
        else:
            db.session.commit()
            if created.status == TipStatus.PUBLISHED:
                flash(_("Votre bon plan est publié. Merci !"), "success")
            else:
                flash(
                    _(
                        "Merci ! Votre bon plan sera publié après relecture par un modérateur "
                        "(c'est la règle pour les premiers messages)."
                    ),
                    "success",
                )
            return redirect(url_for(".tip", tip_id=created.id))
    locations = db.session.scalars(sa.select(FilmingLocation).order_by(FilmingLocation.name))
    return render_template(
        "community/new.html",
        form=form,
        errors=errors,
        limits=trust.limits_for(db.session, current_user),
        locations=list(locations),
        max_photos=services.MAX_PHOTOS,
        **_map_tiles(),
    ), status


# ---- Small actions on a tip (forms; the API has the same) ----


@bp.route("/bons-plans/<int:tip_id>/utile", methods=["POST"])
@login_required
def helpful(tip_id: int) -> ResponseReturnValue:
    item = _visible(tip_id)
    counted = services.vote_helpful(db.session, item, current_user)
    db.session.commit()
    flash(_("Merci, c'est noté.") if counted else _("Vous l'aviez déjà trouvé utile."), "success")
    return redirect(url_for(".tip", tip_id=item.id))


@bp.route("/bons-plans/<int:tip_id>/toujours-vrai", methods=["POST"])
@login_required
def still_true(tip_id: int) -> ResponseReturnValue:
    item = _visible(tip_id)
    services.confirm(db.session, item, current_user, now())
    db.session.commit()
    flash(_("Merci d'avoir confirmé ce bon plan."), "success")
    return redirect(url_for(".tip", tip_id=item.id))


@bp.route("/bons-plans/<int:tip_id>/signaler", methods=["POST"])
@login_required
def flag(tip_id: int) -> ResponseReturnValue:
    item = _visible(tip_id)
    try:
        reason = FlagReason(request.form.get("reason", ""))
        result = moderation.flag_tip(
            db.session, item, current_user, reason, request.form.get("note", "")[:300], now()
        )
    except ValueError:
        flash(_("Choisissez un motif de signalement."), "error")
        return redirect(url_for(".tip", tip_id=item.id, _anchor="signaler"))
    except ApiError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        return redirect(url_for(".tip", tip_id=item.id, _anchor="signaler"))
    db.session.commit()
    flash(result.message, "success")
    return redirect(url_for(".tip", tip_id=item.id))


@bp.route("/bons-plans/<int:tip_id>/commentaires", methods=["POST"])
@login_required
def comment(tip_id: int) -> ResponseReturnValue:
    item = _visible(tip_id)
    try:
        added = moderation.add_comment(
            db.session, item, current_user, request.form.get("body", ""), now()
        )
    except ApiError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        return redirect(url_for(".tip", tip_id=item.id, _anchor="commenter"))
    db.session.commit()
    if added.status == CommentStatus.PUBLISHED:
        flash(_("Commentaire publié."), "success")
    else:
        flash(_("Commentaire envoyé : il sera publié après relecture."), "success")
    return redirect(url_for(".tip", tip_id=item.id, _anchor="commentaires"))


@bp.route("/bons-plans/<int:tip_id>/appel", methods=["POST"])
@login_required
def appeal(tip_id: int) -> ResponseReturnValue:
    item = _visible(tip_id)
    try:
        moderation.appeal(db.session, item, current_user, request.form.get("text", ""), now())
    except ApiError as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        return redirect(url_for(".tip", tip_id=item.id))
    db.session.commit()
    flash(_("Votre demande de réexamen est envoyée aux modérateurs."), "success")
    return redirect(url_for(".tip", tip_id=item.id))


@bp.route("/bons-plans/departements/<code>/suivre", methods=["POST"])
@login_required
def follow(code: str) -> ResponseReturnValue:
    if code not in DEPARTEMENTS:
        abort(404)
    existing = db.session.scalar(
        sa.select(DepartementFollow).where(
            DepartementFollow.user_id == current_user.id,
            DepartementFollow.departement_code == code,
        )
    )
    if existing is None:
        db.session.add(DepartementFollow(user_id=current_user.id, departement_code=code))
        flash(_("Vous suivez les bons plans : %(name)s.", name=DEPARTEMENTS[code]), "success")
    else:
        db.session.delete(existing)
        flash(_("Vous ne suivez plus : %(name)s.", name=DEPARTEMENTS[code]), "success")
    db.session.commit()
    return redirect(safe_next(url_for(".index", departement=code)))


@bp.route("/bons-plans/suivis")
@login_required
def followed_tips() -> ResponseReturnValue:
    """New tips of the départements the resident follows (the last 30 days)."""
    codes = _followed()
    since = now() - dt.timedelta(days=30)
    tips = (
        db.session.scalars(
            sa.select(Tip)
            .where(
                Tip.status == TipStatus.PUBLISHED,
                Tip.departement_code.in_(codes),
                Tip.published_at >= since,
            )
            .order_by(Tip.published_at.desc())
            .limit(50)
        ).all()
        if codes
        else []
    )
    return render_template(
        "community/followed.html", tips=tips, codes=sorted(codes), excerpt=text.plain_excerpt
    )
