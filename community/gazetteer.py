"""The offline gazetteer: the communes of Nouvelle-Aquitaine, searched by name or postal code,
and the commune nearest a point.

Its data, community/data/communes-na.json, is built at set-up from published data sets
(`python -m community.build_gazetteer`, run by scripts/setup). It is read once, on first use,
and never changes afterwards, so every thread can share it.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "communes-na.json"

#: Grid cells in degrees of latitude; longitudes are scaled by cos(46°) to be comparable.
CELL = 0.1
LON_SCALE = math.cos(math.radians(46.0))
EARTH_KM = 6371.0
#: A point farther than this from every commune's centre is not "at" any of them.
MAX_COMMUNE_KM = 20.0

_SPELLED_OUT = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_NOT_WORD = re.compile(r"[^a-z0-9]+")


class GazetteerMissing(RuntimeError):
    """The data file was not built: scripts/setup builds it."""


@dataclass(frozen=True, slots=True)
class Place:
    """A commune: its official name and codes, population and centre (its town hall)."""

    code: str  # INSEE code ("86194")
    name: str
    departement_code: str
    postcodes: tuple[str, ...]
    population: int | None
    lat: float
    lon: float

    @property
    def label(self) -> str:
        """The name with the département, telling homonyms apart: "Saint-Aubin (40)"."""
        return f"{self.name} ({self.departement_code})"


def words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation, "St"/"Ste" spelled out."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("œ", "oe").replace("æ", "ae"))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return [_SPELLED_OUT.get(w, w) for w in _NOT_WORD.split(plain) if w]


def normalise(text: str) -> str:
    """The comparable form of a name or query: "St-Émilion" -> "saint emilion"."""
    return " ".join(words(text))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


class _Grid:
    """Points bucketed by cell, for nearest-point queries that read a few cells only."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        self.points = points
        self.cells: dict[tuple[int, int], list[int]] = {}
        for index, (lat, lon) in enumerate(points):
            self.cells.setdefault(self._cell(lat, lon), []).append(index)
        rows = [row for row, _ in self.cells] or [0]
        columns = [column for _, column in self.cells] or [0]
        self.extent = (min(rows), max(rows), min(columns), max(columns))

    @staticmethod
    def _cell(lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / CELL), math.floor(lon * LON_SCALE / CELL)

    def _gap(self, index: int, lat: float, lon: float) -> float:
        """Distance in the grid's plane (degrees of latitude)."""
        plat, plon = self.points[index]
        return math.hypot(plat - lat, (plon - lon) * LON_SCALE)

    def nearest(self, lat: float, lon: float) -> int | None:
        """Index of the nearest point (None when there are no points)."""
        row, column = self._cell(lat, lon)
        low_row, high_row, low_column, high_column = self.extent
        reach = max(row - low_row, high_row - row, column - low_column, high_column - column)
        if reach > 40:  # far outside the region: fewer steps to look at every point
            candidates = range(len(self.points))
            return min(candidates, key=lambda i: self._gap(i, lat, lon), default=None)
        best, best_gap = None, math.inf
        for ring in range(reach + 1):
            # Points in this ring and beyond are at least (ring - 1) cells away.
            if best is not None and best_gap <= (ring - 1) * CELL:
                break
            for cell in _ring(row, column, ring):
                for index in self.cells.get(cell, ()):
                    gap = self._gap(index, lat, lon)
                    if gap < best_gap:
                        best, best_gap = index, gap
        return best


def _ring(row: int, column: int, ring: int) -> list[tuple[int, int]]:
    """The cells at Chebyshev distance ring from (row, column)."""
    if ring == 0:
        return [(row, column)]
    cells = [(row + dr, column + dc) for dr in (-ring, ring) for dc in range(-ring, ring + 1)]
    cells += [(row + dr, column + dc) for dc in (-ring, ring) for dr in range(1 - ring, ring)]
    return cells


