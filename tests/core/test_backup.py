"""`experts backup` and `experts restore`: database and media, round trip and refusals.

Each test works on a database of its own (a SQLite file, or a PostgreSQL schema of its own
when the run uses DATABASE_URL), with real commits: a restore replaces the whole database,
which the rolled-back test connection could not share.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import stat
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from flask import Flask

from core.accounts.models import Role, User
from core.app import create_app
from core.db import db as database
from core.migrate import alembic_config
from series.models import Season
from tests.support.databases import migrated_database
from tests.support.live import free_port

#: The code's head revision (whatever the last migration is) and one before the tips board.
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
BEFORE_TIPS = "fd53cce56275"


@dataclass
class Experts:
    """An app on a database of its own, and its media folder."""

    app: Flask
    url: str
    media: Path

    def invoke(self, *args: str, input: str | None = None) -> Any:
        from core.commands import cli

        with self.app.app_context():
            return CliRunner().invoke(cli, list(args), input=input)


@contextmanager
def experts_app(
    app_config: dict[str, Any], url: str, media: Path, **config: Any
) -> Iterator[Experts]:
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url, "MEDIA_ROOT": str(media)})
    app.config.update(config)
    try:
        yield Experts(app, url, media)
    finally:
        database.registry.remove()
        assert database.engine is not None
        database.engine.dispose()


@pytest.fixture
def postgres(database_url: str) -> str | None:
    """The run's PostgreSQL URL on the PostgreSQL pass, None on SQLite."""
    return database_url if database_url.startswith("postgresql") else None


@pytest.fixture
def own(tmp_path: Path, app_config: dict[str, Any], postgres: str | None) -> Iterator[Experts]:
    with (
        migrated_database(tmp_path, postgres) as url,
        experts_app(app_config, url, tmp_path / "media") as experts,
    ):
        yield experts


# ---- Content and snapshots ----


