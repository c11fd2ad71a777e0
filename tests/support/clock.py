"""A clock the test moves (the app's CLOCK setting)."""

from __future__ import annotations

import datetime as dt


class Clock:
    """The app's clock (CLOCK setting), moved by the test."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
