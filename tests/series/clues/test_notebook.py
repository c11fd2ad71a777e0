"""The notebook: found clues with their frame and notes, achievements, a spoiler-free share."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from markupsafe import escape

from series.clues.models import ClueFind
from series.episodes import services as media_services
from series.episodes.hotspots import create_hotspot
from series.episodes.media import make_test_source
from series.episodes.models import IngestState
from series.models import Episode
from tests.conftest import csrf_token
from tests.series.clues.conftest import Demo, centre


def click(client, demo: Demo, episode: int, index: int, headers=None, t=None) -> dict:
    clue = demo.clue(episode, index)
    t = (clue["start"] + clue["end"]) / 2 if t is None else t
    x, y = centre(clue, t)
    headers = headers or {"X-CSRFToken": csrf_token(client)}
    return client.post(
        f"/api/v1/episodes/{demo.episodes[episode]}/clue-claims",
        json={"t": t, "x": x, "y": y},
        headers=headers,
    ).get_json()


@pytest.fixture
def signed_in(client, auth, make_user):
    make_user("hugo@example.org", display_name="Hugo")
    auth.login("hugo@example.org")
    return client


def test_the_notebook_lists_finds_by_episode_with_notes(app: Flask, db, signed_in, demo: Demo):
    client = signed_in
    click(client, demo, 1, 0)
    click(client, demo, 2, 1)
    page = client.get("/enquete/carnet")
    assert page.headers["Cache-Control"] == "private, no-store"
    html = page.get_data(as_text=True)
    for episode, index in ((1, 0), (2, 1)):
        assert str(escape(demo.clue(episode, index)["data"]["title"])) in html
        assert str(escape(demo.clue(episode, index)["data"]["text"])) in html
    assert demo.clue(1, 1)["data"]["title"] not in html  # not found: not shown
    assert "premier à le trouver" in html
    assert "#t=8.0" in html  # back to the moment of the find
    with app.app_context():
        find_id = db.session.scalar(sa.select(ClueFind.id).order_by(ClueFind.id))
    saved = client.post(
        f"/enquete/carnet/{find_id}/note",
        data={"csrf_token": csrf_token(client, "/enquete/carnet"), "note": "Nocturne : qui ?"},
    )
    assert saved.status_code == 302
    assert "Nocturne : qui ?" in client.get("/enquete/carnet").get_data(as_text=True)
    too_long = client.post(
        f"/enquete/carnet/{find_id}/note",
        data={"csrf_token": csrf_token(client, "/enquete/carnet"), "note": "x" * 2001},
    )
    assert too_long.status_code == 422
    # Nobody else can write in it.
    other = app.test_client()
    refused = other.post(
        f"/enquete/carnet/{find_id}/note",
        data={"csrf_token": csrf_token(other), "note": "vandale"},
    )
    assert refused.status_code == 404


def test_achievements(app: Flask, db, signed_in, demo: Demo):
    client = signed_in
    click(client, demo, 1, 0, t=demo.clue(1)["start"] + 1)  # first finder, within 2 s
    html = client.get("/enquete/carnet").get_data(as_text=True)
    assert "Premier sur la piste" in html
    assert "Œil de lynx" in html
    assert "Épisode bouclé" not in html
    click(client, demo, 1, 1)
    assert "Épisode bouclé" in client.get("/enquete/carnet").get_data(as_text=True)


def test_the_shared_notebook_shows_totals_without_spoilers(app: Flask, db, signed_in, demo):
    client = signed_in
    click(client, demo, 1, 0)
    token = csrf_token(client, "/enquete/carnet")
    client.post("/enquete/carnet/reglages", data={"action": "share", "csrf_token": token})
    html = client.get("/enquete/carnet").get_data(as_text=True)
    link = re.search(r'href="http://localhost/carnet/([A-Za-z0-9_-]+)"', html)[1]
    shared = app.test_client().get(f"/carnet/{link}")
    assert shared.status_code == 200
    text = shared.get_data(as_text=True)
    assert "Hugo" in text
    assert "1 / 2" in text  # one clue of two in episode 1
    clue = demo.clue(1)
    assert clue["data"]["title"] not in text
    assert clue["data"]["text"] not in text
    assert "image.jpg" not in text
    client.post("/enquete/carnet/reglages", data={"action": "unshare", "csrf_token": token})
    assert app.test_client().get(f"/carnet/{link}").status_code == 404
    assert app.test_client().get("/carnet/nope").status_code == 404


def test_the_frame_of_a_find_is_a_still_of_the_episode(
    app: Flask, db, signed_in, pilot, tmp_path: Path
):
    """With media ingested, the notebook shows the frame where the clue was found."""
    source = make_test_source(tmp_path / "source.mp4", 4, 320, 180)
    with app.app_context():
        episode = db.session.get(Episode, pilot[3])
        staged = media_services.staging_dir() / f"{uuid.uuid4().hex}.mp4"
        shutil.copyfile(source, staged)
        job = media_services.start_ingest(db.session, episode, staged, source.name)
        db.session.commit()
        media_services.run_ingest(job.id)
        db.session.refresh(job)
        assert job.state is IngestState.DONE
        clue = create_hotspot(
            db.session,
            episode,
            {
                "kind": "clue",
                "start": 1.0,
                "end": 3.0,
                "label": "Le coin",
                "keyframes": [{"t": 1.0, "x": 10, "y": 10, "w": 20, "h": 20}],
                "data": {"title": "Une ombre", "text": "Quelqu'un passe.", "points": 50},
            },
        )
        db.session.commit()
        clue_id = clue.id
    client = signed_in
    body = client.post(
        f"/api/v1/episodes/{pilot[3]}/clue-claims",
        json={"t": 2.0, "x": 20, "y": 20},
        headers={"X-CSRFToken": csrf_token(client)},
    ).get_json()
    assert body["found"]
    assert body["clue"]["id"] == clue_id
    with app.app_context():
        find_id = db.session.scalar(sa.select(ClueFind.id).where(ClueFind.hotspot_id == clue_id))
    frame = client.get(f"/enquete/trouvailles/{find_id}/image.jpg")
    assert frame.status_code == 200
    assert frame.mimetype == "image/jpeg"
    assert frame.data[:3] == b"\xff\xd8\xff"  # a JPEG
    frame.close()
    assert app.test_client().get(f"/enquete/trouvailles/{find_id}/image.jpg").status_code == 404
