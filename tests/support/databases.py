"""Databases of a test's own, for work the rolled-back test connection cannot share (threads)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from core.migrate import upgrade


@contextmanager
def migrated_database(
    tmp_path: Path, postgres_url: str | None = None, *, revision: str = "head"
) -> Iterator[str]:
    """A database migrated from empty (to `revision`): a SQLite file, or a PostgreSQL schema of
    its own (dropped afterwards) when a PostgreSQL URL is given. Yields its URL."""
    if postgres_url is None:
        url = f"sqlite:///{tmp_path / f'own-{uuid.uuid4().hex[:8]}.sqlite3'}"
        upgrade(revision, url=url)
        yield url
        return
    schema = f"own_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{postgres_url}?options=-csearch_path%3D{schema}"
        upgrade(revision, url=url)
        yield url
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
