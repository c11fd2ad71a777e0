"""Geocoding of places in Nouvelle-Aquitaine: one interface, the service chosen by config.

GEOCODER = "offline" (the default) answers from the gazetteer of communes, with no network;
"ban" asks the Base Adresse Nationale and "nominatim" OpenStreetMap's Nominatim, both through
geopy. Online answers are cached for a day (core.cache, shared by every process) and kept to
the 12 départements. A service that fails or times out is left alone for OUTAGE_PAUSE seconds
while the gazetteer answers: a visitor never gets an error for it.

Nominatim's usage policy: at most 1 request a second (geopy's RateLimiter in each process, and
a lock shared by all of them), an identifying user agent (GEOCODER_USER_AGENT), cached results,
and no search-as-you-type: suggestions while typing come from `gazetteer.search`, `geocode`
is for a submitted query.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from geopy.adapters import RequestsAdapter
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import BANFrance, Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from community import gazetteer
from core import cache, counters
from series.models import DEPARTEMENTS

logger = logging.getLogger(__name__)

CACHE_TTL = 24 * 3600
#: Seconds during which a service that failed is not asked again.
OUTAGE_PAUSE = 60
#: Nominatim's usage policy: one request a second at most.
NOMINATIM_DELAY = 1.0
#: Nominatim is asked for places in this box only: (south, west), (north, east).
REGION_VIEWBOX = ((42.7, -1.9), (47.3, 2.7))
#: Words at the end of an address where the offline search looks for a commune.
ADDRESS_TAIL = 6
#: What a malformed answer raises while it is read.
_BAD_ANSWER = (GeopyError, KeyError, IndexError, TypeError, ValueError)


@dataclass(frozen=True)
class GeoResult:
    """A place found: its label, point, commune and département, and who found it."""

    label: str
    lat: float
    lon: float
    commune: str
    departement_code: str
    source: str  # "offline", "ban" or "nominatim"
    commune_code: str = ""  # INSEE code, when known


def _from_place(
    place: gazetteer.Place, lat: float | None = None, lon: float | None = None
) -> GeoResult:
    return GeoResult(
        label=place.label,
        lat=place.lat if lat is None else lat,
        lon=place.lon if lon is None else lon,
        commune=place.name,
        departement_code=place.departement_code,
        source="offline",
        commune_code=place.code,
    )


def _offline_search(query: str, limit: int) -> list[GeoResult]:
    """Communes matching the query; for an address, the commune it ends with.

    "12 rue de la Paix, 86000 Poitiers" is tried whole, then by its last words (six at most,
    the longest first), until some match: the gazetteer knows communes, not streets.
    """
    found = gazetteer.search(query, limit)
    tail = gazetteer.words(query)[-ADDRESS_TAIL:]
    for start in range(1, len(tail)):
        if found:
            break
        found = gazetteer.search(" ".join(tail[start:]), limit)
    return [_from_place(place) for place in found]


def _offline_reverse(lat: float, lon: float) -> GeoResult | None:
    place = gazetteer.commune_at(lat, lon)
    return None if place is None else _from_place(place, lat, lon)


# Online services -------------------------------------------------------------------------


_clients: dict[tuple[Any, ...], tuple[Geocoder, RateLimiter]] = {}
_clients_lock = threading.Lock()


def _client(provider: str) -> tuple[Geocoder, RateLimiter]:
    """The geopy geocoder for the configured service, and the rate limiter of its calls.

    One limiter per service and process: geocoding and reverse geocoding share its slots.
    """
    config = current_app.config
    url = config["GEOCODER_BAN_URL" if provider == "ban" else "GEOCODER_NOMINATIM_URL"]
    key = (provider, url, config["GEOCODER_USER_AGENT"], config["GEOCODER_TIMEOUT"])
    with _clients_lock:
        if key not in _clients:
            parts = urlsplit(url)
            options: dict[str, Any] = {
                "domain": parts.netloc + parts.path.rstrip("/"),
                "scheme": parts.scheme or "https",
                "user_agent": config["GEOCODER_USER_AGENT"],
                "timeout": config["GEOCODER_TIMEOUT"],
                # No retries: a visitor waits for one attempt, then the gazetteer answers.
                "adapter_factory": functools.partial(RequestsAdapter, max_retries=0),
            }
            geocoder: Geocoder = BANFrance(**options) if provider == "ban" else Nominatim(**options)
            limiter = RateLimiter(
                _shared_slot if provider == "nominatim" else _call,
                min_delay_seconds=NOMINATIM_DELAY if provider == "nominatim" else 0.0,
                max_retries=0,
                swallow_exceptions=False,
            )
            _clients[key] = (geocoder, limiter)
        return _clients[key]


def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


class _Busy(Exception):
    """Every request slot of the service was taken while this one waited."""


def _shared_slot(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call in a slot shared by every process: a lock held for NOMINATIM_DELAY seconds.

    RateLimiter spaces the calls of one process; at scale (Redis) this spaces them all.
    """
    deadline = time.monotonic() + current_app.config["GEOCODER_TIMEOUT"]
    while not counters.try_lock("geocoding:slot:nominatim", NOMINATIM_DELAY):
        if time.monotonic() > deadline:
            raise _Busy
        time.sleep(0.05)
    return function(*args, **kwargs)


