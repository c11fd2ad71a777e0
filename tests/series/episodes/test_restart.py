"""A job interrupted by a restart is retried by the next server, never stuck silently."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.support.live import live_environment

pytestmark = pytest.mark.live

SETUP = """
import datetime as dt, json, sys
from core.app import create_app
from core.db import db, utcnow
from series.episodes import services
from series.episodes.media import make_test_source
from series.episodes.models import IngestJob, IngestState
app = create_app()
with app.app_context():
    episode = services.get_episode(db.session, 1, 1)
    staged = services.staging_dir() / "interrupted.mp4"
    make_test_source(staged, 3, 320, 180)
    job = services.start_ingest(db.session, episode, staged, "interrupted.mp4")
    # As a server killed mid-transcode leaves it: running, one attempt, silent for 5 minutes.
    job.state = IngestState.RUNNING
    job.attempts = 1
    job.heartbeat_at = utcnow() - dt.timedelta(minutes=5)
    db.session.commit()
    print(json.dumps({"job": job.id}))
"""

STATE = """
import json
from core.app import create_app
from core.db import db
from series.episodes.models import IngestJob
app = create_app()
with app.app_context():
    job = db.session.get(IngestJob, {job_id})
    print(json.dumps({{"state": job.state.value, "attempts": job.attempts}}))
"""


def test_a_job_left_running_by_a_dead_server_is_retried_at_start(tmp_path):
    with live_environment(tmp_path, None, os.environ.get("DATABASE_URL")) as live:
        created = live.experts_python(SETUP)
        job_id = json.loads(created.stdout.strip().splitlines()[-1])["job"]
        live.serve()  # embedded default: the job thread lives in the server process
        deadline = time.monotonic() + 60
        state: dict[str, object] = {}
        while time.monotonic() < deadline:
            out = live.experts_python(STATE.format(job_id=job_id)).stdout
            state = json.loads(out.strip().splitlines()[-1])
            if state["state"] in ("done", "failed"):
                break
            time.sleep(1)
        assert state == {"state": "done", "attempts": 2}
