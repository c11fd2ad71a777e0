"""Migrations apply to an empty database on both backends, and agree with the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import create_engine, include_object
from core.migrate import alembic_config, upgrade
from core.models import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    """An empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"migrations_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_upgrade_from_empty_then_no_drift(empty_database):
    upgrade("head", url=empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            heads = ScriptDirectory.from_config(alembic_config(empty_database)).get_heads()
            assert set(context.get_current_heads()) == set(heads)
            differences = compare_metadata(context, metadata)
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert {"users", "api_tokens", "oidc_identities", "seasons", "episodes"} <= tables


def test_upgrade_twice_changes_nothing(empty_database):
    upgrade("head", url=empty_database)
    upgrade("head", url=empty_database)


def test_there_is_a_single_head_and_files_are_date_first():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        name = revision.path.rsplit("/", 1)[-1]
        assert name[:8].isdigit(), name
        assert name[8] == "_", name
