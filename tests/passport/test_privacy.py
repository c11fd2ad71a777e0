"""The visitor's position is used once and never stored: after stamps accepted and refused, no
table of the database holds the coordinates that were sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask

from core.db import Base
from tests.support.clock import Clock

# Fixes with digits that no seeded place has (the Futuroscope is 46.6692, 0.3689).
# (place, lat, lon, accuracy, minutes since the previous fix, expected status)
FIXES = [
    ("futuroscope", 46.687319, 0.368561, 12.0, 0, 422),  # 2 km away: refused
    ("place-de-la-bourse", 44.841183, -0.569247, 3000.0, 0, 422),  # ± 3 km: refused
    ("futuroscope", 46.669437, 0.368561, 17.0, 0, 201),  # on site: accepted
    ("place-de-la-bourse", 44.841183, -0.569247, 9.0, 240, 201),  # accepted
    ("rocher-de-la-vierge", 43.484337, -1.570179, 9.0, 10, 422),  # 10 minutes later: refused
]


def carries(value: Any, numbers: set[float]) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return any(abs(float(value) - n) < 5e-5 for n in numbers)
    text = str(value)
    return any(f"{n:.4f}"[:-1] in text for n in numbers)


def test_no_table_holds_a_visitors_coordinates(
    app: Flask, db: Any, tourist: Callable[..., Any], places: dict[str, int], clock: Clock
):
    for slug, lat, lon, accuracy, minutes, expected in FIXES:
        clock.advance(minutes=minutes)
        response = tourist(places[slug], lat=lat, lon=lon, accuracy=accuracy)
        assert response.status_code == expected, response.get_json()
    sent = {n for _, lat, lon, *_ in FIXES for n in (lat, lon)}
    found = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)).mappings():
                found += [
                    f"{table.name}.{column}"
                    for column, value in row.items()
                    if carries(value, sent)
                ]
        stamps = db.session.execute(sa.text("SELECT COUNT(*) FROM stamps")).scalar()
    assert stamps == 2
    assert found == []
