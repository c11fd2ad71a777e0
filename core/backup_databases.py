"""Backups, the database part: SQLite's online backup API, or pg_dump and pg_restore.

On PostgreSQL the app's data is one schema: the first of the URL's `search_path` option (the
tests give each database a schema of its own), `public` otherwise. Only that schema is dumped,
and a restore puts the current one aside under another name, restores the archive's in one
transaction, and only then drops the one put aside: a failed restore leaves the data as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from core.db import UNMANAGED_PREFIXES

BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
#: The database's name in the archive, per backend.
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}


class BackupError(RuntimeError):
    """A backup or a restore cannot go on; the message is one line for the operator."""


@dataclass(frozen=True)
class DatabaseFacts:
    """What the manifest says about a dump, read in the same snapshot as the dump itself."""

    revision: str
    #: Rows per table (the full-text index of tips, derived from them, is left out).
    counts: dict[str, int]
    #: More fields of the manifest's `database` entry (schema, server version).
    details: dict[str, Any]


def dump_database(url: str, destination: Path, step: Callable[[str], None]) -> DatabaseFacts:
    """Write a consistent copy (SQLite) or dump (PostgreSQL) of the database at `destination`."""
    if make_url(url).get_backend_name() == "sqlite":
        return _dump_sqlite(url, destination, step)
    return _dump_postgres(url, destination, step)


def check_target(details: dict[str, Any], url: str) -> None:
    """Refuse early what `restore_database` could not do (missing tools, unreachable server)."""
    if make_url(url).get_backend_name() == "sqlite":
        _sqlite_path(url)
        return
    _tool("pg_restore")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with _connect(engine) as connection:
            target = _target_schema(connection, url)
            archived = details["schema"]
            if archived != target and _schema_exists(connection, archived):
                raise BackupError(
                    f"the archive's schema {archived} already exists in the database beside "
                    f"the configured schema {target}: drop it or restore into {archived}"
                )
    finally:
        engine.dispose()


def restore_database(details: dict[str, Any], dump: Path, url: str) -> None:
    """Replace the database with a staged dump; on PostgreSQL a failure changes nothing."""
    if make_url(url).get_backend_name() == "sqlite":
        _restore_sqlite(dump, url)
    else:
        _restore_postgres(details["schema"], dump, url)


def table_counts(url: str) -> dict[str, int]:
    """Rows per table of the app's tables."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with _connect(engine) as connection:
            schema = _schema_of(connection)
            return _counts(connection, schema)
    finally:
        engine.dispose()


# ---- Shared ----


@contextmanager
def _connect(engine: sa.Engine) -> Iterator[sa.Connection]:
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        raise BackupError(f"database unreachable: {reason}") from None
    with connection:
        yield connection


def _schema_of(connection: sa.Connection) -> str | None:
    """The schema holding the app's tables on PostgreSQL (None on SQLite)."""
    if connection.dialect.name != "postgresql":
        return None
    schema = connection.scalar(sa.text("SELECT current_schema()"))
    if schema is None:
        raise BackupError("no schema of the search_path exists: nothing to back up")
    return str(schema)


def _counts(connection: sa.Connection, schema: str | None) -> dict[str, int]:
    names = sa.inspect(connection).get_table_names(schema=schema)
    return {
        name: int(
            connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name, schema=schema)))
            or 0
        )
        for name in sorted(names)
        if not name.startswith(UNMANAGED_PREFIXES)
    }


def _facts(connection: sa.Connection, schema: str | None, details: dict[str, Any]) -> DatabaseFacts:
    migrations = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    revision = migrations.get_current_revision()
    if revision is None:
        raise BackupError("the database has no schema yet (see `experts db upgrade`)")
    return DatabaseFacts(revision, _counts(connection, schema), details)


# ---- SQLite ----


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("backups need a SQLite database file")
    return Path(database)


