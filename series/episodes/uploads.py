"""Resumable uploads of masters: the tus 1.0.0 core protocol with creation and termination.

State lives on disk beside the data, so any server process (or one restarted) can continue an
upload: `MEDIA_ROOT/staging/uploads/<id>.part` holds the bytes received so far (its size *is*
the offset) and `<id>.json` the owner, announced length, file name and creation time. Once the
editor starts the ingest, the part file is moved into the staging folder and the JSON becomes a
tombstone, so later requests for the upload answer 410 Gone.

Protocol: https://tus.io/protocols/resumable-upload
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from flask import Blueprint, Response, current_app, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.exceptions import ClientDisconnected

from core.accounts.auth import roles_required
from core.api import SCHEMAS, operation, ref
from core.errors import ApiError
from core.i18n import gettext as _
from series.episodes.services import staging_dir

logger = logging.getLogger(__name__)

bp = Blueprint("uploads", __name__, url_prefix="/api/v1/uploads")

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
#: Bytes read from the request body per loop turn: memory stays flat whatever the chunk size.
READ_BLOCK = 1024 * 1024
#: Unfinished uploads (and tombstones) idle for longer are deleted.
MAX_IDLE_S = 24 * 3600
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_METADATA_KEY = re.compile(r"^[!-+\--~]+$")  # printable ASCII without space or comma

SCHEMAS["Upload"] = {
    "type": "object",
    "required": ["id", "location", "length", "offset"],
    "properties": {
        "id": {"type": "string"},
        "location": {"type": "string", "description": "URL of the upload (also in Location)"},
        "length": {"type": "integer"},
        "offset": {"type": "integer"},
        "filename": {"type": "string"},
    },
}

_TUS_HEADERS = [
    {
        "name": "Tus-Resumable",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "enum": [TUS_VERSION]},
        "description": "Protocol version; any other value (or none) answers 412.",
    }
]


@dataclass
class Upload:
    """One resumable upload: its metadata, with the bytes in a part file beside it."""

    id: str
    owner_id: int
    length: int
    filename: str
    #: The Upload-Metadata header of the creation request, echoed by HEAD.
    metadata: str = ""
    created_at: float = field(default_factory=time.time)
    #: Set once the master was handed to the ingest: the upload answers 410 from then on.
    consumed: bool = False

    @property
    def part_path(self) -> Path:
        return uploads_dir() / f"{self.id}.part"

    @property
    def meta_path(self) -> Path:
        return uploads_dir() / f"{self.id}.json"

    @property
    def offset(self) -> int:
        """Bytes received so far: the size of the part file."""
        try:
            return self.part_path.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def complete(self) -> bool:
        return self.offset >= self.length

    def save(self) -> None:
        """Write the metadata atomically (a reader never sees half a file)."""
        temporary = uploads_dir() / f"{self.id}.{uuid.uuid4().hex[:8]}.tmp"
        temporary.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(temporary, self.meta_path)


class UploadGone(Exception):
    """The upload was consumed, or vanished while being used."""


def uploads_dir() -> Path:
    """Folder of the uploads in progress (inside the staging folder, same file system)."""
    path = staging_dir() / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_upload(upload_id: str) -> Upload | None:
    """An upload by id, or None when unknown (or the id is malformed)."""
    if not _UPLOAD_ID.match(upload_id):
        return None
    path = uploads_dir() / f"{upload_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return Upload(**data)


def owned_upload(upload_id: str, user_id: int) -> Upload:
    """The caller's upload; 404 for unknown or someone else's, 410 once consumed."""
    upload = load_upload(upload_id)
    if upload is None or upload.owner_id != user_id:
        raise ApiError(404, "not_found", _("Téléversement introuvable."))
    if upload.consumed:
        raise ApiError(410, "upload_consumed", _("Ce téléversement a déjà été utilisé."))
    return upload


def create_upload(owner_id: int, length: int, filename: str, metadata: str = "") -> Upload:
    """Register a new upload with an empty part file."""
    upload = Upload(
        id=uuid.uuid4().hex,
        owner_id=owner_id,
        length=length,
        filename=filename,
        metadata=metadata,
    )
    upload.part_path.touch()
    upload.save()
    logger.info(
        "upload %s created by user %s: %s (%d bytes)", upload.id, owner_id, filename, length
    )
    return upload


def delete_upload(upload: Upload) -> None:
    """Remove an upload's data and metadata."""
    upload.part_path.unlink(missing_ok=True)
    upload.meta_path.unlink(missing_ok=True)


def consume_upload(upload: Upload, destination: Path) -> None:
    """Move a complete upload's bytes to `destination` and leave a tombstone (then 410)."""
    try:
        # Atomic on one file system: of two concurrent ingest requests, one gets the file.
        os.rename(upload.part_path, destination)
    except FileNotFoundError as error:
        raise UploadGone(upload.id) from error
    upload.consumed = True
    upload.save()
    logger.info("upload %s moved to %s", upload.id, destination.name)


