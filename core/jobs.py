"""Background jobs: a thread in the server process by default, RQ workers on Redis at scale.

RQ rather than Celery: the platform already needs Redis and nothing else from a broker, RQ's
jobs are plain functions referenced by import path, its worker is one command, and its job
registries (started, failed) let a restarted worker find interrupted work. Celery's routing,
result backends and beat scheduler would be weight we do not use.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from flask import Flask, current_app

from core.db import db

logger = logging.getLogger(__name__)

JOB_TIMEOUT = 6 * 3600  # transcoding a long master can take hours on a small machine


def import_path(func: Callable[..., Any]) -> str:
    """The dotted path of a module-level function."""
    return f"{func.__module__}:{func.__qualname__}"


def resolve(path: str) -> Callable[..., Any]:
    """The function named by a dotted path."""
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def execute(path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a job inside an app context: commit on success, roll back on failure."""
    try:
        result = resolve(path)(*args, **kwargs)
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.registry.remove()


class JobQueue(Protocol):
    def enqueue(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str: ...


class ThreadJobQueue:
    """The embedded default: one worker thread in the server process, jobs run in order."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._queue: queue.Queue[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def enqueue(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        job_id = uuid.uuid4().hex
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="jobs", daemon=True)
                self._thread.start()
        self._queue.put((job_id, import_path(func), args, kwargs))
        logger.info("job %s queued: %s", job_id, import_path(func))
        return job_id

    def _work(self) -> None:
        while True:
            job_id, path, args, kwargs = self._queue.get()
            try:
                with self.app.app_context():
                    execute(path, args, kwargs)
                logger.info("job %s done", job_id)
            except Exception:
                logger.exception("job %s failed: %s", job_id, path)
            finally:
                self._queue.task_done()

    def wait(self) -> None:
        """Block until every queued job has run (tests and shutdown)."""
        self._queue.join()


class RedisJobQueue:
    """At scale: RQ on Redis, run by `experts worker` processes."""

    def __init__(self, app: Flask) -> None:
        import redis
        from rq import Queue

        self.connection = redis.Redis.from_url(app.config["REDIS_URL"])
        self.queue = Queue(name=queue_name(app), connection=self.connection)

    def enqueue(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        job = self.queue.enqueue_call(
            func=execute,
            args=(import_path(func), args, kwargs),
            timeout=JOB_TIMEOUT,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
        )
        logger.info("job %s queued on redis: %s", job.id, import_path(func))
        return str(job.id)


def queue_name(app: Flask) -> str:
    """The RQ queue of this deployment."""
    return app.config["REDIS_KEY_PREFIX"] + "jobs"


def init_jobs(app: Flask) -> None:
    """Choose the queue once, from configuration."""
    app.extensions["jobs"] = RedisJobQueue(app) if app.config["REDIS_URL"] else ThreadJobQueue(app)


def enqueue(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Run func(*args, **kwargs) in the background; returns the job id."""
    jobs: JobQueue = current_app.extensions["jobs"]
    return jobs.enqueue(func, *args, **kwargs)


def run_worker(app: Flask, burst: bool = False) -> None:
    """Process jobs from Redis until stopped (or until the queue is empty with burst)."""
    from rq import SimpleWorker

    jobs = app.extensions["jobs"]
    if not isinstance(jobs, RedisJobQueue):
        raise RuntimeError("`experts worker` needs REDIS_URL: without it jobs run in the server")
    # SimpleWorker runs jobs in this process, inside the app context (no fork per job).
    with app.app_context():
        worker = SimpleWorker([jobs.queue], connection=jobs.connection)
        worker.work(burst=burst, with_scheduler=False)
