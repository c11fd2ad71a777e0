"""Socket.IO rooms of the media pipeline: editors follow an ingest job live."""

from __future__ import annotations

from flask_login import current_user

from core.accounts.models import Role
from core.db import db
from core.realtime import room_kind
from series.episodes.models import IngestJob


@room_kind("ingest")
def may_follow_ingest(job_id: int) -> bool:
    """Only editors follow ingest jobs (they name unreleased episodes)."""
    if not current_user.has_role(Role.EDITOR):
        return False
    return db.session.get(IngestJob, job_id) is not None