def cleanup_stale_uploads(max_idle_s: float = MAX_IDLE_S) -> int:
    """Delete uploads (and tombstones) untouched for longer than max_idle_s; returns how many."""
    limit = time.time() - max_idle_s
    removed = 0
    folder = uploads_dir()
    for path in folder.iterdir():
        if path.suffix not in (".json", ".part", ".tmp"):
            continue
        stem = path.name.split(".", 1)[0]
        related = [p for p in (folder / f"{stem}.json", folder / f"{stem}.part") if p.exists()]
        try:
            last_activity = max((p.stat().st_mtime for p in related), default=0.0)
            if path.suffix == ".tmp":
                last_activity = path.stat().st_mtime
        except FileNotFoundError:
            continue
        if last_activity < limit:
            path.unlink(missing_ok=True)
            if path.suffix == ".json":
                removed += 1
    if removed:
        logger.info("%d stale upload(s) deleted", removed)
    return removed


@contextlib.contextmanager
def _locked(handle: IO[bytes]) -> Iterator[None]:
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def append_chunk(upload: Upload, offset: int, stream: IO[bytes], limit: int) -> int:
    """Append up to `limit` bytes of `stream` at `offset`; returns the new offset.

    The body is read in bounded blocks. Each block is written under a lock, and only if the
    part file still ends at the expected position: a stale request that wakes up after the
    client resumed elsewhere stops instead of corrupting the file. A client that disconnects
    mid-body keeps the bytes that arrived (the next HEAD reports them).
    """
    position = offset
    with upload.part_path.open("ab") as handle:
        while position - offset < limit:
            try:
                block = stream.read(min(READ_BLOCK, limit - (position - offset)))
            except (ClientDisconnected, OSError):
                logger.info("upload %s: client gone at offset %d", upload.id, position)
                break
            if not block:
                break
            with _locked(handle):
                if os.fstat(handle.fileno()).st_size != position:
                    raise ApiError(
                        409, "offset_mismatch", _("Un autre envoi a modifié ce téléversement.")
                    )
                handle.write(block)
                handle.flush()
            position += len(block)
    return position


