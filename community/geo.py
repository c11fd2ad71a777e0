"""The grid of cells that near-me queries use, and the distances they are sorted by.

A tip stores the cell of its point: `cell = row * ROW + column`, rows being bands of latitude
CELL_DEG high and columns CELL_DEG wide. The cells of one row are consecutive numbers, so the
part of a circle that lies in a row is one range of cells: a query reads one index range per
row crossed (10 for 5 km, 184 for 100 km) instead of one lookup per cell (117 and 37,000).
The grid does not wrap around the antimeridian (the platform's tips are all in France).

Small cells (about 1.1 km by 0.8 km here) keep what a query reads close to the circle itself,
which matters in a city centre where thousands of tips share a few square kilometres.

Sorting uses a local flat metric computed in SQL on the indexed columns (plain arithmetic, no
extension on either backend), then the geodesic distance on the WGS84 ellipsoid for the few
rows returned. The flat metric takes its scale at the middle latitude of the two points (to
first order), which keeps its error under 0.01 % up to 150 km in Nouvelle-Aquitaine (0.4 % at
85° of latitude; tests/community/test_search.py): the search relies on a bound of that error,
APPROX_ERROR, never on the flat order being exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geographiclib.geodesic import Geodesic

#: Cell height and width in degrees (about 1.1 km north-south, 0.8 km east-west at 45° N).
CELL_DEG = 0.01
#: Cells per row: every longitude.
ROW = round(360 / CELL_DEG)
#: Largest relative error of the flat metric against the geodesic, with a wide margin
#: (measured: 5e-5 at 47° N, 4e-3 at 85°, up to 150 km).
APPROX_ERROR = 0.01
#: Near-me queries are refused closer to a pole (meridians converge, a box no longer works).
MAX_ABS_LAT = 85.0

_WGS84 = Geodesic.WGS84
_A = _WGS84.a
_E2 = _WGS84.f * (2 - _WGS84.f)


def _row(lat: float) -> int:
    return math.floor((lat + 90) / CELL_DEG)


def _column(lon: float) -> int:
    # lon = 180 would start the next row: it belongs to the last column.
    return min(math.floor((lon + 180) / CELL_DEG), ROW - 1)


def cell_of(lat: float, lon: float) -> int:
    """The cell holding a point."""
    return _row(lat) * ROW + _column(lon)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS84 ellipsoid (Karney's algorithm, as geopy's geodesic)."""
    return float(_WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"])


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of latitude (north) and of longitude (east) at a latitude."""
    phi = math.radians(lat)
    w = 1 - _E2 * math.sin(phi) ** 2
    north = _A * (1 - _E2) / w**1.5
    east = _A * math.cos(phi) / math.sqrt(w)
    return math.radians(north), math.radians(east)


@dataclass(frozen=True)
class FlatMetric:
    """Squared distance in m² from (lat0, lon0), flat, scaled at the middle latitude:

    dy = (lat - lat0) * (ky + ky_slope * (lat - lat0))
    dx = (lon - lon0) * (kx + kx_slope * (lat - lat0))

    Only products and sums: the same expression runs in Python and in SQL.
    """

    lat0: float
    lon0: float
    ky: float
    ky_slope: float
    kx: float
    kx_slope: float

    @classmethod
    def around(cls, lat0: float, lon0: float) -> FlatMetric:
        step = 0.01
        ky, kx = metres_per_degree(lat0)
        ky_up, kx_up = metres_per_degree(lat0 + step)
        ky_down, kx_down = metres_per_degree(lat0 - step)
        # Half the derivative: the scale is taken halfway between the two points.
        return cls(
            lat0,
            lon0,
            ky,
            (ky_up - ky_down) / (4 * step),
            kx,
            (kx_up - kx_down) / (4 * step),
        )

    def squared(self, lat: float, lon: float) -> float:
        dlat = lat - self.lat0
        dy = dlat * (self.ky + self.ky_slope * dlat)
        dx = (lon - self.lon0) * (self.kx + self.kx_slope * dlat)
        return dx * dx + dy * dy


@dataclass(frozen=True)
class Disc:
    """What a query reads for a circle: a bounding box, and per row the range of cells that
    the circle crosses (both contain every point within `radius_m`, with a margin)."""

    south: float
    north: float
    west: float
    east: float
    cell_ranges: list[tuple[int, int]]


def disc(lat0: float, lon0: float, radius_m: float) -> Disc:
    """The box and the cells covering the circle of `radius_m` around a point."""
    reach = radius_m * (1 + APPROX_ERROR) + 1.0
    ky_min = metres_per_degree(0.0)[0]  # the shortest degree of latitude, at the equator
    dlat = reach / ky_min
    south, north = max(lat0 - dlat, -90.0), min(lat0 + dlat, 90.0)
    farthest = max(abs(south), abs(north))
    kx_min = metres_per_degree(farthest)[1]
    dlon = min(reach / kx_min, 180.0)
    west, east = max(lon0 - dlon, -180.0), min(lon0 + dlon, 180.0)
    ranges = []
    for row in range(_row(south), _row(north) + 1):
        band_south = row * CELL_DEG - 90
        band_north = band_south + CELL_DEG
        gap = max(band_south - lat0, lat0 - band_north, 0.0) * ky_min
        if gap > reach:
            continue
        # The widest the circle gets in this band, in degrees of longitude where they are
        # shortest (the band's edge farthest from the equator, or the centre's latitude).
        edge = max(abs(band_south), abs(band_north))
        kx = min(metres_per_degree(min(edge, 90.0))[1], metres_per_degree(lat0)[1])
        half = math.sqrt(reach * reach - gap * gap) / max(kx, 1e-9)
        first = _column(max(lon0 - half, west))
        last = _column(min(lon0 + half, east))
        ranges.append((row * ROW + first, row * ROW + last))
    return Disc(south, north, west, east, ranges)
