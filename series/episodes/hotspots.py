"""Hotspot rules: validation, interpolation of moving boxes, public delivery (WebVTT, JSON)."""

from __future__ import annotations

import html
import itertools
import json
import logging
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import as_id
from core.errors import ApiError
from core.i18n import lazy_gettext as _l
from series.episodes.hotspot_kinds import KINDS, InvalidKindData, public_kinds
from series.episodes.hotspot_models import Hotspot, Offer
from series.models import Episode

logger = logging.getLogger(__name__)

SHAPES = ("rect", "ellipse")
MAX_KEYFRAMES = 500


class InvalidHotspot(ApiError):
    """A hotspot refused, with the field at fault."""

    def __init__(self, code: str, message: object, field: str) -> None:
        super().__init__(422, code, str(message), field=field)


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidHotspot("invalid_number", _l("Nombre attendu."), field)
    return float(value)


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidHotspot("invalid_flag", _l("Vrai ou faux attendu."), field)
    return value


def _text(value: Any, limit: int, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise InvalidHotspot(
            "invalid_text", _l("Texte de %(n)s caractères au plus.", n=limit), field
        )
    return value.strip()


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidHotspot("invalid_data", _l("Objet JSON attendu."), field)
    return value


def validate_keyframes(raw: Any, start: float, end: float) -> list[dict[str, float]]:
    """Keyframes inside the hotspot's time span and the video box, sorted by time."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_KEYFRAMES:
        raise InvalidHotspot(
            "invalid_keyframes",
            _l("Il faut entre 1 et %(n)s images clés.", n=MAX_KEYFRAMES),
            "keyframes",
        )
    frames = []
    for index, frame in enumerate(raw):
        where = f"keyframes[{index}]"
        if not isinstance(frame, dict) or set(frame) != {"t", "x", "y", "w", "h"}:
            raise InvalidHotspot(
                "invalid_keyframe", _l("Une image clé a les champs t, x, y, w et h."), where
            )
        t, x, y, w, h = (_number(frame[k], f"{where}.{k}") for k in ("t", "x", "y", "w", "h"))
        if not start <= t <= end:
            raise InvalidHotspot(
                "keyframe_outside_time",
                _l("Une image clé est hors de la durée de la zone."),
                f"{where}.t",
            )
        if not (0 <= x <= 100 and 0 <= y <= 100 and 0 < w <= 100 and 0 < h <= 100):
            raise InvalidHotspot(
                "keyframe_outside_box",
                _l("Position et taille en pourcentage de l'image, entre 0 et 100."),
                where,
            )
        if x + w > 100.0001 or y + h > 100.0001:
            raise InvalidHotspot(
                "keyframe_outside_box", _l("La zone dépasse du cadre de l'image."), where
            )
        frames.append({"t": t, "x": x, "y": y, "w": w, "h": h})
    frames.sort(key=lambda f: f["t"])
    if len({f["t"] for f in frames}) != len(frames):
        raise InvalidHotspot(
            "duplicate_keyframe", _l("Deux images clés ont le même instant."), "keyframes"
        )
    return frames


def box_at(keyframes: Sequence[dict[str, float]], t: float) -> dict[str, float]:
    """The box at time t: linear between keyframes, held before the first and after the last."""
    if t <= keyframes[0]["t"]:
        return dict(keyframes[0])
    for before, after in itertools.pairwise(keyframes):
        if t <= after["t"]:
            span = after["t"] - before["t"]
            ratio = (t - before["t"]) / span if span else 1.0
            return {
                key: before[key] + (after[key] - before[key]) * ratio
                for key in ("x", "y", "w", "h")
            } | {"t": t}
    return dict(keyframes[-1])


def contains(
    keyframes: Sequence[dict[str, float]], t: float, x: float, y: float, tolerance: float = 0.0
) -> bool:
    """Whether the point (in % of the video box) is inside the box at t, give or take."""
    box = box_at(keyframes, t)
    return (
        box["x"] - tolerance <= x <= box["x"] + box["w"] + tolerance
        and box["y"] - tolerance <= y <= box["y"] + box["h"] + tolerance
    )


def validate(session: Session, episode: Episode, data: dict[str, Any]) -> dict[str, Any]:
    """Checked and normalised hotspot fields, or InvalidHotspot naming the field at fault."""
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise InvalidHotspot("unknown_kind", _l("Type de zone inconnu."), "kind")
    start = _number(data.get("start"), "start")
    end = _number(data.get("end"), "end")
    if start < 0:
        raise InvalidHotspot("negative_start", _l("Le début ne peut pas être négatif."), "start")
    if end <= start:
        raise InvalidHotspot("end_before_start", _l("La fin doit venir après le début."), "end")
    duration = episode.duration_s
    if duration is not None and end > duration + 0.001:
        raise InvalidHotspot("after_episode_end", _l("La zone dépasse la fin de l'épisode."), "end")
    keyframes = validate_keyframes(data.get("keyframes"), start, end)
    shape = data.get("shape", "rect")
    if shape not in SHAPES:
        raise InvalidHotspot("invalid_shape", _l("Forme inconnue."), "shape")
    label = str(data.get("label") or "").strip()
    if not label or len(label) > 120:
        raise InvalidHotspot("invalid_label", _l("Un libellé de 1 à 120 caractères."), "label")
    action = data.get("action", "card")
    kind_class = KINDS[kind]
    if action not in kind_class.actions:
        raise InvalidHotspot("invalid_action", _l("Action non permise pour ce type."), "action")
    offer_id = data.get("offer")
    if offer_id is not None:
        valid_id = as_id(offer_id)
        offer = session.get(Offer, valid_id) if valid_id else None
        if offer is None or offer.kind not in kind_class.offer_kinds:
            raise InvalidHotspot("invalid_offer", _l("Offre inconnue ou d'un autre type."), "offer")
        if action == "url" and not offer.url:
            raise InvalidHotspot(
                "offer_without_url", _l("Cette offre n'a pas d'adresse web."), "offer"
            )
    elif action in ("card", "url") and kind_class.offer_kinds and kind != "info":
        raise InvalidHotspot("offer_required", _l("Choisissez l'offre du partenaire."), "offer")
    try:
        kind_data = kind_class.clean_data(_object(data.get("data"), "data"))
    except InvalidKindData as error:
        raise InvalidHotspot(error.code, error.message, "data") from None
    action_value = data.get("action_value")
    if action in ("seek", "location"):
        action_value = _number(action_value, "action_value")
        if action == "location" and not action_value.is_integer():
            raise InvalidHotspot(
                "invalid_location", _l("Lieu de tournage inconnu."), "action_value"
            )
        if action == "seek" and duration is not None and not 0 <= action_value <= duration:
            raise InvalidHotspot("invalid_seek", _l("Instant hors de l'épisode."), "action_value")
    else:
        action_value = None
    return {
        "kind": kind,
        "start_s": start,
        "end_s": end,
        "keyframes": keyframes,
        "shape": shape,
        "label": label,
        "accessible_label": _text(data.get("accessible_label"), 200, "accessible_label"),
        "pause_on_show": _flag(data.get("pause_on_show", False), "pause_on_show"),
        "action": action,
        "offer_id": offer_id,
        "action_value": action_value,
        "data": kind_data,
    }


def create_hotspot(session: Session, episode: Episode, data: dict[str, Any]) -> Hotspot:
    """Add a hotspot to an episode."""
    hotspot = Hotspot(episode_id=episode.id, **validate(session, episode, data))
    session.add(hotspot)
    session.flush()
    logger.info("hotspot %s (%s) added to episode %s", hotspot.id, hotspot.kind, episode.id)
    return hotspot


def update_hotspot(session: Session, hotspot: Hotspot, data: dict[str, Any]) -> Hotspot:
    """Replace a hotspot's fields."""
    for key, value in validate(session, hotspot.episode, data).items():
        setattr(hotspot, key, value)
    session.flush()
    return hotspot


def public_hotspots(session: Session, episode_id: int) -> Sequence[Hotspot]:
    """Hotspots any visitor may receive (never clues), in time order."""
    return session.scalars(
        sa.select(Hotspot)
        .where(Hotspot.episode_id == episode_id, Hotspot.kind.in_(public_kinds()))
        .order_by(Hotspot.start_s, Hotspot.id)
    ).all()


def offer_json(offer: Offer) -> dict[str, Any]:
    """An offer as shown on a hotspot card (its URL goes through the click redirect)."""
    return {
        "id": offer.id,
        "kind": offer.kind,
        "title": offer.title,
        "text": offer.text,
        "merchant": offer.merchant or offer.partner.name,
        "price": None if offer.price_cents is None else offer.price_cents / 100,
        "currency": offer.currency,
        "address": offer.address,
        "opening_hours": offer.opening_hours,
        "image": offer.image_path,
        "has_link": bool(offer.url),
    }


def hotspot_json(hotspot: Hotspot) -> dict[str, Any]:
    """A public hotspot: where and when it shows, what it does (no kind-specific data)."""
    return {
        "id": hotspot.id,
        "kind": hotspot.kind,
        "start": hotspot.start_s,
        "end": hotspot.end_s,
        "keyframes": hotspot.keyframes,
        "shape": hotspot.shape,
        "label": hotspot.label,
        "accessible_label": hotspot.accessible_label or hotspot.label,
        "pause_on_show": hotspot.pause_on_show,
        "action": hotspot.action,
        "action_value": hotspot.action_value,
        "offer": offer_json(hotspot.offer) if hotspot.offer else None,
    }


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    return (
        f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:"
        f"{millis // 1000 % 60:02d}.{millis % 1000:03d}"
    )


def webvtt_track(hotspots: Sequence[Hotspot]) -> str:
    """A WebVTT metadata track: one cue per public hotspot, its JSON as the payload."""
    cues = ["WEBVTT", ""]
    for hotspot in hotspots:
        if not KINDS[hotspot.kind].public:
            continue  # defence in depth: callers already pass public hotspots only
        payload = json.dumps(hotspot_json(hotspot), ensure_ascii=False, separators=(",", ":"))
        # "-->" inside a cue payload would end it; \u003e keeps the JSON identical once parsed.
        payload = payload.replace(">", "\\u003e")
        cues += [
            f"hotspot-{hotspot.id}",
            f"{_stamp(hotspot.start_s)} --> {_stamp(hotspot.end_s)}",
            payload,
            "",
        ]
    return "\n".join(cues)


def chapters_track(hotspots: Sequence[Hotspot]) -> str:
    """A WebVTT chapters track naming each public hotspot, for players without the overlay."""
    cues = ["WEBVTT", ""]
    for hotspot in hotspots:
        text = " ".join((hotspot.accessible_label or hotspot.label).split())
        cues += [
            f"{_stamp(hotspot.start_s)} --> {_stamp(hotspot.end_s)}",
            html.escape(text, quote=False),  # ">" escaped: "-->" cannot end the cue
            "",
        ]
    return "\n".join(cues)
