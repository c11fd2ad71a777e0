"""Alembic, driven from the app's configuration (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration for a database URL (default: the app's)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "file_template",
        "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s",
    )
    config.set_main_option(
        "sqlalchemy.url", (url or current_app.config["SQLALCHEMY_DATABASE_URI"]).replace("%", "%%")
    )
    return config


def upgrade(revision: str = "head", url: str | None = None) -> None:
    """Apply migrations up to a revision."""
    command.upgrade(alembic_config(url), revision)


def revision(message: str) -> str:
    """Autogenerate a migration; returns its path."""
    script = command.revision(alembic_config(), message=message, autogenerate=True)
    if script is None or isinstance(script, list):
        raise RuntimeError("no revision written")
    return str(script.path)


def pending_migrations() -> list[str]:
    """Revisions not yet applied to the app's database."""
    from core.db import db

    script = ScriptDirectory.from_config(alembic_config())
    assert db.engine is not None
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    pending = []
    for rev in script.walk_revisions():
        if rev.revision in current:
            break
        pending.append(rev.revision)
    return pending if current != set(script.get_heads()) else []
