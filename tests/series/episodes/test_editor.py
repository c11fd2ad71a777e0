"""The editor area: access, release schedule, masters (resumable and plain), jobs, tracks."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from core.accounts.models import Role
from series.episodes import services
from series.episodes.media import make_test_source
from series.episodes.models import EpisodeMedia, IngestJob, IngestState, Track
from series.models import Episode, Season
from tests.conftest import csrf_token
from tests.series.episodes.test_uploads import Tus
from tests.support.media_corpus import bad_inputs as shared_bad_inputs

PARIS = ZoneInfo("Europe/Paris")
VTT = b"WEBVTT\n\n00:00.000 --> 00:02.000\nBonjour, inspectrice.\n"
SRT = b"1\n00:00:00,000 --> 00:00:02,000\nBonjour, inspectrice.\n"


@pytest.fixture(scope="module")
def small_source(tmp_path_factory) -> Path:
    """A 3 s 320x180 clip with sound."""
    return make_test_source(tmp_path_factory.mktemp("src") / "small.mp4", 3, 320, 180)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """The bad-input corpus: reason code -> (file name sent, bytes)."""
    corpus = shared_bad_inputs(tmp_path_factory.mktemp("bad"))
    return {code: (path.name, path.read_bytes()) for code, path in corpus.items()}


@pytest.fixture
def editor(auth, make_user) -> Any:
    user = make_user(role="editor")
    auth.login(user.email)
    return user


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Jobs handed to the queue (recorded instead of run in a thread beside the test)."""
    ids: list[int] = []
    monkeypatch.setattr(services, "enqueue_ingest", lambda job: ids.append(job.id))
    return ids


def staging_files(app) -> list[Path]:
    root = Path(app.config["MEDIA_ROOT"]) / "staging"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def job_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(IngestJob))


def post_ingest(client, episode_id: int, upload_id: str, token: str, **kwargs: Any) -> Any:
    return client.post(
        f"/api/v1/episodes/{episode_id}/ingest",
        json={"upload": upload_id},
        headers={"X-CSRFToken": token},
        **kwargs,
    )


# ------------------------------------------------------------------ access


@pytest.mark.parametrize("path", ["/edition", "/edition/saisons/1", "/edition/episodes/{ep}"])
def test_only_editors_see_the_editor_pages(client, auth, make_user, pilot, path):
    url = path.format(ep=pilot[1])
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/connexion?next=")
    auth.login(make_user(role="viewer").email)
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login(make_user(role="editor").email)
    page = client.get(url)
    assert page.status_code == 200
    assert "css/editor.css" in page.get_data(as_text=True)


def test_admins_are_editors_too(client, auth, make_user, pilot):
    auth.login(make_user(role=Role.ADMIN.value).email)
    assert client.get("/edition").status_code == 200


def test_the_overview_shows_states_media_and_latest_job(client, editor, pilot, db, app):
    with app.app_context():
        db.session.add(
            IngestJob(
                episode_id=pilot[2],
                source_path="/x",
                original_name="m.mp4",
                state=IngestState.FAILED,
                error_code="too_long",
            )
        )
        db.session.add(
            EpisodeMedia(
                episode_id=pilot[1],
                directory="episodes/1/tok",
                duration_s=605.0,
                width=1920,
                height=1080,
                has_audio=True,
                renditions=[],
                mp4_name="720p",
            )
        )
        db.session.commit()
    html = client.get("/edition").get_data(as_text=True)
    assert html.count("Publié") >= 3
    assert html.count("Programmé") >= 3
    assert "Oui (10:05)" in html
    assert "Échec" in html
    assert "<caption" in html
    assert 'scope="col"' in html
    assert "Saison 12" in html


# ------------------------------------------------------------------ schedule