def fill(experts: Experts, *, demo: bool = True) -> None:
    """The demo seed (optionally), distinctive rows, and media files of every kind."""
    from core.accounts.services import create_user
    from core.seed import seed_demo

    with experts.app.app_context():
        if demo:
            seed_demo()
        create_user(
            database.session,
            "sauvegarde@example.org",
            "une phrase de passe assez longue",
            display_name="Édith « Sauvegarde »",
            role=Role.EDITOR,
        )
        database.session.commit()
    rng = random.Random(9)
    files = {
        "episodes/1x1-a8f3/hls/master.m3u8": b"#EXTM3U\n#EXT-X-VERSION:3\n",
        "episodes/1x1-a8f3/hls/720p/seg-000.ts": rng.randbytes(300_000),
        "episodes/1x1-a8f3/poster.jpg": rng.randbytes(40_000),
        "tips/12/photo-3c1d.webp": rng.randbytes(25_000),
        "endings/4/9e2b/fin-été.mp4": rng.randbytes(120_000),
        "staging/uploads/empty.part": b"",
    }
    for name, data in files.items():
        path = experts.media / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def table_counts(url: str) -> dict[str, int]:
    """Rows of every table, the full-text index's included."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        schema = connection.dialect.default_schema_name
        names = sa.inspect(connection).get_table_names(schema=schema)
        counts = {
            name: connection.scalar(
                sa.select(sa.func.count()).select_from(sa.table(name, schema=schema))
            )
            for name in names
        }
    engine.dispose()
    return counts


def revision_of(url: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        version = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    return version


def media_files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def snapshot(experts: Experts) -> tuple[dict[str, int], dict[str, bytes]]:
    return table_counts(experts.url), media_files(experts.media)


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders a backup or a restore would have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def read_manifest(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        return dict(json.load(member))


def rewritten(
    archive: Path,
    edit: Callable[[dict[str, Any]], None] = lambda manifest: None,
    replace: dict[str, bytes] | None = None,
    rename: dict[str, str] | None = None,
) -> Path:
    """A copy of the archive with its manifest edited, members replaced or renamed."""
    edited = archive.with_name("edited-" + archive.name)
    with tarfile.open(archive) as source, tarfile.open(edited, "w:gz") as out:
        for member in source.getmembers():
            reader = source.extractfile(member)
            assert reader is not None
            data = (replace or {}).get(member.name, reader.read())
            member.name = (rename or {}).get(member.name, member.name)
            if member.name == "manifest.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest).encode()
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return edited


def backed_up(experts: Experts, tmp_path: Path) -> Path:
    archive = tmp_path / "backups" / "experts.tar.gz"
    result = experts.invoke("backup", "--output", str(archive))
    assert result.exit_code == 0, result.output
    return archive


def add_user_after_backup(experts: Experts) -> None:
    from core.accounts.services import create_user

    with experts.app.app_context():
        create_user(database.session, "apres@example.org", "arrivé après la sauvegarde")
        database.session.commit()


def emails(experts: Experts) -> set[str]:
    with experts.app.app_context():
        return set(database.session.scalars(sa.select(User.email)))


# ---- Round trip ----


def test_restore_brings_back_every_row_and_media_file_of_a_backup(own, tmp_path, postgres):
    fill(own)
    counts, media = snapshot(own)
    archive = backed_up(own, tmp_path)
    manifest = read_manifest(archive)
    assert manifest["format_version"] == 1
    assert manifest["alembic_revision"] == HEAD
    assert manifest["database"]["backend"] == ("postgresql" if postgres else "sqlite")
    assert manifest["tables"]["users"] == counts["users"] == 9
    assert manifest["tables"]["seasons"] == 12
    assert all(counts[name] == n for name, n in manifest["tables"].items())
    photo = media["tips/12/photo-3c1d.webp"]
    assert manifest["members"]["media/tips/12/photo-3c1d.webp"] == {
        "sha256": hashlib.sha256(photo).hexdigest(),
        "size": len(photo),
    }
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600

    with own.app.app_context():
        session = database.session
        session.delete(
            session.scalar(sa.select(User).where(User.email == "sauvegarde@example.org"))
        )
        session.scalar(sa.select(Season).where(Season.number == 3)).title = "Titre écrasé"
        session.execute(sa.delete(Season).where(Season.number == 12))
        session.commit()
    add_user_after_backup(own)
    (own.media / "tips/12/photo-3c1d.webp").unlink()
    (own.media / "episodes/1x1-a8f3/hls/master.m3u8").write_bytes(b"#EXTM3U\n# changed\n")
    (own.media / "tips/99").mkdir(parents=True)
    (own.media / "tips/99/new.webp").write_bytes(b"new")

    result = own.invoke("restore", str(archive), "--yes")

    assert result.exit_code == 0, result.output
    assert "restored" in result.output
    assert table_counts(own.url) == counts
    assert media_files(own.media) == media
    with own.app.app_context():
        edith = database.session.scalar(
            sa.select(User).where(User.email == "sauvegarde@example.org")
        )
        assert edith is not None
        assert (edith.display_name, edith.role) == ("Édith « Sauvegarde »", Role.EDITOR)
        titles = dict(database.session.execute(sa.select(Season.number, Season.title)).all())
        assert titles[3] != "Titre écrasé"
        assert 12 in titles
    assert "apres@example.org" not in emails(own)
    assert revision_of(own.url) == HEAD
    assert leftovers(tmp_path) == []


def test_backup_goes_to_the_instance_backups_folder_by_default(own, tmp_path):
    fill(own, demo=False)
    result = own.invoke("backup")
    assert result.exit_code == 0, result.output
    archive = Path(result.stdout.strip())
    assert archive.parent == Path(own.app.instance_path) / "backups"
    assert re.fullmatch(r"experts-backup-\d{8}-\d{6}\.tar\.gz", archive.name)
    assert "media files" in result.stderr
    assert read_manifest(archive)["tables"]["users"] == 1
    assert leftovers(archive.parent) == []


def test_a_restore_from_an_older_schema_is_migrated_to_head(tmp_path, app_config, postgres):
    archive = tmp_path / "old.tar.gz"
    with (
        migrated_database(tmp_path, postgres, revision=BEFORE_TIPS) as url,
        experts_app(app_config, url, tmp_path / "old-media") as old,
    ):
        fill(old, demo=False)
        assert old.invoke("backup", "-o", str(archive)).exit_code == 0
    assert read_manifest(archive)["alembic_revision"] == BEFORE_TIPS

    with (
        migrated_database(tmp_path, postgres) as url,
        experts_app(app_config, url, tmp_path / "media") as experts,
    ):
        result = experts.invoke("restore", str(archive), "--yes")
        assert result.exit_code == 0, result.output
        assert "upgrading the database" in result.output
        assert revision_of(url) == HEAD
        assert emails(experts) == {"sauvegarde@example.org"}
        assert table_counts(url)["tips"] == 0
        assert "tips/12/photo-3c1d.webp" in media_files(experts.media)


# ---- Refusals: nothing changes ----


@pytest.mark.parametrize("where", ["start", "middle", "end", "trailer"])
def test_a_corrupted_archive_is_refused_before_anything_is_touched(own, tmp_path, where):
    fill(own, demo=False)
    archive = backed_up(own, tmp_path)
    data = bytearray(archive.read_bytes())
    position = {"start": 64, "middle": len(data) // 2, "end": len(data) - 12}.get(
        where, len(data) - 6
    )
    data[position] ^= 0x01
    archive.write_bytes(bytes(data))
    add_user_after_backup(own)
    before = snapshot(own)

    result = own.invoke("restore", str(archive), "--yes")

    assert result.exit_code == 1
    assert "corrupted" in result.output
    assert snapshot(own) == before
    assert "apres@example.org" in emails(own)
    assert leftovers(tmp_path) == []


def test_an_archive_whose_member_differs_from_its_checksum_is_refused(own, tmp_path):
    fill(own, demo=False)
    archive = backed_up(own, tmp_path)
    # A well-formed archive (its gzip checks pass) holding other bytes than the manifest says.
    tampered = rewritten(archive, replace={"media/tips/12/photo-3c1d.webp": b"other bytes"})
    add_user_after_backup(own)
    before = snapshot(own)

    result = own.invoke("restore", str(tampered), "--yes")

    assert result.exit_code == 1
    assert "photo-3c1d.webp does not match its checksum" in result.output
    assert snapshot(own) == before
    assert leftovers(tmp_path) == []


def test_an_archive_of_a_newer_schema_is_refused(own, tmp_path):
    fill(own, demo=False)
    archive = backed_up(own, tmp_path)
    newer = rewritten(archive, lambda m: m.update(alembic_revision="0123456789ab"))
    add_user_after_backup(own)
    before = snapshot(own)

    result = own.invoke("restore", str(newer), "--yes")

    assert result.exit_code == 1
    assert "newer than this code knows" in result.output
    assert snapshot(own) == before
    assert leftovers(tmp_path) == []


def test_an_archive_of_the_other_backend_is_refused(own, tmp_path, postgres):
    fill(own, demo=False)
    archive = backed_up(own, tmp_path)
    # Made to look like the other backend's archive: its backend, its database member's name.
    ours, other = ("database.dump", "sqlite") if postgres else ("database.sqlite3", "postgresql")
    theirs = "database.sqlite3" if postgres else "database.dump"

    def other_backend(manifest: dict[str, Any]) -> None:
        manifest["database"] = {"backend": other, "file": theirs, "schema": "public"}
        manifest["members"][theirs] = manifest["members"].pop(ours)

    foreign = rewritten(archive, other_backend, rename={ours: theirs})
    add_user_after_backup(own)
    before = snapshot(own)

    result = own.invoke("restore", str(foreign), "--yes")

    assert result.exit_code == 1
    assert "restoring across backends is not supported" in result.output
    assert snapshot(own) == before


@pytest.mark.parametrize("answer", [None, "n\n"])
def test_restore_without_yes_asks_and_changes_nothing_unless_confirmed(own, tmp_path, answer):
    fill(own, demo=False)
    archive = backed_up(own, tmp_path)
    add_user_after_backup(own)
    before = snapshot(own)

    result = own.invoke("restore", str(archive), input=answer)

    assert result.exit_code == 1
    assert "Replace the current database and media folder" in result.output
    assert "Aborted" in result.output
    assert snapshot(own) == before
    assert leftovers(tmp_path) == []


def test_restore_refuses_an_archive_with_a_path_outside_the_media_folder(own, tmp_path):
    fill(own, demo=False)
    archive = backed_up(own, tmp_path)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(evil, "w:gz") as out:
        for member in source.getmembers():
            out.addfile(member, source.extractfile(member))
        escape = tarfile.TarInfo("media/../../escaped.txt")
        escape.size = 3
        out.addfile(escape, io.BytesIO(b"bad"))

    result = own.invoke("restore", str(evil), "--yes")

    assert result.exit_code == 1
    assert "not an experts backup" in result.output
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path.parent / "escaped.txt").exists()


# ---- Backup failures: one line, nothing written ----


def test_backup_stops_with_one_line_when_pg_dump_is_missing(tmp_path, app_config, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    url = f"postgresql+psycopg://127.0.0.1:{free_port()}/nowhere"
    with experts_app(app_config, url, tmp_path / "media") as experts:
        result = experts.invoke("backup", "-o", str(tmp_path / "out" / "b.tar.gz"))
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1
    assert "pg_dump not found" in result.output
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_backup_stops_with_one_line_when_the_database_is_unreachable(
    tmp_path, app_config, monkeypatch, backend
):
    # A stand-in pg_dump: the connection is checked before it would run.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pg_dump").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "pg_dump").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    url = (
        f"sqlite:///{tmp_path / 'missing' / 'experts.sqlite3'}"
        if backend == "sqlite"
        else f"postgresql+psycopg://127.0.0.1:{free_port()}/nowhere"
    )
    output = tmp_path / "out"
    output.mkdir()
    with experts_app(app_config, url, tmp_path / "media") as experts:
        result = experts.invoke("backup", "-o", str(output))
    assert result.exit_code == 1
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "database unreachable" in error_lines[0]
    assert list(output.iterdir()) == []
