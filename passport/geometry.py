"""Distances between a position fix and a filming location (a point with a radius, or a
polygon), in metres.

Far from the site's edge the haversine formula is plenty (its error is a few metres per
kilometre); near the edge, where the answer decides a stamp, geopy's geodesic distance on the
WGS84 ellipsoid is used instead. Polygons are handled in a local equirectangular projection
around the fix, exact to well under a metre at the scale of a site (a few kilometres).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from geopy.distance import geodesic

EARTH_RADIUS_M = 6_371_008.8
#: Within this many metres of the edge (or 1 % of the distance), the geodesic decides.
BOUNDARY_MARGIN_M = 50.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere (cheap, within ~0.5 % of the geodesic)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the WGS84 ellipsoid (geopy, Karney's algorithm)."""
    return float(geodesic((lat1, lon1), (lat2, lon2)).meters)


def distance_to_point(lat: float, lon: float, centre: tuple[float, float], limit: float) -> float:
    """Distance from the fix to a centre: haversine, or the geodesic when near `limit`."""
    rough = haversine_m(lat, lon, *centre)
    if abs(rough - limit) <= BOUNDARY_MARGIN_M + 0.01 * rough:
        return geodesic_m(lat, lon, *centre)
    return rough


def _project(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    """Metres east and north of (lat0, lon0), locally flat."""
    x = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = math.radians(lat - lat0) * EARTH_RADIUS_M
    return x, y


def _inside(x: float, y: float, ring: Sequence[tuple[float, float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, [*ring[1:], ring[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _segment_distance(x: float, y: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
    return math.hypot(x - (ax + t * dx), y - (ay + t * dy))


def distance_to_polygon(lat: float, lon: float, polygon: Sequence[Sequence[float]]) -> float:
    """0 inside the outline, else the distance to its nearest edge."""
    ring = [_project(p[0], p[1], lat, lon) for p in polygon]
    if _inside(0.0, 0.0, ring):
        return 0.0
    return min(
        _segment_distance(0.0, 0.0, a, b) for a, b in zip(ring, [*ring[1:], ring[0]], strict=True)
    )
