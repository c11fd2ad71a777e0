"""The current time; tests pin it with the CLOCK setting."""

from __future__ import annotations

import datetime as dt

from flask import current_app, has_app_context

from core.db import utcnow


def now() -> dt.datetime:
    """Timezone-aware current time (config CLOCK overrides it)."""
    if has_app_context():
        clock = current_app.config.get("CLOCK")
        if clock is not None:
            return clock()
    return utcnow()
