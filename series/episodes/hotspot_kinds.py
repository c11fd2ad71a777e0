"""The registry of hotspot kinds: adding a kind is adding one class.

A kind says whether its hotspots are public (sent to every browser in the WebVTT track and
the API), which actions it allows and what its kind-specific data holds. Clues are not public:
the server judges them (series.clues). Scene regions are not public either: they describe
parts of the picture in the "examine the scene" list, where clues hide among them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from flask_babel import LazyString

from core.i18n import lazy_gettext as _l


class InvalidKindData(ValueError):
    """Kind-specific data refused: a reason code and a message for the editor."""

    def __init__(self, code: str, message: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


KINDS: dict[str, type[HotspotKind]] = {}


class HotspotKind:
    """Base class; subclasses register themselves under their `name`."""

    name: ClassVar[str]
    label: ClassVar[LazyString]
    #: Sent to browsers before anything is found (False for clues).
    public: ClassVar[bool] = True
    actions: ClassVar[tuple[str, ...]] = ("card", "url", "seek", "location")
    #: Offer kinds a hotspot of this kind may point to.
    offer_kinds: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        KINDS[cls.name] = cls

    @classmethod
    def clean_data(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The kind-specific data, checked and normalised (InvalidKindData otherwise)."""
        return data


def _short_text(data: dict[str, Any], key: str, limit: int, required: bool) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value.strip()) > limit or (required and not value.strip()):
        raise InvalidKindData(
            f"invalid_clue_{key}",
            _l("« %(key)s » : texte de 1 à %(n)s caractères.", key=key, n=limit),
        )
    return value.strip()


class ClueKind(HotspotKind):
    """A clue: found by clicking its box at the right moment; judged by the server only.

    Its label is a neutral description of the region (it is read in the examine list among
    scene regions); what the player learns comes from `data`: title, text, image, points.
    """

    name = "clue"
    label = _l("Indice")
    public = False
    actions = ("card",)
    DEFAULT_POINTS = 100
    MIN_POINTS, MAX_POINTS = 10, 1000

    @classmethod
    def clean_data(cls, data: dict[str, Any]) -> dict[str, Any]:
        points = data.get("points", cls.DEFAULT_POINTS)
        if (
            isinstance(points, bool)
            or not isinstance(points, int | float)
            or not math.isfinite(points)
            or not float(points).is_integer()
            or not cls.MIN_POINTS <= points <= cls.MAX_POINTS
        ):
            raise InvalidKindData(
                "invalid_clue_points",
                _l(
                    "Les points d'un indice : un entier de %(lo)s à %(hi)s.",
                    lo=cls.MIN_POINTS,
                    hi=cls.MAX_POINTS,
                ),
            )
        image = data.get("image")
        if image is not None and (
            not isinstance(image, str) or not image.startswith("/static/") or ".." in image
        ):
            raise InvalidKindData(
                "invalid_clue_image", _l("L'image d'un indice est un chemin /static/….")
            )
        cleaned: dict[str, Any] = {
            "title": _short_text(data, "title", 120, required=False),
            "text": _short_text(data, "text", 1000, required=True),
            "image": image,
            "points": int(points),
        }
        return {key: value for key, value in cleaned.items() if value not in ("", None)}


class SceneKind(HotspotKind):
    """A described part of the picture with nothing to find: clues hide among these."""

    name = "scene"
    label = _l("Élément du décor")
    public = False
    actions = ("card",)

    @classmethod
    def clean_data(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {}


class ProductKind(HotspotKind):
    name = "product"
    label = _l("Produit")
    offer_kinds = ("product",)


class RecipeKind(HotspotKind):
    name = "recipe"
    label = _l("Recette")
    offer_kinds = ("recipe",)


class PlaceKind(HotspotKind):
    name = "place"
    label = _l("Lieu")
    offer_kinds = ("place",)


class InfoKind(HotspotKind):
    name = "info"
    label = _l("Info")
    offer_kinds = ("product", "recipe", "place")


def public_kinds() -> tuple[str, ...]:
    """Names of the kinds whose hotspots every visitor may receive."""
    return tuple(name for name, kind in KINDS.items() if kind.public)
