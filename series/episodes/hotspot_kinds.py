"""The registry of hotspot kinds: adding a kind is adding one class.

A kind says whether its hotspots are public (sent to every browser in the WebVTT track and
the API) and which actions it allows. Clues are not public: the server judges them (issue 5).
"""

from __future__ import annotations

from typing import ClassVar

from flask_babel import LazyString

from core.i18n import lazy_gettext as _l

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


class ClueKind(HotspotKind):
    name = "clue"
    label = _l("Indice")
    public = False
    actions = ("card",)


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