class _Gazetteer:
    """The loaded data and its indexes."""

    def __init__(self, document: dict) -> None:
        self.places = [
            Place(code, name, departement, tuple(postcodes), population, lat, lon)
            for code, name, departement, postcodes, population, lat, lon in document["communes"]
        ]
        self.index_of = {place.code: index for index, place in enumerate(self.places)}
        self.names = [normalise(place.name) for place in self.places]
        postings: dict[str, set[int]] = {}
        for index, name in enumerate(self.names):
            for word in name.split():
                postings.setdefault(word, set()).add(index)
        #: Sorted distinct words of the names, for prefix look-ups by bisection.
        self.words = sorted(postings)
        self.postings = [postings[word] for word in self.words]
        #: (postal code, place) pairs sorted, for prefix look-ups by bisection.
        self.postcodes = sorted(
            (postcode, index)
            for index, place in enumerate(self.places)
            for postcode in place.postcodes
        )
        self.grid = _Grid([(place.lat, place.lon) for place in self.places])
        outside = [
            (flat[i], flat[i + 1])
            for flat in document["neighbours"].values()
            for i in range(0, len(flat), 2)
        ]
        self.outside = _Grid(outside)

    def starting_with(self, prefix: str) -> set[int]:
        """Places with a word of their name starting with prefix."""
        start = bisect.bisect_left(self.words, prefix)
        end = bisect.bisect_left(self.words, prefix + "\uffff")
        found: set[int] = set()
        for posting in self.postings[start:end]:
            found |= posting
        return found

    def numbered(self, number: str) -> set[int]:
        """Places with a postal code starting with number, or this INSEE or département code."""
        start = bisect.bisect_left(self.postcodes, (number,))
        end = bisect.bisect_left(self.postcodes, (number + "\uffff",))
        found = {index for _, index in self.postcodes[start:end]}
        if number in self.index_of:
            found.add(self.index_of[number])
        if len(number) == 2:
            found |= {i for i, place in enumerate(self.places) if place.departement_code == number}
        return found


_loaded: _Gazetteer | None = None
_load_lock = threading.Lock()


def _gazetteer() -> _Gazetteer:
    global _loaded
    if _loaded is None:
        with _load_lock:
            if _loaded is None:
                try:
                    document = json.loads(DATA_FILE.read_text(encoding="utf-8"))
                except FileNotFoundError:
                    raise GazetteerMissing(
                        f"{DATA_FILE} is missing: scripts/setup builds it"
                    ) from None
                _loaded = _Gazetteer(document)
    return _loaded


def places() -> list[Place]:
    """Every commune of the region, by INSEE code."""
    return list(_gazetteer().places)


def get(code: str) -> Place | None:
    """The commune with this INSEE code."""
    g = _gazetteer()
    return g.places[g.index_of[code]] if code in g.index_of else None


def search(query: str, limit: int = 10) -> list[Place]:
    """Communes matching a query, best first.

    Each word of the query starts a word of the name, in any order ("st emil" finds
    Saint-Émilion); numbers match postal codes ("86000", "860"), INSEE or département codes.
    An exact name comes first, then names starting with the query, then the most populated.
    """
    g = _gazetteer()
    terms = words(query)
    numbers = [t for t in terms if t.isdigit()]
    text = [t for t in terms if not t.isdigit()]
    if not terms or limit <= 0:
        return []
    found = g.starting_with(text[0]) if text else g.numbered(numbers[0])
    for term in text[1:]:
        found &= g.starting_with(term)
    for number in numbers:
        found &= g.numbered(number)
    wanted = " ".join(text)

    def rank(index: int) -> tuple[int, int, int, str]:
        place, name = g.places[index], g.names[index]
        exact = name == wanted if text else any(n in place.postcodes for n in numbers)
        return (
            0 if exact else 1,
            0 if name.startswith(wanted) else 1,
            -(place.population or 0),
            name,
        )

    return [g.places[i] for i in sorted(found, key=rank)[:limit]]


def nearest(lat: float, lon: float) -> Place:
    """The commune of the region whose centre is nearest the point (for "Près de …")."""
    g = _gazetteer()
    index = g.grid.nearest(lat, lon)
    assert index is not None, "the gazetteer has no commune"
    return g.places[index]


def commune_at(lat: float, lon: float) -> Place | None:
    """The commune a point is in, approximately: the nearest centre, or None when a commune of
    a neighbouring département is nearer (the point is across the border) or when no
    centre is within MAX_COMMUNE_KM (out at sea, abroad)."""
    g = _gazetteer()
    place = nearest(lat, lon)
    across = g.outside.nearest(lat, lon)
    if across is not None:
        olat, olon = g.outside.points[across]
        if distance_km(lat, lon, olat, olon) < distance_km(lat, lon, place.lat, place.lon):
            return None
    if distance_km(lat, lon, place.lat, place.lon) > MAX_COMMUNE_KM:
        return None
    return place