def test_a_premiere_schedules_six_weekly_episodes_at_the_same_paris_time(
    client, editor, pilot, db, app
):
    token = csrf_token(client, "/edition/saisons/1")
    # Paris changes to summer time on 29 March 2026: 18:00 must stay 18:00.
    response = client.post(
        "/edition/saisons/1", data={"premiere": "2026-03-18T18:00", "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        season = db.session.scalar(sa.select(Season).where(Season.number == 1))
        releases = [e.publish_at.astimezone(PARIS) for e in season.episodes]
        assert season.premiere_at == dt.datetime(2026, 3, 18, 17, 0, tzinfo=dt.UTC)
    assert len(releases) == 6
    assert [r.date() for r in releases] == [
        dt.date(2026, 3, 18) + dt.timedelta(weeks=k) for k in range(6)
    ]
    assert {(r.hour, r.minute) for r in releases} == {(18, 0)}
    assert releases[0].utcoffset() != releases[-1].utcoffset()  # across the clock change
    page = client.get("/edition/saisons/1").get_data(as_text=True)
    assert 'value="2026-03-18T18:00"' in page
    assert "programmée" in page


def test_an_invalid_premiere_is_refused_with_a_message(client, editor, pilot):
    token = csrf_token(client, "/edition/saisons/1")
    response = client.post("/edition/saisons/1", data={"premiere": "demain", "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Date et heure invalides." in html
    assert "error-summary" in html


def test_moving_one_episode_leaves_the_others(client, editor, pilot, db, app):
    with app.app_context():
        before = {n: db.session.get(Episode, i).publish_at for n, i in pilot.items()}
    token = csrf_token(client, "/edition/saisons/1")
    ep = pilot[5]
    response = client.post(
        f"/edition/episodes/{ep}/programmation",
        data={f"ep{ep}-publish_at": "2031-07-14T21:30", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/edition/saisons/1#episode-{ep}")
    with app.app_context():
        moved = db.session.get(Episode, ep)
        assert moved.publish_at.astimezone(PARIS) == dt.datetime(2031, 7, 14, 21, 30, tzinfo=PARIS)
        for number, ident in pilot.items():
            if ident != ep:
                assert db.session.get(Episode, ident).publish_at == before[number]
    # An empty date unschedules the episode.
    client.post(
        f"/edition/episodes/{ep}/programmation",
        data={f"ep{ep}-publish_at": "", "csrf_token": token},
    )
    with app.app_context():
        assert db.session.get(Episode, ep).publish_at is None
    assert "Non programmé" in client.get("/edition/saisons/1").get_data(as_text=True)


def test_a_secret_title_is_hidden_from_the_public_season_page(client, app, editor, pilot, db):
    with app.app_context():
        title = db.session.get(Episode, pilot[5]).title
        publish = db.session.get(Episode, pilot[5]).publish_at
    local = publish.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")
    public = app.test_client()
    assert title in public.get("/saisons/1").get_data(as_text=True)

    token = csrf_token(client, "/edition/saisons/1")
    form = {f"ep{pilot[5]}-publish_at": local, "csrf_token": token}
    client.post(
        f"/edition/episodes/{pilot[5]}/programmation",
        data={**form, f"ep{pilot[5]}-title_secret": "y"},
    )
    assert title not in public.get("/saisons/1").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Episode, pilot[5]).publish_at == publish

    client.post(f"/edition/episodes/{pilot[5]}/programmation", data=form)  # box unticked
    assert title in public.get("/saisons/1").get_data(as_text=True)


# ------------------------------------------------------------------ ingest from an upload


def test_a_finished_upload_starts_an_ingest_job(
    client, editor, pilot, db, app, small_source, queued
):
    tus = Tus(client)
    upload_id = tus.send(small_source.read_bytes(), "Pilote master.mp4", chunk=50_000)
    response = post_ingest(client, pilot[2], upload_id, tus.token)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()["job"]
    assert job["state"] == "queued"
    assert job["episode"] == pilot[2]
    assert job["original_name"] == "Pilote master.mp4"
    assert queued == [job["id"]]
    assert response.headers["Location"] == f"/api/v1/ingest-jobs/{job['id']}"
    # The upload was used: the protocol answers 410 from now on.
    assert tus.head(f"/api/v1/uploads/{upload_id}").status_code == 410
    assert post_ingest(client, pilot[2], upload_id, tus.token).status_code == 410

    # What the queue would do: the job publishes the media and empties the staging folder.
    with app.app_context():
        services.run_ingest(job["id"])
    state = client.get(f"/api/v1/ingest-jobs/{job['id']}").get_json()
    assert state["state"] == "done"
    assert state["progress"] == 1.0
    assert [p.suffix for p in staging_files(app)] == [".json"]  # the upload's tombstone only
    page = client.get(f"/edition/episodes/{pilot[2]}").get_data(as_text=True)
    assert "Terminé" in page
    assert "180p" in page
    assert "0:03" in page


@pytest.mark.parametrize("reason", ["empty_file", "not_a_video", "not_a_video:image", "audio_only"])
def test_bad_masters_are_refused_with_their_reason_and_leave_nothing(
    client, editor, pilot, db, app, bad_inputs, queued, reason
):
    name, data = bad_inputs[reason]
    tus = Tus(client)
    upload_id = tus.send(data, name)
    response = post_ingest(client, pilot[1], upload_id, tus.token)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == reason.split(":")[0]
    assert body["message"]
    assert staging_files(app) == []
    assert job_count(db) == 0
    assert queued == []
    assert tus.head(f"/api/v1/uploads/{upload_id}").status_code == 404


def test_a_master_too_long_is_refused(client, editor, pilot, db, app, small_source, queued):
    app.config["MEDIA_MAX_DURATION"] = 2.0
    tus = Tus(client)
    upload_id = tus.send(small_source.read_bytes())
    response = post_ingest(client, pilot[1], upload_id, tus.token)
    assert response.status_code == 422
    assert response.get_json()["error"] == "too_long"
    assert "0:00:03" in response.get_json()["message"]
    assert staging_files(app) == []
    assert job_count(db) == 0


def test_the_refusal_speaks_the_editors_language(client, editor, pilot, bad_inputs, queued):
    tus = Tus(client)
    french = post_ingest(client, pilot[1], tus.send(b"", "a.mp4"), tus.token)
    assert french.get_json()["message"] == "Le fichier est vide."
    english = post_ingest(
        client, pilot[1], tus.send(b"", "a.mp4"), tus.token, query_string={"lang": "en"}
    )
    assert english.get_json()["message"] == "The file is empty."


def test_an_incomplete_upload_cannot_be_ingested(client, editor, pilot, db, app, queued):
    tus = Tus(client)
    location = tus.create(1000).headers["Location"]
    tus.patch(location, 0, b"x" * 400)
    response = post_ingest(client, pilot[1], location.rsplit("/", 1)[-1], tus.token)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "upload_incomplete"
    assert body["offset"] == 400
    assert tus.head(location).headers["Upload-Offset"] == "400"  # still resumable
    assert job_count(db) == 0


def test_ingest_needs_an_editor_a_body_and_a_known_episode(client, auth, make_user, pilot, queued):
    token = csrf_token(client)
    assert post_ingest(client, pilot[1], "x", token).status_code == 401
    auth.login(make_user(role="viewer").email)
    assert post_ingest(client, pilot[1], "x", csrf_token(client)).status_code == 403
    auth.logout()
    auth.login(make_user(role="editor").email)
    token = csrf_token(client)
    bad = client.post(
        f"/api/v1/episodes/{pilot[1]}/ingest", json=[], headers={"X-CSRFToken": token}
    )
    assert bad.status_code == 400
    assert post_ingest(client, 999_999, "0" * 32, token).status_code == 404
    assert post_ingest(client, pilot[1], "0" * 32, token).status_code == 404


def test_job_api_is_for_editors(client, auth, make_user, pilot, db, app):
    with app.app_context():
        job = IngestJob(episode_id=pilot[1], source_path="/x", original_name="m.mp4")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    assert client.get(f"/api/v1/ingest-jobs/{job_id}").status_code == 401
    auth.login(make_user(role="viewer").email)
    assert client.get(f"/api/v1/ingest-jobs/{job_id}").status_code == 403
    auth.logout()
    auth.login(make_user(role="editor").email)
    body = client.get(f"/api/v1/ingest-jobs/{job_id}").get_json()
    assert body["id"] == job_id
    assert body["state"] == "queued"
    assert client.get("/api/v1/ingest-jobs/999999").status_code == 404


# ------------------------------------------------------------------ no-JS upload, tracks


def test_the_plain_upload_works_without_javascript(
    client, editor, pilot, db, app, small_source, queued
):
    page = client.get(f"/edition/episodes/{pilot[3]}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert f'action="/edition/episodes/{pilot[3]}/televersement"' in page
    token = csrf_token(client, f"/edition/episodes/{pilot[3]}")
    response = client.post(
        f"/edition/episodes/{pilot[3]}/televersement",
        data={
            "master": (io.BytesIO(small_source.read_bytes()), "tournage.mp4"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#traitements")
    with app.app_context():
        job = db.session.scalar(sa.select(IngestJob))
        assert job is not None
        assert job.original_name == "tournage.mp4"
        assert Path(job.source_path).exists()
    assert queued == [job.id]
    page = client.get(f"/edition/episodes/{pilot[3]}").get_data(as_text=True)
    assert "tournage.mp4" in page
    assert "En attente" in page
    assert f"traitement n° {job.id} est lancé" in page


def test_the_plain_upload_explains_a_refusal(client, editor, pilot, db, app, queued):
    token = csrf_token(client, f"/edition/episodes/{pilot[3]}")
    response = client.post(
        f"/edition/episodes/{pilot[3]}/televersement",
        data={"master": (io.BytesIO(b"pas une video" * 100), "notes.mp4"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    html = htmllib.unescape(response.get_data(as_text=True))
    assert "Fichier refusé" in html
    assert "pas une vidéo lisible" in html
    assert staging_files(app) == []
    assert job_count(db) == 0
    missing = client.post(f"/edition/episodes/{pilot[3]}/televersement", data={"csrf_token": token})
    assert missing.status_code == 422
    assert "Choisissez un fichier vidéo." in missing.get_data(as_text=True)


def _track(client, episode_id: int, token: str, content: bytes, name: str = "fr.vtt") -> Any:
    return client.post(
        f"/edition/episodes/{episode_id}/pistes",
        data={
            "kind": "subtitles",
            "lang": "fr",
            "label": "Français",
            "csrf_token": token,
            "file": (io.BytesIO(content), name),
        },
        content_type="multipart/form-data",
    )


def test_a_webvtt_track_is_attached(client, editor, pilot, db, app):
    token = csrf_token(client, f"/edition/episodes/{pilot[1]}")
    response = _track(client, pilot[1], token, b"\xef\xbb\xbf" + VTT)
    assert response.status_code == 302
    with app.app_context():
        track = db.session.scalar(sa.select(Track).where(Track.episode_id == pilot[1]))
        assert track is not None
        assert track.label == "Français"
        assert track.content.startswith("WEBVTT")
    page = client.get(f"/edition/episodes/{pilot[1]}").get_data(as_text=True)
    assert "Français" in page
    assert f"/media/episodes/{pilot[1]}/tracks/{track.id}.vtt" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (SRT, "n'est pas au format WebVTT"),
        (b"WEBVTT\n\nNOTE rien\n", "aucune réplique"),
        (b"\xff\xfeW\x00E\x00", "encodé en UTF-8"),
    ],
)
def test_a_file_that_is_not_webvtt_is_refused_clearly(
    client, editor, pilot, db, app, content, message
):
    token = csrf_token(client, f"/edition/episodes/{pilot[1]}")
    response = _track(client, pilot[1], token, content, "fr.srt")
    assert response.status_code == 422
    html = htmllib.unescape(response.get_data(as_text=True))
    assert message in html
    assert 'aria-invalid="true"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Track)) == 0


def test_a_bad_language_code_is_refused(client, editor, pilot):
    token = csrf_token(client, f"/edition/episodes/{pilot[1]}")
    response = client.post(
        f"/edition/episodes/{pilot[1]}/pistes",
        data={
            "kind": "subtitles",
            "lang": "Français!",
            "label": "x",
            "csrf_token": token,
            "file": (io.BytesIO(VTT), "fr.vtt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Code de langue invalide" in response.get_data(as_text=True)


def test_the_media_page_offers_the_resumable_uploader(client, editor, pilot, app):
    html = client.get(f"/edition/episodes/{pilot[1]}").get_data(as_text=True)
    assert "data-uploader" in html
    assert 'data-endpoint="/api/v1/uploads"' in html
    assert f'data-ingest-url="/api/v1/episodes/{pilot[1]}/ingest"' in html
    assert 'data-chunk-size="8388608"' in html
    assert 'aria-live="polite"' in html
    assert "js/upload.js" in html
    assert "<progress" in html
