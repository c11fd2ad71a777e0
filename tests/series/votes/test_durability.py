"""An acknowledged vote is never lost: the server is killed (SIGKILL) the moment it answers,
and every vote it acknowledged is in the database (on the run's backend)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import socketio

from tests.support.live import live_environment

pytestmark = pytest.mark.live

VOTERS = 12

SETUP = """
import datetime as dt, json
from core.app import create_app
from core.db import db
from core.accounts.services import create_user, issue_api_token
from series.votes import services
from series.votes.models import PollScope
app = create_app()
with app.app_context():
    tokens = []
    for i in range({n}):
        user = create_user(db.session, f"durable-{{i}}@example.org", None, display_name=f"V{{i}}")
        db.session.flush()
        tokens.append(issue_api_token(db.session, user, "test")[1])
    now = dt.datetime.now(dt.UTC)
    poll = services.create_poll(
        db.session, question="Q", options=["A", "B"], scope=PollScope.SITE,
        opens_at=now - dt.timedelta(seconds=1), closes_at=now + dt.timedelta(hours=1),
    )
    db.session.commit()
    options = [o.id for o in poll.options]
    print(json.dumps({{"poll": poll.id, "options": options, "tokens": tokens}}))
"""

COUNT = """
import json
import sqlalchemy as sa
from core.app import create_app
from core.db import db
from series.votes.models import Ballot
app = create_app()
with app.app_context():
    rows = db.session.execute(sa.select(Ballot.user_id, Ballot.key).where(Ballot.poll_id == {poll}))
    print(json.dumps(sorted(key for _user, key in rows)))
"""


def test_votes_acknowledged_just_before_the_server_is_killed_are_kept(tmp_path: Path):
    with live_environment(
        tmp_path, os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL")
    ) as live:
        setup = json.loads(live.experts_python(SETUP.format(n=VOTERS)).stdout.splitlines()[-1])
        url = live.serve()
        server = live.processes[-1]
        clients, acknowledged = [], []
        for token in setup["tokens"]:
            client = socketio.Client(reconnection=False)
            client.connect(url, auth={"token": token}, transports=["websocket"])
            clients.append(client)
        try:
            for index, client in enumerate(clients):
                key = str(uuid.uuid4())
                option = setup["options"][index % 2]
                ack = client.call("vote", {"poll": setup["poll"], "option": option, "key": key})
                assert ack["status"] == 201, ack
                acknowledged.append(key)
                if index == VOTERS - 1:
                    server.kill()  # SIGKILL the moment the last vote is acknowledged
                    server.wait()
        finally:
            for client in clients:
                client.disconnect()
        kept = json.loads(
            live.experts_python(COUNT.format(poll=setup["poll"])).stdout.splitlines()[-1]
        )
        assert kept == sorted(acknowledged)