def _tus_response(status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(status=status)
    response.headers.update(headers or {})
    return response


def _check_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        error = ApiError(
            412,
            "unsupported_version",
            _(
                "Version du protocole de téléversement non prise en charge (tus %(v)s attendu).",
                v=TUS_VERSION,
            ),
        )
        error.headers["Tus-Version"] = TUS_VERSION
        raise error


def _int_header(name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdecimal():
        raise ApiError(
            400, "invalid_header", _("En-tête %(name)s manquant ou invalide.", name=name)
        )
    return int(raw)


def parse_metadata(header: str) -> dict[str, str]:
    """Decode an Upload-Metadata header: comma-separated `key base64value` pairs."""
    values: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _sep, encoded = pair.partition(" ")
        if not _METADATA_KEY.match(key) or key in values:
            raise ValueError(f"bad metadata key {key!r}")
        try:
            values[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(f"bad metadata value for {key!r}") from error
    return values


def safe_filename(name: str) -> str:
    """The last part of a client-given name, without control characters, at most 255."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "master"


@bp.after_request
def _tus_resumable(response: Response) -> Response:
    """Every response of the protocol names its version, errors included."""
    response.headers["Tus-Resumable"] = TUS_VERSION
    return response


def _options() -> Response:
    return _tus_response(
        204,
        {
            "Tus-Version": TUS_VERSION,
            "Tus-Max-Size": str(current_app.config["UPLOAD_MAX_SIZE"]),
            "Tus-Extension": TUS_EXTENSIONS,
        },
    )


@bp.route("", methods=["POST", "OPTIONS"], provide_automatic_options=False)
@roles_required("editor")
@operation(
    "Create a resumable upload of a master (tus 1.0.0 creation; OPTIONS tells the limits)",
    {
        201: ("Created: Location names the upload", ref("Upload")),
        400: ("Upload-Length or Upload-Metadata missing or invalid", ref("Error")),
        401: ("Not signed in", ref("Error")),
        403: ("Not an editor", ref("Error")),
        412: ("Tus-Resumable is not 1.0.0", ref("Error")),
        413: ("Upload-Length above UPLOAD_MAX_SIZE", ref("Error")),
        507: ("Not enough disk space", ref("Error")),
    },
    parameters=[
        *_TUS_HEADERS,
        {
            "name": "Upload-Length",
            "in": "header",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "Upload-Metadata",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "`filename <base64>` (tus metadata)",
        },
    ],
    tags=["uploads"],
    auth=True,
)
def create() -> ResponseReturnValue:
    if request.method == "OPTIONS":
        return _options()
    _check_version()
    if "Upload-Defer-Length" in request.headers:
        raise ApiError(
            400,
            "defer_length_unsupported",
            _("La longueur du fichier doit être connue dès le départ."),
        )
    length = _int_header("Upload-Length")
    max_size = int(current_app.config["UPLOAD_MAX_SIZE"])
    if length > max_size:
        raise ApiError(
            413, "too_large", _("Le fichier dépasse la taille maximale (%(n)s octets).", n=max_size)
        )
    raw_metadata = request.headers.get("Upload-Metadata", "")
    try:
        metadata = parse_metadata(raw_metadata)
    except ValueError as error:
        raise ApiError(400, "invalid_metadata", _("En-tête Upload-Metadata invalide.")) from error
    cleanup_stale_uploads()
    if shutil.disk_usage(uploads_dir()).free < length:
        raise ApiError(
            507,
            "insufficient_storage",
            _("Pas assez d'espace disque sur le serveur pour ce fichier."),
        )
    upload = create_upload(
        current_user.id, length, safe_filename(metadata.get("filename", "")), raw_metadata
    )
    location = url_for("uploads.upload", upload_id=upload.id)
    response = Response(
        json.dumps(
            {
                "id": upload.id,
                "location": location,
                "length": length,
                "offset": 0,
                "filename": upload.filename,
            }
        ),
        status=201,
        mimetype="application/json",
    )
    response.headers["Location"] = location
    response.headers["Upload-Offset"] = "0"
    return response


@bp.route(
    "/<upload_id>",
    methods=["HEAD", "PATCH", "DELETE", "OPTIONS"],
    provide_automatic_options=False,
)
@roles_required("editor")
@operation(
    "Resume an upload: HEAD tells Upload-Offset, PATCH appends bytes, DELETE cancels",
    {
        204: ("PATCH: bytes stored, Upload-Offset is the new offset; DELETE: removed", None),
        400: ("Upload-Offset missing or invalid", ref("Error")),
        401: ("Not signed in", ref("Error")),
        403: ("Not an editor", ref("Error")),
        404: ("Unknown upload, or someone else's", ref("Error")),
        409: ("Upload-Offset is not the server's offset: HEAD, then resume", ref("Error")),
        410: ("The upload was already handed to an ingest", ref("Error")),
        412: ("Tus-Resumable is not 1.0.0", ref("Error")),
        413: ("More bytes than the announced Upload-Length", ref("Error")),
        415: ("Content-Type is not application/offset+octet-stream", ref("Error")),
    },
    parameters=[
        *_TUS_HEADERS,
        {
            "name": "Upload-Offset",
            "in": "header",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
            "description": "PATCH: where the body goes",
        },
    ],
    tags=["uploads"],
    auth=True,
)
def upload(upload_id: str) -> ResponseReturnValue:
    if request.method == "OPTIONS":
        return _options()
    _check_version()
    found = owned_upload(upload_id, current_user.id)
    if request.method == "HEAD":
        headers = {
            "Upload-Offset": str(found.offset),
            "Upload-Length": str(found.length),
            "Cache-Control": "no-store",
        }
        if found.metadata:
            headers["Upload-Metadata"] = found.metadata
        return _tus_response(200, headers)
    if request.method == "DELETE":
        delete_upload(found)
        logger.info("upload %s cancelled", found.id)
        return _tus_response(204)
    return _patch(found)


def _more_to_read(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.read(1))
    except (ClientDisconnected, OSError):
        return False


def _patch(found: Upload) -> Response:
    if request.mimetype != OFFSET_CONTENT_TYPE:
        raise ApiError(
            415,
            "unsupported_media_type",
            _("Le contenu doit être envoyé en %(type)s.", type=OFFSET_CONTENT_TYPE),
        )
    offset = _int_header("Upload-Offset")
    current = found.offset
    if offset != current:
        error = ApiError(
            409,
            "offset_mismatch",
            _("Décalage incorrect : le serveur a reçu %(n)s octets.", n=current),
        )
        error.headers["Upload-Offset"] = str(current)
        raise error
    remaining = found.length - offset
    announced = request.content_length
    if announced is not None and announced > remaining:
        raise ApiError(413, "too_large", _("Plus d'octets que la longueur annoncée."))
    # The body is bounded by the upload itself, not by MAX_CONTENT_LENGTH (token callers may
    # send one large PATCH; browsers' CSRF check has already capped theirs).
    request.max_content_length = None
    new_offset = append_chunk(found, offset, request.stream, remaining)
    if announced is None and new_offset - offset == remaining and _more_to_read(request.stream):
        raise ApiError(413, "too_large", _("Plus d'octets que la longueur annoncée."))
    if not (uploads_dir() / f"{found.id}.json").exists():
        # Cancelled (or cleaned up) while the body was arriving.
        found.part_path.unlink(missing_ok=True)
        raise ApiError(404, "not_found", _("Téléversement introuvable."))
    return _tus_response(204, {"Upload-Offset": str(new_offset)})