def _departement_of(code: str) -> str:
    """The département of an INSEE or postal code ("86194" -> "86", "97411" -> "974")."""
    return code[:3] if code.startswith("97") else code[:2]


def _placed(departement: str, lat: float, lon: float) -> tuple[str, str, str]:
    """(département, commune, INSEE code) of a point found by a service.

    The département the service named decides; the gazetteer names the commune when it agrees,
    and the département when the service named none.
    """
    place = gazetteer.commune_at(lat, lon)
    if place is not None and departement in ("", place.departement_code):
        return place.departement_code, place.name, place.code
    return departement, "", ""


def _from_ban(location: Location) -> GeoResult:
    properties = location.raw["properties"]
    citycode = str(properties.get("citycode") or "")
    code = citycode or str(properties.get("postcode") or "")
    departement, commune, commune_code = _placed(
        _departement_of(code) if code else "", location.latitude, location.longitude
    )
    return GeoResult(
        label=str(properties["label"]),
        lat=location.latitude,
        lon=location.longitude,
        commune=str(properties.get("city") or commune),
        departement_code=departement,
        source="ban",
        commune_code=citycode or commune_code,
    )


def _from_nominatim(location: Location) -> GeoResult:
    address = location.raw.get("address") or {}
    iso = str(address.get("ISO3166-2-lvl6") or "")  # "FR-86"
    departement = iso[3:] if iso.startswith("FR-") else ""
    if not departement and address.get("postcode"):
        departement = _departement_of(str(address["postcode"]))
    departement, commune, commune_code = _placed(departement, location.latitude, location.longitude)
    named = next(
        (address[k] for k in ("city", "town", "village", "municipality") if address.get(k)),
        commune,
    )
    return GeoResult(
        label=str(location.address),
        lat=location.latitude,
        lon=location.longitude,
        commune=str(named),
        departement_code=departement,
        source="nominatim",
        commune_code=commune_code,
    )


def _ask(provider: str, kind: str, argument: Any, limit: int) -> list[GeoResult]:
    """Results of the online service (raises on failure); a search keeps the region's only."""
    geocoder, limited = _client(provider)
    if kind == "reverse":
        if provider == "ban":
            answer = limited(geocoder.reverse, argument, exactly_one=False)
        else:
            answer = limited(geocoder.reverse, argument, exactly_one=False, zoom=18)
    elif provider == "ban":
        # Results outside the region are dropped afterwards: ask for a few more.
        answer = limited(geocoder.geocode, argument, exactly_one=False, limit=min(limit * 2, 20))
    else:
        answer = limited(
            geocoder.geocode,
            argument,
            exactly_one=False,
            limit=limit,
            addressdetails=True,
            country_codes="fr",
            viewbox=REGION_VIEWBOX,
            bounded=True,
        )
    parse = _from_ban if provider == "ban" else _from_nominatim
    results = [parse(location) for location in answer or []]
    if kind == "search":
        results = [r for r in results if r.departement_code in DEPARTEMENTS]
    return results[:limit]


def _online(
    provider: str, kind: str, argument: Any, cache_key: str, limit: int
) -> list[GeoResult] | None:
    """Cached answer of the online service, None when it failed (or failed a moment ago)."""
    name = f"geocoding:{provider}:{kind}:{limit}:{hashlib.sha256(cache_key.encode()).hexdigest()}"
    cached = cache.get(name)
    if cached is not None:
        return [GeoResult(**item) for item in cached]
    outage = f"geocoding:outage:{provider}"
    if counters.get(outage):
        return None
    try:
        results = _ask(provider, kind, argument, limit)
    except _Busy:
        logger.info("geocoder %s busy: the offline gazetteer answers", provider)
        return None
    except _BAD_ANSWER as error:
        counters.incr(outage, ttl=OUTAGE_PAUSE)
        logger.warning(
            "geocoder %s failed (%s: %s); the offline gazetteer answers for %s s",
            provider,
            type(error).__name__,
            error,
            OUTAGE_PAUSE,
        )
        return None
    cache.put(name, [dataclasses.asdict(result) for result in results], CACHE_TTL)
    return results


# The interface ---------------------------------------------------------------------------


def geocode(query: str, limit: int = 5) -> list[GeoResult]:
    """Places in Nouvelle-Aquitaine matching a submitted query (an address, a commune…)."""
    text = " ".join(query.split())[:200]
    normalised = gazetteer.normalise(text)
    provider = current_app.config["GEOCODER"]
    if not normalised or limit <= 0:
        return []
    if provider != "offline":
        results = _online(provider, "search", text, normalised, limit)
        if results:  # else the service is down, or found nothing here: the gazetteer may
            return results
    return _offline_search(text, limit)


def reverse(lat: float, lon: float) -> GeoResult | None:
    """The place at a point (an address or its commune), None outside Nouvelle-Aquitaine."""
    provider = current_app.config["GEOCODER"]
    if provider != "offline":
        # About 10 m: a tip placed twice on the same spot asks once.
        point = (round(lat, 4), round(lon, 4))
        results = _online(provider, "reverse", point, f"{point[0]},{point[1]}", 1)
        if results:  # no answer (no address near, or the service down): the gazetteer's
            found = results[0]
            return found if found.departement_code in DEPARTEMENTS else None
    return _offline_reverse(lat, lon)
