"""How responses travel: gzip for text, a year of caching for fingerprinted static files.

Pages, styles, scripts and JSON are gzip-compressed when the browser accepts it (a phone on a
slow network gets a third of the bytes); video, images and anything already encoded are sent
as they are. `url_for('static', ...)` adds `?v=<content hash>` to every static URL, and a
request carrying the file's current hash may be kept by browsers for a year without asking
again; without it (a module imported by another, an old page) the file is revalidated
with its ETag as before.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, Response, request
from werkzeug.security import safe_join

#: Media types worth compressing besides text/*: JSON, XML, SVG, the HLS playlist.
COMPRESSIBLE = frozenset(
    {
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "application/xml",
        "application/atom+xml",
        "application/rss+xml",
        "application/geo+json",
        "application/vnd.apple.mpegurl",
        "image/svg+xml",
    }
)
#: Below this many bytes gzip's header and the extra header line cost more than they save.
MIN_SIZE = 512
#: Files (send_file) larger than this are sent as they are: none of the site's text is.
MAX_FILE_SIZE = 4 * 1024 * 1024
#: zlib's default trade-off; the compressed static files are kept, so it is paid once.
LEVEL = 6
#: How long a browser may keep a static file whose URL names its content.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Compressed static files kept in memory, by path and ETag.
CACHE_ENTRIES = 128
#: Length of the content hash in static URLs (hex digits).
VERSION_LENGTH = 12

_compressed: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_versions: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def init_delivery(app: Flask) -> None:
    """Fingerprint static URLs; compress and set cache headers on the way out.

    Registered before every other after_request hook, so it runs last, on the final body.
    """

    @app.url_defaults
    def _static_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _deliver(response: Response) -> Response:
        if request.endpoint == "static":
            cache_static(app, response)
        return compress(response)


def static_version(app: Flask, filename: str) -> str | None:
    """The first hex digits of the file's SHA-256, recomputed when the file changes."""
    path = safe_join(app.static_folder or "", filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    known = _versions.get(path)
    if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    with open(path, "rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()[:VERSION_LENGTH]
    _versions[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def cache_static(app: Flask, response: Response) -> None:
    """A year for a static file asked for by its current hash; no-cache (ETag) otherwise."""
    version = request.args.get("v")
    filename = (request.view_args or {}).get("filename")
    if response.status_code not in (200, 304) or not version or not filename:
        return
    if version == static_version(app, filename):
        response.headers["Cache-Control"] = IMMUTABLE


def compressible(response: Response) -> bool:
    mimetype = response.mimetype or ""
    return mimetype.startswith("text/") or mimetype in COMPRESSIBLE


def compress(response: Response) -> Response:
    """The response gzip-encoded when the browser takes it and it is worth it."""
    if not compressible(response):
        return response
    response.vary.add("Accept-Encoding")
    if (
        request.method == "HEAD"
        or response.status_code in (204, 206, 304)
        or response.status_code < 200
        or "Content-Encoding" in response.headers
        or "X-Accel-Redirect" in response.headers
        or "no-transform" in response.headers.get("Cache-Control", "")
        or request.accept_encodings["gzip"] <= 0
    ):
        return response
    if response.direct_passthrough:
        # A file from send_file: read it when small enough (a generator is left alone).
        size = response.content_length
        if size is None or size > MAX_FILE_SIZE:
            return response
        response.direct_passthrough = False
        body = _read_file(response)
        response.set_data(body)  # the file is read: the body must stay, compressed or not
    elif response.is_streamed:
        return response
    else:
        body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    etag, weak = response.get_etag()
    if etag and request.endpoint == "static":
        packed = _gzip_cached(request.path, etag, body)
    else:
        packed = _gzip(body)
    response.set_data(packed)
    response.headers["Content-Encoding"] = "gzip"
    if etag and not weak:
        # Same content, other bytes: a weak validator (If-None-Match compares weakly).
        response.set_etag(etag, weak=True)
    return response


def _read_file(response: Response) -> bytes:
    """The whole body of a send_file response, its file closed."""
    wrapper = response.response
    try:
        return b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in wrapper)
    finally:
        close = getattr(wrapper, "close", None)
        if close is not None:
            close()


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)


def _gzip_cached(path: str, etag: str, body: bytes) -> bytes:
    """Compress once per version of a static file (Flask's ETag names its content)."""
    key = (path, etag)
    with _lock:
        packed = _compressed.get(key)
        if packed is not None:
            _compressed.move_to_end(key)
            return packed
    packed = _gzip(body)
    with _lock:
        _compressed[key] = packed
        while len(_compressed) > CACHE_ENTRIES:
            _compressed.popitem(last=False)
    return packed
