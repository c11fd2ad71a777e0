"""Background jobs: a thread by default, RQ workers when Redis is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from core.jobs import RedisJobQueue, ThreadJobQueue, enqueue, run_worker


def write_job(path: str, value: str) -> None:
    """A job with an effect outside the database."""
    Path(path).write_text(value)


def record_job(value: str) -> None:
    """A job that changes the database (the runner commits it)."""
    from core.db import db
    from series.models import Season

    season = db.session.scalar(sa.select(Season).where(Season.number == 12))
    season.synopsis = value


def failing_job() -> None:
    raise ValueError("boom")


@pytest.fixture
def thread_app(app_config, request):
    app_config["REDIS_URL"] = None
    return request.getfixturevalue("app")


@pytest.fixture
def rq_app(app_config, live_redis_url, request):
    app_config["REDIS_URL"] = live_redis_url
    app_config["RATELIMIT_STORAGE_URI"] = live_redis_url
    return request.getfixturevalue("app")


def test_embedded_jobs_run_in_order_in_a_thread(thread_app, tmp_path):
    target = tmp_path / "done.txt"
    with thread_app.app_context():
        enqueue(write_job, str(target), "fait")
        enqueue(failing_job)  # a failure is logged and does not stop the queue
        enqueue(write_job, str(target), "refait")
        queue = thread_app.extensions["jobs"]
        assert isinstance(queue, ThreadJobQueue)
        queue.wait()
    assert target.read_text() == "refait"


def test_rq_jobs_run_in_a_worker_and_commit(rq_app, seeded, db):
    from rq.job import Job

    with rq_app.app_context():
        queue = rq_app.extensions["jobs"]
        assert isinstance(queue, RedisJobQueue)
        job_id = enqueue(record_job, "par rq")
        failed_id = enqueue(failing_job)
    try:
        run_worker(rq_app, burst=True)
        assert Job.fetch(job_id, connection=queue.connection).get_status() == "finished"
        failed = Job.fetch(failed_id, connection=queue.connection)
        assert failed.get_status() == "failed"
        assert "boom" in (failed.latest_result().exc_string or "")
        from series.models import Season

        synopsis = db.session.scalar(sa.select(Season.synopsis).where(Season.number == 12))
        assert synopsis == "par rq"
    finally:
        queue.queue.delete(delete_jobs=True)


def test_worker_refuses_to_start_without_redis(thread_app):
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        run_worker(thread_app, burst=True)
