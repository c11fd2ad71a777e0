"""Backups, the archive itself: a gzipped tar whose members are checked against a manifest.

Writing, every member's SHA-256 is computed from the very bytes that go into the archive;
reading, every member is unpacked into a staging folder and hashed on the way, and the gzip
trailer (a CRC-32 of all the data) is read too: a flipped byte in a member, in the manifest or
in the compressed stream is caught.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import stat
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from core.backup_databases import BACKENDS, DATABASE_MEMBERS, BackupError

logger = logging.getLogger(__name__)

FORMAT = "experts-backup"
#: Raised when the layout changes; a restore refuses archives of another format.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEDIA = "media"
CHUNK = 1024 * 1024


class Progress(Protocol):
    """Where a long operation reports: a line per step, and bytes done out of a total."""

    def step(self, message: str) -> None: ...

    def advance(self, label: str, done: int, total: int) -> None: ...


class SilentProgress:
    """Progress that goes nowhere (the services' default)."""

    def step(self, message: str) -> None:
        logger.info("%s", message)

    def advance(self, label: str, done: int, total: int) -> None:
        pass


class _HashingReader:
    """Reads exactly `size` bytes of a file, hashing what it hands out.

    A file that shrinks while it is read is padded with zeros (and flagged): the tar header,
    already written, promised `size` bytes.
    """

    def __init__(self, source: IO[bytes], size: int, advance: Callable[[int], None]) -> None:
        self.source = source
        self.left = size
        self.digest = hashlib.sha256()
        self.changed = False
        self.advance = advance

    def read(self, amount: int = -1) -> bytes:
        amount = self.left if amount < 0 else min(amount, self.left)
        data = self.source.read(amount)
        if len(data) < amount:
            self.changed = True
            data += b"\0" * (amount - len(data))
        self.left -= len(data)
        self.digest.update(data)
        self.advance(len(data))
        return data


def media_files(media_root: Path) -> list[tuple[str, Path, int]]:
    """Every regular file under the media folder: archive name, path and size."""
    files = []
    for folder, _dirs, names in os.walk(media_root):
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                logger.warning("backup: %s skipped (not a regular file)", path)
                continue
            relative = path.relative_to(media_root).as_posix()
            files.append((f"{MEDIA}/{relative}", path, path.stat().st_size))
    return sorted(files)


def add_files(
    tar: tarfile.TarFile, dump: Path, member: str, media_root: Path, progress: Progress
) -> dict[str, dict[str, Any]]:
    """Add the database dump and the media files; returns each member's sha256 and size."""
    files = [(member, dump, dump.stat().st_size), *media_files(media_root)]
    total = sum(size for _name, _path, size in files)
    progress.step(f"archiving the database and {len(files) - 1} media files ({size_text(total)})")
    members: dict[str, dict[str, Any]] = {}
    done = 0

    def advance(amount: int) -> None:
        nonlocal done
        done += amount
        progress.advance("archive", done, total)

    for name, path, _size_seen in files:
        try:
            source = path.open("rb")
        except FileNotFoundError:
            logger.warning("backup: %s vanished before it was read", path)
            continue
        with source:
            status = os.fstat(source.fileno())
            info = tarfile.TarInfo(name)
            info.size = status.st_size
            info.mtime = int(status.st_mtime)
            info.mode = stat.S_IMODE(status.st_mode)
            reader = _HashingReader(source, info.size, advance)
            tar.addfile(info, reader)
        if reader.changed:
            progress.step(f"warning: {path} changed while it was archived")
        members[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}
    return members


def _member_path(staging: Path, name: str) -> Path:
    """Where a member goes in the staging folder; only our own member names are accepted."""
    path = PurePosixPath(name)
    plain = name == path.as_posix() and not path.is_absolute() and ".." not in path.parts
    ours = name in DATABASE_MEMBERS.values() or (len(path.parts) > 1 and path.parts[0] == MEDIA)
    if not (plain and ours) or "\\" in name:
        raise BackupError(f"unexpected member {name!r}: not an experts backup")
    return staging.joinpath(*path.parts)


def unpack_checked(path: Path, staging: Path, progress: Progress) -> dict[str, Any]:
    """Unpack every member into `staging` and return the manifest, once all of it agrees."""
    seen: dict[str, dict[str, Any]] = {}
    manifest_bytes: bytes | None = None
    total = path.stat().st_size
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            with tarfile.open(fileobj=unzipped, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        raise BackupError(f"unexpected member {member.name!r}: not a file")
                    source = tar.extractfile(member)
                    assert source is not None
                    if member.name == MANIFEST:
                        manifest_bytes = source.read()
                        continue
                    if member.name in seen:
                        raise BackupError(f"member {member.name!r} twice: not an experts backup")
                    destination = _member_path(staging, member.name)
                    seen[member.name] = _copy_hashed(source, destination, member)
                    progress.advance("check", raw.tell(), total)
            # Read to the end: the gzip trailer (CRC-32 and length) covers every byte.
            while unzipped.read(CHUNK):
                pass
    except (OSError, EOFError, tarfile.TarError, zlib.error) as error:
        raise BackupError(f"{path} is corrupted or not a backup archive ({error})") from None
    if manifest_bytes is None:
        raise BackupError(f"{path} has no manifest: corrupted or not a backup archive")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise BackupError(f"{path} has an unreadable manifest: corrupted") from None
    _check_manifest(path, manifest, seen)
    return dict(manifest)


def _copy_hashed(source: IO[bytes], destination: Path, member: tarfile.TarInfo) -> dict[str, Any]:
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with destination.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    destination.chmod(member.mode & 0o777 or 0o600)
    os.utime(destination, (member.mtime, member.mtime))
    return {"sha256": digest.hexdigest(), "size": size}


def _check_manifest(path: Path, manifest: Any, seen: dict[str, dict[str, Any]]) -> None:
    """The manifest is ours, of a format we read, and lists exactly the members found."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not an experts backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is in backup format {manifest.get('format_version')}, this code reads "
            f"format {FORMAT_VERSION}: restore it with the version that wrote it"
        )
    database = manifest.get("database")
    well_formed = (
        isinstance(database, dict)
        and database.get("backend") in BACKENDS
        and database.get("file") == DATABASE_MEMBERS[database["backend"]]
        and (database["backend"] != "postgresql" or isinstance(database.get("schema"), str))
        and isinstance(manifest.get("alembic_revision"), str)
        and isinstance(manifest.get("tables"), dict)
        and isinstance(manifest.get("members"), dict)
    )
    if not well_formed or not isinstance(database, dict):
        raise BackupError(f"{path} has an incomplete manifest: corrupted")
    listed = manifest["members"]
    for name in sorted(set(listed) | set(seen)):
        if name not in seen:
            raise BackupError(f"{path} is corrupted: {name} is missing")
        if listed.get(name) != seen[name]:
            raise BackupError(f"{path} is corrupted: {name} does not match its checksum")
    if database["file"] not in seen:
        raise BackupError(f"{path} is corrupted: the database is missing")


def size_text(size: float) -> str:
    """A size for people: 512 B, 3.4 MB."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError
