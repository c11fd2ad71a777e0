"""Compression of text responses and caching of fingerprinted static files (core.delivery)."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from flask import url_for

from core.config import PROJECT_ROOT

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
SITE_CSS = PROJECT_ROOT / "static" / "css" / "site.css"


def get(client, url: str, **headers: str):
    """A GET whose body is read and whose file (static files are streamed) is closed."""
    response = client.get(url, headers=headers)
    response.get_data()
    response.close()
    return response


def _vary(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}


def test_pages_are_gzipped_when_the_browser_accepts_it(client, db):
    plain = get(client, "/")
    packed = get(client, "/", **GZIP)

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2
    html = gzip.decompress(packed.data).decode()
    assert "<html" in html
    assert "</html>" in html
    # A cache must keep both forms apart.
    assert "accept-encoding" in _vary(plain)
    assert "accept-encoding" in _vary(packed)


def test_scripts_styles_and_json_are_gzipped(client, db):
    for path in ("/static/js/player.js", "/static/css/site.css", "/api/openapi.json"):
        response = get(client, path, **GZIP)
        assert response.status_code == 200, path
        assert response.headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(response.data), path


def test_static_file_gzip_matches_the_file(client, db):
    response = get(client, "/static/css/site.css", **GZIP)
    assert gzip.decompress(response.data) == SITE_CSS.read_bytes()
    # Compressed once, then served from memory: same bytes the second time.
    assert get(client, "/static/css/site.css", **GZIP).data == response.data


def test_no_gzip_without_accept_encoding_or_when_refused(client, db):
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        response = get(client, "/static/css/site.css", **headers)
        assert "Content-Encoding" not in response.headers, headers
        assert response.data == SITE_CSS.read_bytes(), headers


def test_images_and_small_bodies_are_sent_as_they_are(client, db):
    tile = get(client, "/static/img/test-map-tile.png", **GZIP)
    assert tile.status_code == 200
    assert "Content-Encoding" not in tile.headers
    assert "accept-encoding" not in _vary(tile)
    assert tile.data == (PROJECT_ROOT / "static/img/test-map-tile.png").read_bytes()

    icon = get(client, "/static/img/icon.svg", **GZIP)  # text, but too small to gain
    assert icon.status_code == 200
    assert "Content-Encoding" not in icon.headers
    assert icon.data == (PROJECT_ROOT / "static/img/icon.svg").read_bytes()

    health = get(client, "/healthz", **GZIP)  # a few bytes of JSON
    assert health.status_code == 200
    assert "Content-Encoding" not in health.headers
    assert health.get_json()["status"] == "ok"


def test_ranges_are_not_compressed(client, db):
    response = get(client, "/static/css/site.css", **GZIP, Range="bytes=0-99")
    assert response.status_code == 206
    assert "Content-Encoding" not in response.headers
    assert response.data == SITE_CSS.read_bytes()[:100]


def test_compressed_etag_is_weak_and_still_revalidates(client, db):
    first = get(client, "/static/css/site.css", **GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = get(client, "/static/css/site.css", **{**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""


def test_static_urls_carry_the_content_hash(app, client, db):
    digest = hashlib.sha256(SITE_CSS.read_bytes()).hexdigest()[:12]
    with app.test_request_context():
        assert url_for("static", filename="css/site.css") == f"/static/css/site.css?v={digest}"
        # A missing file gets no version, as before.
        assert url_for("static", filename="css/nope.css") == "/static/css/nope.css"
    html = get(client, "/").get_data(as_text=True)
    assert f'href="/static/css/site.css?v={digest}"' in html
    assert re.search(r'src="/static/js/site\.js\?v=[0-9a-f]{12}"', html)


def test_fingerprinted_static_files_are_cached_for_a_year(app, client, db):
    with app.test_request_context():
        current = url_for("static", filename="css/site.css")
    fresh = get(client, current)
    assert fresh.status_code == 200
    assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    # Without the hash, or with an old one: the browser asks again every time.
    for url in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        response = get(client, url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-cache", url


def test_static_version_follows_the_file(app, tmp_path: Path):
    from core.delivery import static_version

    app.static_folder = str(tmp_path)
    asset = tmp_path / "a.js"
    asset.write_text("one")
    before = static_version(app, "a.js")
    asset.write_text("two, longer")
    after = static_version(app, "a.js")
    assert before
    assert after
    assert before != after
    assert after == hashlib.sha256(b"two, longer").hexdigest()[:12]
    assert static_version(app, "../secret") is None
