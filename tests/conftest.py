"""Shared fixtures: app, db, client, runner, auth, socketio_client and factories.

The suite runs on the backend named by DATABASE_URL (SQLite file when unset) and REDIS_URL.
Migrations are applied once per run on an empty database; every test then runs inside a
transaction that is rolled back at its end.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from core.app import create_app
from core.config import normalise_database_url
from core.db import create_engine
from core.db import db as database
from core.extensions import limiter
from core.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"


def service_missing(what: str) -> None:
    """A missing service fails the run in CI and skips the test elsewhere."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is not reachable")
    pytest.skip(f"{what} not reachable")


def reset_postgres_schema(url: str, schema: str = "public") -> None:
    """Drop and recreate a schema: an empty database for the migrations."""
    # No pool: the connection is closed when the block ends, not left for the collector.
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database, migrated from empty once per run."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        url = normalise_database_url(configured)
        try:
            reset_postgres_schema(url)
        except sa.exc.OperationalError as error:
            pytest.exit(f"DATABASE_URL {url} is not reachable: {error}", returncode=2)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    upgrade("head", url=url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    """REDIS_URL when this run uses Redis."""
    url = os.environ.get("REDIS_URL") or None
    if url:
        import redis

        try:
            redis.Redis.from_url(url).ping()
        except redis.RedisError as error:
            pytest.exit(f"REDIS_URL {url} is not reachable: {error}", returncode=2)
    return url


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, tmp_path: Path) -> dict[str, Any]:
    """Settings of the test app; tests may change them before asking for `app`."""
    return {
        "EXPERTS_ENV": "test",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        # A fresh namespace per test: rate limits and counters never leak between tests.
        "REDIS_KEY_PREFIX": f"experts-test:{uuid.uuid4().hex[:8]}:",
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # The in-process test client cannot use a message queue; live tests cover it.
        "SOCKETIO_MESSAGE_QUEUE": False,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "OIDC_PROVIDERS": [],
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 64,
        "SERVER_NAME": "localhost",
        # Retention runs only when a test asks (tests/core/test_retention.py).
        "RETENTION_SCHEDULE": False,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """The application, with every database change of the test rolled back."""
    flask_app = create_app(app_config)
    with flask_app.app_context():
        # The limiter is module-level; its Redis counters would carry over between tests.
        limiter.reset()
    assert database.engine is not None
    # This engine, not `database.engine` at teardown: a test that makes a second app (its
    # own database, e.g. for threads) replaces the module-level engine meanwhile.
    engine = database.engine
    connection = engine.connect()
    transaction = connection.begin()
    database.registry.remove()
    database.registry.configure(bind=connection, join_transaction_mode="create_savepoint")
    # No app context is held here: a test request would reuse it, and share `g`, across
    # requests. Tests and factories push their own (`app_context` fixture or `with`).
    yield flask_app
    database.registry.remove()
    transaction.rollback()
    connection.close()
    engine.dispose()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    """An app context for tests that call services directly (no request made inside)."""
    with app.app_context():
        yield


@pytest.fixture
def db(app: Flask) -> Any:
    """The database (session at `db.session`), inside the test's transaction."""
    return database


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class CommandRunner:
    """Runs `experts` commands in-process, inside the test's app and transaction."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def invoke(self, *args: str, input: str | None = None) -> Any:
        from click.testing import CliRunner

        from core.commands import cli

        with self.app.app_context():
            return CliRunner().invoke(cli, list(args), input=input)


@pytest.fixture
def runner(app: Flask) -> CommandRunner:
    return CommandRunner(app)


_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, "page without csrf-token meta"
    return match.group(1)


class AuthActions:
    """Sign up, log in and out through the real pages."""

    password = "correct horse battery"

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str | None = None) -> Any:
        token = csrf_token(self.client, "/connexion")
        return self.client.post(
            "/connexion",
            data={"email": email, "password": password or self.password, "csrf_token": token},
        )

    def logout(self) -> Any:
        token = csrf_token(self.client)
        return self.client.post("/deconnexion", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def make_user(app: Flask, db: Any) -> Callable[..., Any]:
    """Factory: a user with the test password and a role."""
    from core.accounts.models import Role
    from core.accounts.services import create_user

    def factory(email: str | None = None, role: str = "viewer", **kwargs: Any) -> Any:
        with app.app_context():
            user = create_user(
                db.session,
                email or f"user-{uuid.uuid4().hex[:8]}@example.org",
                kwargs.pop("password", AuthActions.password),
                role=Role(role),
                **kwargs,
            )
            db.session.commit()
        return user

    return factory


@pytest.fixture
def make_token(app: Flask, db: Any) -> Callable[[Any], str]:
    """Factory: a clear API token for a user."""
    from core.accounts.services import issue_api_token

    def factory(user: Any) -> str:
        with app.app_context():
            _token, clear = issue_api_token(db.session, db.session.merge(user), "test")
            db.session.commit()
        return clear

    return factory


@pytest.fixture
def seeded(app: Flask, db: Any) -> Any:
    """The demo content."""
    from core.seed import seed_demo

    with app.app_context():
        seed_demo()
    return db


@pytest.fixture
def pilot(seeded: Any) -> dict[int, int]:
    """Episode number -> id of the seeded pilot season (1–3 released, 4–6 upcoming)."""
    from series.models import Episode, Season

    rows = seeded.session.execute(
        sa.select(Episode.number, Episode.id).join(Season).where(Season.number == 1)
    )
    return {int(number): int(ident) for number, ident in rows}


@pytest.fixture
def socketio_client(app: Flask, client: FlaskClient) -> Callable[..., Any]:
    """Factory: a Socket.IO test client sharing the HTTP client's session cookie."""
    from core.extensions import socketio

    clients = []

    def factory(auth: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        sio_client = socketio.test_client(app, flask_test_client=client, auth=auth, **kwargs)
        clients.append(sio_client)
        return sio_client

    yield factory  # type: ignore[misc]
    for c in clients:
        if c.is_connected():
            c.disconnect()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL for tests that need one whatever the run's backend."""
    url = normalise_database_url(
        os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://localhost/test")
    )
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError:
        service_missing(f"PostgreSQL at {url}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def live_redis_url() -> str:
    """A reachable Redis for tests that need one whatever the run's backend."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError:
        service_missing(f"Redis at {url}")
    return url
