"""At scale, nginx sends media bytes after the application's release check."""

from __future__ import annotations

import pytest

from series.episodes.models import EpisodeMedia


@pytest.fixture
def app_config(app_config):
    app_config["MEDIA_ACCEL_PREFIX"] = "/protected-media/"
    return app_config


def _media(db, episode_id: int) -> EpisodeMedia:
    media = EpisodeMedia(
        episode_id=episode_id,
        directory=f"episodes/{episode_id}/tok123",
        duration_s=10,
        width=640,
        height=360,
        has_audio=True,
        renditions=[{"name": "360p"}],
        mp4_name="360p",
        scenes=[],
    )
    db.session.add(media)
    db.session.commit()
    return media


def test_released_media_is_handed_to_nginx(client, db, pilot, app):
    with app.app_context():
        _media(db, pilot[1])
    response = client.get(f"/media/episodes/{pilot[1]}/tok123/hls/master.m3u8")
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == (
        f"/protected-media/episodes/{pilot[1]}/tok123/hls/master.m3u8"
    )
    assert response.mimetype == "application/vnd.apple.mpegurl"
    assert response.get_data() == b""


def test_unreleased_media_is_refused_before_nginx_sees_it(client, db, pilot, app):
    with app.app_context():
        _media(db, pilot[6])
    response = client.get(f"/media/episodes/{pilot[6]}/tok123/hls/master.m3u8")
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response.headers


def test_parent_paths_never_reach_nginx(client, db, pilot, app):
    with app.app_context():
        _media(db, pilot[1])
    response = client.get(f"/media/episodes/{pilot[1]}/tok123/hls/../../../secret.mp4")
    assert response.status_code == 404
