"""Real `experts serve` processes for tests that cross process boundaries."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveEnvironment:
    """Environment variables of a throw-away deployment (its own database and Redis keys)."""

    env: dict[str, str]
    instance: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def experts(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run an `experts` command in this deployment (its stderr in the error)."""
        result = subprocess.run(
            [sys.executable, "-m", "core.cli", *args],
            env=self.env,
            cwd=REPO_ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"experts {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result

    def experts_python(self, code: str) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet with this deployment's environment."""
        return subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def worker(self) -> subprocess.Popen[bytes]:
        """Start an `experts worker` (RQ) process: at scale, jobs run there."""
        log = (self.instance / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "worker"],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def serve(self) -> str:
        """Start one server process; returns its base URL once /healthz answers."""
        port = free_port()
        log = (self.instance / f"serve-{port}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--port", str(port)],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_of(port)}")
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    return url
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_of(port)}")

    def log_of(self, port: int) -> str:
        return (self.instance / f"serve-{port}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def live_environment(
    tmp_path: Path,
    redis_url: str | None,
    postgres_url: str | None = None,
    media: bool = False,
    worker: bool = True,
    seed: bool = True,
) -> Iterator[LiveEnvironment]:
    """A migrated, seeded deployment on its own SQLite file or PostgreSQL schema (and, with
    Redis, a job worker unless `worker` is false). With `seed` false the caller migrates and
    seeds (in one process of its own, which is faster than the two commands)."""
    schema = None
    if postgres_url:
        schema = f"live_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        database_url = f"{postgres_url}?options=-csearch_path%3D{schema}"
    else:
        database_url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    env = {
        key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        {
            "EXPERTS_ENV": "development",
            "EXPERTS_INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-test-secret",
            "REDIS_KEY_PREFIX": f"experts-live:{uuid.uuid4().hex[:8]}:",
            "PYTHONWARNINGS": "ignore",
            # The daily retention run would delete demo data under the tests' feet.
            "RETENTION_SCHEDULE": "0",
            # Demo media is made once per machine and copied, not transcoded for every server.
            "EXPERTS_DEMO_CACHE": str(Path(tempfile.gettempdir()) / "experts-demo-cache"),
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    live = LiveEnvironment(env=env, instance=tmp_path)
    try:
        if seed:
            live.experts("db", "upgrade")
            live.experts("seed", "demo", *([] if media else ["--no-media"]))
        if redis_url and worker:
            live.worker()  # with Redis, background jobs wait for a worker process
        yield live
    finally:
        live.stop()
        if schema and postgres_url:
            engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
