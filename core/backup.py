"""Backups: one archive of the database and the media folder (`experts backup`), and its
restore (`experts restore`).

An archive is a gzipped tar (core.backup_archive) holding the database (core.backup_databases:
`database.sqlite3`, a copy made through SQLite's online backup API, or `database.dump`,
pg_dump's custom format of the app's schema), the media folder under `media/`, and
`manifest.json` last. A restore unpacks and checks everything beside the media folder before
it touches anything, then replaces the database, then the media folder, then migrates.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url

from core import backup_databases as databases
from core.backup_archive import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MEDIA,
    Progress,
    SilentProgress,
    add_files,
    size_text,
    unpack_checked,
)
from core.backup_databases import BACKENDS, BackupError, DatabaseFacts
from core.migrate import alembic_config, upgrade

__all__ = [
    "BackupError",
    "Progress",
    "Target",
    "check_restorable",
    "create_backup",
    "default_archive_path",
    "describe",
    "restore_backup",
    "staged_archive",
]

logger = logging.getLogger(__name__)

#: gzip's default: media (compressed video and images) takes about as long at any level.
COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class Target:
    """What a backup saves and a restore replaces: the database and the media folder."""

    url: str
    media_root: Path

    @classmethod
    def from_config(cls, config: Any) -> Target:
        return cls(config["SQLALCHEMY_DATABASE_URI"], Path(config["MEDIA_ROOT"]))

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        name = make_url(self.url).get_backend_name()
        if name not in BACKENDS:
            raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
        return name


@dataclass(frozen=True)
class BackupSummary:
    """What `create_backup` wrote."""

    path: Path
    size: int
    manifest: dict[str, Any]


@dataclass(frozen=True)
class StagedArchive:
    """An archive unpacked into a staging folder, every member checked against the manifest."""

    path: Path
    manifest: dict[str, Any]
    directory: Path

    @property
    def backend(self) -> str:
        return str(self.manifest["database"]["backend"])

    @property
    def revision(self) -> str:
        return str(self.manifest["alembic_revision"])

    @property
    def database_file(self) -> Path:
        return self.directory / self.manifest["database"]["file"]


def default_archive_path(instance_path: Path, moment: dt.datetime) -> Path:
    """`instance/backups/experts-backup-YYYYmmdd-HHMMSS.tar.gz` (UTC)."""
    return instance_path / "backups" / f"experts-backup-{moment:%Y%m%d-%H%M%S}.tar.gz"


def describe(manifest: dict[str, Any]) -> str:
    """One line about an archive, for the operator."""
    media = [m for m in manifest["members"] if m.startswith(MEDIA + "/")]
    media_size = sum(manifest["members"][m]["size"] for m in media)
    rows = sum(manifest["tables"].values())
    return (
        f"backup of {manifest.get('created_at')}: {BACKENDS[manifest['database']['backend']]} "
        f"at revision {manifest['alembic_revision']}, {rows} rows in "
        f"{len(manifest['tables'])} tables, {len(media)} media files ({size_text(media_size)})"
    )


# ---- Backup ----


def create_backup(
    target: Target, output: Path, *, moment: dt.datetime, progress: Progress | None = None
) -> BackupSummary:
    """Write one archive of the database and the media folder at `output` (never half-written).

    Everything is written in a temporary folder beside `output`, then renamed into place; on
    any failure the temporary folder goes and `output` does not exist.
    """
    progress = progress or SilentProgress()
    output = output.absolute()
    if output.exists():
        raise BackupError(f"{output} already exists")
    if output.is_relative_to(target.media_root.absolute()):
        raise BackupError(f"{output} is inside the media folder ({target.media_root})")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".experts-backup-", dir=output.parent) as work:
        member = databases.DATABASE_MEMBERS[target.backend]
        dump = Path(work) / member
        facts = databases.dump_database(target.url, dump, progress.step)
        partial = Path(work) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=COMPRESS_LEVEL) as tar:
            members = add_files(tar, dump, member, target.media_root, progress)
            manifest = _manifest(target.backend, member, facts, members, moment)
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(moment.timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.chmod(0o600)  # password hashes and personal data
        os.replace(partial, output)
    size = output.stat().st_size
    logger.info("backup written to %s (%d bytes)", output, size)
    return BackupSummary(output, size, manifest)


def _manifest(
    backend: str,
    member: str,
    facts: DatabaseFacts,
    members: dict[str, dict[str, Any]],
    moment: dt.datetime,
) -> dict[str, Any]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": moment.isoformat(),
        "alembic_revision": facts.revision,
        "code_head": script.get_current_head(),
        "database": {"backend": backend, "file": member, **facts.details},
        "tables": facts.counts,
        "members": members,
    }


# ---- Restore ----


@contextmanager
def staged_archive(
    path: Path, target: Target, progress: Progress | None = None
) -> Iterator[StagedArchive]:
    """Unpack an archive beside the media folder and check it; the staging folder goes after.

    Raises BackupError, with nothing touched, when any member differs from the manifest.
    """
    progress = progress or SilentProgress()
    work = target.media_root.absolute().parent
    work.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".experts-restore-", dir=work))
    try:
        progress.step(f"checking {path}")
        manifest = unpack_checked(path, staging, progress)
        yield StagedArchive(path, manifest, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_restorable(staged: StagedArchive, target: Target) -> None:
    """Refuse, before anything is touched, an archive this code or this database cannot take."""
    if staged.backend != target.backend:
        raise BackupError(
            f"this archive holds a {BACKENDS[staged.backend]} database and the configured "
            f"database is {BACKENDS[target.backend]}: restoring across backends is not supported"
        )
    script = ScriptDirectory.from_config(alembic_config(target.url))
    try:
        script.get_revision(staged.revision)
    except CommandError:
        raise BackupError(
            f"the archive's schema (revision {staged.revision}) is newer than this code knows "
            f"(head {script.get_current_head()}): restore it with a newer version"
        ) from None
    databases.check_target(staged.manifest["database"], target.url)


def restore_backup(staged: StagedArchive, target: Target, progress: Progress | None = None) -> None:
    """Replace the database and the media folder with a checked archive's, then migrate.

    The app's pooled connections are closed first; the server and workers should be stopped.
    """
    from core.db import db

    progress = progress or SilentProgress()
    check_restorable(staged, target)
    db.registry.remove()
    if db.engine is not None:
        db.engine.dispose()
    progress.step(f"restoring the {BACKENDS[staged.backend]} database")
    databases.restore_database(staged.manifest["database"], staged.database_file, target.url)
    counts = databases.table_counts(target.url)
    if counts != staged.manifest["tables"]:
        differ = sorted(
            name
            for name in set(counts) | set(staged.manifest["tables"])
            if counts.get(name) != staged.manifest["tables"].get(name)
        )
        raise BackupError(f"the restored database differs from the manifest: {', '.join(differ)}")
    progress.step(f"restoring the media folder {target.media_root}")
    _replace_media(staged.directory / MEDIA, target.media_root)
    head = ScriptDirectory.from_config(alembic_config(target.url)).get_current_head()
    if staged.revision != head:
        progress.step(f"upgrading the database from revision {staged.revision} to {head}")
        upgrade("head", url=target.url)
    logger.info("backup %s restored", staged.path)


def _replace_media(incoming: Path, media_root: Path) -> None:
    """Swap the staged media folder in by renames; copy when the folder is a mount point."""
    incoming.mkdir(exist_ok=True)
    media_root = media_root.absolute()
    aside = media_root.with_name(f".{media_root.name}.before-restore-{uuid.uuid4().hex[:8]}")
    try:
        if media_root.exists():
            os.rename(media_root, aside)
        os.rename(incoming, media_root)
    except OSError:
        if aside.exists() and not media_root.exists():
            os.rename(aside, media_root)
        # A mount point cannot be renamed: empty it and move the new files in.
        for child in media_root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for child in incoming.iterdir():
            shutil.move(child, media_root / child.name)
        return
    shutil.rmtree(aside, ignore_errors=True)
