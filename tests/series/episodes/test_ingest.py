"""Ingest: validate, transcode in a job, publish; bad input leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.db import utcnow
from series.episodes import services
from series.episodes.media import make_test_source
from series.episodes.models import EpisodeMedia, IngestJob, IngestState
from series.models import Episode
from tests.support.media_corpus import bad_inputs


@pytest.fixture(scope="module")
def small_source(tmp_path_factory) -> Path:
    """A 3 s 320x180 clip with sound: the smallest source that exercises the whole pipeline."""
    return make_test_source(tmp_path_factory.mktemp("src") / "small.mp4", 3, 320, 180)


def media_files(app) -> list[Path]:
    root = Path(app.config["MEDIA_ROOT"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_cli_ingest_attaches_media_and_cleans_the_staging(runner, app, db, pilot, small_source):
    result = runner.invoke(
        "episodes", "ingest", str(small_source), "--season", "1", "--number", "2"
    )
    assert result.exit_code == 0, result.output
    assert "%" in result.stderr
    assert "done in" in result.stderr
    media = db.session.scalar(sa.select(EpisodeMedia).where(EpisodeMedia.episode_id == pilot[2]))
    assert media is not None
    assert [r["name"] for r in media.renditions] == ["180p"]
    assert abs(media.duration_s - 3.0) < 0.5
    folder = Path(app.config["MEDIA_ROOT"]) / media.directory
    assert (folder / "hls" / "master.m3u8").exists()
    assert (folder / "poster.jpg").exists()
    job = db.session.scalar(sa.select(IngestJob).where(IngestJob.episode_id == pilot[2]))
    assert job.state is IngestState.DONE
    assert job.progress == 1.0
    assert not list((Path(app.config["MEDIA_ROOT"]) / "staging").iterdir())
    assert small_source.exists(), "the editor's original file is never touched"


def test_reingest_replaces_the_media_and_removes_the_old_files(
    runner, app, db, pilot, small_source
):
    runner.invoke("episodes", "ingest", str(small_source), "--season", "1", "--number", "3")
    first = db.session.scalar(
        sa.select(EpisodeMedia.directory).where(EpisodeMedia.episode_id == pilot[3])
    )
    runner.invoke("episodes", "ingest", str(small_source), "--season", "1", "--number", "3")
    db.session.expire_all()
    second = db.session.scalar(
        sa.select(EpisodeMedia.directory).where(EpisodeMedia.episode_id == pilot[3])
    )
    assert first != second
    assert not (Path(app.config["MEDIA_ROOT"]) / first).exists()
    assert (Path(app.config["MEDIA_ROOT"]) / second / "hls" / "master.m3u8").exists()


def test_bad_input_is_refused_with_a_reason_and_leaves_nothing(
    runner, app, db, pilot, tmp_path, small_source
):
    corpus = bad_inputs(tmp_path)
    truncated = tmp_path / "truncated.mp4"
    data = small_source.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    corpus["truncated"] = truncated
    for expected, path in corpus.items():
        result = runner.invoke("episodes", "ingest", str(path), "--season", "1", "--number", "1")
        assert result.exit_code == 1, (expected, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, result.output
        code = expected.split(":")[0]
        assert lines[0].startswith(f"Error: {code}:"), (expected, lines[0])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IngestJob)) == 0
    assert media_files(app) == []


def test_too_long_is_refused(runner, app, app_config, db, pilot, small_source):
    app.config["MEDIA_MAX_DURATION"] = 2.0
    result = runner.invoke(
        "episodes", "ingest", str(small_source), "--season", "1", "--number", "1"
    )
    assert result.exit_code == 1
    assert "too_long" in result.output
    assert media_files(app) == []


def test_unknown_episode_or_file_fails_with_one_line(runner, seeded, small_source):
    result = runner.invoke(
        "episodes", "ingest", str(small_source), "--season", "2", "--number", "9"
    )
    assert result.exit_code == 1
    assert "no episode 9 in season 2" in result.output
    result = runner.invoke("episodes", "ingest", "/nowhere.mp4", "--season", "1", "--number", "1")
    assert result.exit_code == 1


def _job(
    db,
    episode_id: int,
    state: IngestState,
    heartbeat: dt.datetime | None,
    attempts: int = 0,
    source: str = "/tmp/none.mp4",
) -> IngestJob:
    job = IngestJob(
        episode_id=episode_id,
        source_path=source,
        original_name="m.mp4",
        state=state,
        heartbeat_at=heartbeat,
        attempts=attempts,
    )
    db.session.add(job)
    db.session.flush()
    return job


def test_interrupted_jobs_are_queued_again_or_failed_for_good(app_context, db, pilot):
    now = utcnow()
    stale = now - dt.timedelta(minutes=5)
    dead = _job(db, pilot[1], IngestState.RUNNING, stale, attempts=1)
    exhausted = _job(db, pilot[2], IngestState.RUNNING, stale, attempts=3)
    alive = _job(db, pilot[3], IngestState.RUNNING, now, attempts=1)
    never_started = _job(db, pilot[4], IngestState.QUEUED, None)
    requeued = services.recover_interrupted_jobs(db.session, now)
    assert {j.id for j in requeued} == {dead.id, never_started.id}
    assert dead.state is IngestState.QUEUED
    assert exhausted.state is IngestState.FAILED
    assert exhausted.error_code == "interrupted"
    assert alive.state is IngestState.RUNNING


def test_a_job_is_claimed_once(app_context, db, pilot):
    job = _job(db, pilot[1], IngestState.QUEUED, None)
    db.session.commit()
    now = utcnow()
    assert services.claim_job(db.session, job.id, now) is True
    assert services.claim_job(db.session, job.id, now) is False
    db.session.refresh(job)
    assert job.state is IngestState.RUNNING
    assert job.attempts == 1


def test_a_job_whose_master_vanished_fails_clearly(app_context, db, pilot):
    job = _job(db, pilot[1], IngestState.QUEUED, None, source="/tmp/vanished-master.mp4")
    db.session.commit()
    services.run_ingest(job.id)
    db.session.refresh(job)
    assert job.state is IngestState.FAILED
    assert job.error_code == "source_missing"


def test_progress_reaches_editors_through_the_ingest_room(
    app, db, pilot, small_source, socketio_client, auth, make_user
):
    editor = make_user(role="editor")
    auth.login(editor.email)
    with app.app_context():
        staged = services.staging_dir() / "progress.mp4"
        staged.write_bytes(small_source.read_bytes())
        episode = db.session.get(Episode, pilot[1])
        job = services.start_ingest(db.session, episode, staged, "progress.mp4", editor.id)
        db.session.commit()
        job_id = job.id
    client = socketio_client()
    assert client.emit("join", {"ingest": job_id}, callback=True) == {"ok": True}
    with app.app_context():
        services.run_ingest(job_id)
    events = [m["args"][0] for m in client.get_received() if m["name"] == "ingest"]
    assert events[0]["state"] == "running"
    assert events[-1]["state"] == "done"
    assert events[-1]["progress"] == 1.0


def test_viewers_cannot_follow_ingest_jobs(socketio_client, auth, make_user, pilot, db, app):
    with app.app_context():
        job = _job(db, pilot[1], IngestState.QUEUED, None)
        db.session.commit()
        job_id = job.id
    auth.login(make_user(role="viewer").email)
    ack = socketio_client().emit("join", {"ingest": job_id}, callback=True)
    assert ack["ok"] is False