def _dump_sqlite(url: str, destination: Path, step: Callable[[str], None]) -> DatabaseFacts:
    path = _sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"database unreachable: no SQLite file at {path}")
    step(f"copying the SQLite database {path}")
    try:
        with (
            closing(sqlite3.connect(path, timeout=30)) as source,
            closing(sqlite3.connect(destination)) as copy,
        ):
            # One step: a consistent snapshot that, in WAL mode, never blocks the writers.
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as error:
        raise BackupError(f"database unreachable: {error}") from None
    engine = sa.create_engine(f"sqlite:///{destination}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return _facts(connection, None, {"sqlite_version": sqlite3.sqlite_version})
    finally:
        engine.dispose()


def _restore_sqlite(dump: Path, url: str) -> None:
    """Move the copy beside the database file, then rename it over the database."""
    path = _sqlite_path(url).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    incoming = path.with_name(f".{path.name}.restore-{uuid.uuid4().hex[:8]}")
    try:
        shutil.move(dump, incoming)
        if path.exists():
            with closing(sqlite3.connect(path, timeout=30)) as current:
                current.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # The old database's write-ahead log must not be replayed into the new file.
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(incoming, path)
    finally:
        incoming.unlink(missing_ok=True)


# ---- PostgreSQL ----


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools "
            "(apt-get install postgresql-client), of the server's major version or newer"
        )
    return path


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as a libpq connection string for pg_dump/pg_restore; the password in the env."""
    from psycopg.conninfo import make_conninfo

    parsed = make_url(url)
    params: dict[str, Any] = {
        key: value[-1] if isinstance(value, tuple) else value for key, value in parsed.query.items()
    }
    for key, value in (
        ("host", parsed.host),
        ("port", parsed.port),
        ("dbname", parsed.database),
        ("user", parsed.username),
    ):
        if value is not None:
            params[key] = value
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = parsed.password  # not on the command line, where `ps` shows it
    return make_conninfo("", **params), env


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        reason = (errors or lines or [f"exit status {result.returncode}"])[0]
        raise BackupError(f"{Path(command[0]).name} failed: {reason}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _schema_exists(connection: sa.Connection, name: str) -> bool:
    query = sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :name")
    return connection.scalar(query, {"name": name}) is not None


def _rename_schema(connection: sa.Connection, old: str, new: str) -> None:
    connection.execute(sa.text(f"ALTER SCHEMA {_quote(old)} RENAME TO {_quote(new)}"))


def _target_schema(connection: sa.Connection, url: str) -> str:
    """The schema the app uses: current_schema(), or the search_path's first when missing."""
    current = connection.scalar(sa.text("SELECT current_schema()"))
    if current is not None:
        return str(current)
    options = str(make_url(url).query.get("options", ""))
    match = re.search(r"search_path\s*=\s*(\S+)", options)
    names = [n.strip().strip('"') for n in match.group(1).split(",")] if match else []
    return next((n for n in names if n and n != "$user"), "public")


def _dump_postgres(url: str, destination: Path, step: Callable[[str], None]) -> DatabaseFacts:
    pg_dump = _tool("pg_dump")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="REPEATABLE READ")
    try:
        with _connect(engine) as connection:
            schema = _schema_of(connection)
            assert schema is not None
            # pg_dump reads the snapshot of this transaction: the counts match the dump.
            snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
            version = connection.scalar(sa.text("SHOW server_version"))
            facts = _facts(connection, schema, {"schema": schema, "server_version": version})
            step(f"dumping the PostgreSQL schema {schema} (pg_dump)")
            conninfo, env = _libpq(url)
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    f"--schema={_quote(schema)}",
                    f"--snapshot={snapshot}",
                    f"--file={destination}",
                    f"--dbname={conninfo}",
                ],
                env,
            )
            return facts
    finally:
        engine.dispose()


def _restore_postgres(archived: str, dump: Path, url: str) -> None:
    """Put the current schema aside, pg_restore the archive's in one transaction, swap."""
    pg_restore = _tool("pg_restore")
    conninfo, env = _libpq(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with _connect(engine) as connection, connection.begin():
            target = _target_schema(connection, url)
            aside = f"{target[:40]}_before_restore_{uuid.uuid4().hex[:8]}"
            had_target = _schema_exists(connection, target)
            if had_target:
                _rename_schema(connection, target, aside)
            connection.execute(sa.text(f"CREATE SCHEMA {_quote(archived)}"))
        try:
            _run(
                [
                    pg_restore,
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    f"--dbname={conninfo}",
                    str(dump),
                ],
                env,
            )
        except BackupError:
            with engine.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {_quote(archived)} CASCADE"))
                if had_target:
                    _rename_schema(connection, aside, target)
            raise
        with engine.begin() as connection:
            if archived != target:
                _rename_schema(connection, archived, target)
            if had_target:
                connection.execute(sa.text(f"DROP SCHEMA {_quote(aside)} CASCADE"))
    finally:
        engine.dispose()
