"""Resumable uploads (tus 1.0.0): create, HEAD, PATCH, resume after a drop, limits, access."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.api import build_document
from series.episodes import uploads
from tests.conftest import csrf_token

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


class Tus:
    """A tus client over the Flask test client, as a browser would send it (CSRF header)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = csrf_token(client)

    def headers(self, **extra: str) -> dict[str, str]:
        return {**TUS, "X-CSRFToken": self.token, **extra}

    def create(self, length: int, filename: str = "master.mp4", **headers: str) -> Any:
        metadata = "filename " + base64.b64encode(filename.encode()).decode()
        return self.client.post(
            "/api/v1/uploads",
            headers=self.headers(
                **{"Upload-Length": str(length), "Upload-Metadata": metadata}, **headers
            ),
        )

    def head(self, location: str) -> Any:
        return self.client.head(location, headers=TUS)

    def patch(self, location: str, offset: int, body: bytes, **extra: Any) -> Any:
        return self.client.patch(
            location,
            data=body,
            headers=self.headers(**{"Upload-Offset": str(offset), "Content-Type": OCTETS}),
            **extra,
        )

    def send(self, data: bytes, filename: str = "master.mp4", chunk: int = 64 * 1024) -> str:
        """Upload every byte; returns the upload's id."""
        created = self.create(len(data), filename)
        assert created.status_code == 201, created.get_data(as_text=True)
        location = created.headers["Location"]
        offset = 0
        while offset < len(data):
            response = self.patch(location, offset, data[offset : offset + chunk])
            assert response.status_code == 204, response.get_data(as_text=True)
            offset = int(response.headers["Upload-Offset"])
        return location.rsplit("/", 1)[-1]


def login_as(auth: Any, make_user: Any, role: str = "editor") -> Any:
    user = make_user(role=role)
    auth.login(user.email)
    return user


@pytest.fixture
def editor(auth, make_user) -> Any:
    return login_as(auth, make_user)


@pytest.fixture
def tus(client, editor) -> Tus:
    return Tus(client)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part_file(app, location: str) -> Path:
    return (
        Path(app.config["MEDIA_ROOT"])
        / "staging"
        / "uploads"
        / (location.rsplit("/", 1)[-1] + ".part")
    )


def test_options_tells_the_version_the_limit_and_the_extensions(client, editor, app):
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Max-Size"] == str(app.config["UPLOAD_MAX_SIZE"])
    assert "creation" in response.headers["Tus-Extension"].split(",")


def test_create_head_patch_gives_back_the_same_bytes(tus, app):
    data = os.urandom(300_000)
    created = tus.create(len(data), "Épisode 1 — master.mov")
    assert created.status_code == 201
    assert created.headers["Tus-Resumable"] == "1.0.0"
    location = created.headers["Location"]
    assert location.startswith("/api/v1/uploads/")
    assert created.get_json()["filename"] == "Épisode 1 — master.mov"

    head = tus.head(location)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Tus-Resumable"] == "1.0.0"
    assert "filename" in head.headers["Upload-Metadata"]

    offsets = []
    offset = 0
    for start in range(0, len(data), 128 * 1024):
        response = tus.patch(location, offset, data[start : start + 128 * 1024])
        assert response.status_code == 204
        assert response.headers["Tus-Resumable"] == "1.0.0"
        offset = int(response.headers["Upload-Offset"])
        offsets.append(offset)
    assert offsets == [131072, 262144, 300000]
    assert tus.head(location).headers["Upload-Offset"] == str(len(data))
    assert sha256(part_file(app, location).read_bytes()) == sha256(data)


def test_a_body_cut_short_keeps_what_arrived_and_the_upload_resumes(tus, app):
    data = os.urandom(250_000)
    location = tus.create(len(data)).headers["Location"]
    # The connection drops after 70 000 of the 150 000 announced bytes.
    dropped = tus.client.patch(
        location,
        input_stream=io.BytesIO(data[:70_000]),
        headers=tus.headers(**{"Upload-Offset": "0", "Content-Type": OCTETS}),
        environ_overrides={"CONTENT_LENGTH": "150000"},
    )
    assert dropped.status_code == 204
    assert dropped.headers["Upload-Offset"] == "70000"
    # The client does not know how much arrived: it asks, then resumes from there.
    offset = int(tus.head(location).headers["Upload-Offset"])
    assert offset == 70_000
    while offset < len(data):
        response = tus.patch(location, offset, data[offset : offset + 100_000])
        assert response.status_code == 204
        offset = int(response.headers["Upload-Offset"])
    assert sha256(part_file(app, location).read_bytes()) == sha256(data)


def test_a_client_that_assumed_too_much_gets_409_then_resumes(tus, app):
    data = os.urandom(200_000)
    location = tus.create(len(data)).headers["Location"]
    # First PATCH stops mid-way: the client believes 100 000 bytes arrived, only 40 000 did.
    tus.client.patch(
        location,
        input_stream=io.BytesIO(data[:40_000]),
        headers=tus.headers(**{"Upload-Offset": "0", "Content-Type": OCTETS}),
        environ_overrides={"CONTENT_LENGTH": "100000"},
    )
    conflict = tus.patch(location, 100_000, data[100_000:])
    assert conflict.status_code == 409
    assert conflict.get_json()["error"] == "offset_mismatch"
    assert conflict.headers["Tus-Resumable"] == "1.0.0"
    offset = int(tus.head(location).headers["Upload-Offset"])
    assert offset == 40_000
    assert tus.patch(location, offset, data[offset:]).status_code == 204
    assert sha256(part_file(app, location).read_bytes()) == sha256(data)


def test_a_wrong_offset_is_a_conflict(tus):
    location = tus.create(1000).headers["Location"]
    assert tus.patch(location, 0, b"x" * 100).status_code == 204
    for wrong in (0, 50, 200):
        response = tus.patch(location, wrong, b"y" * 10)
        assert response.status_code == 409
        assert response.headers["Upload-Offset"] == "100"
    assert tus.head(location).headers["Upload-Offset"] == "100"


def test_over_the_size_limit_is_refused_at_creation(client, auth, make_user, app):
    app.config["UPLOAD_MAX_SIZE"] = 1000
    login_as(auth, make_user)
    tus = Tus(client)
    too_big = tus.create(1001)
    assert too_big.status_code == 413
    assert too_big.get_json()["error"] == "too_large"
    assert too_big.headers["Tus-Resumable"] == "1.0.0"
    assert tus.create(1000).status_code == 201
    assert client.options("/api/v1/uploads").headers["Tus-Max-Size"] == "1000"


def test_more_bytes_than_announced_are_refused(tus):
    location = tus.create(100).headers["Location"]
    response = tus.patch(location, 0, b"z" * 101)
    assert response.status_code == 413
    assert tus.head(location).headers["Upload-Offset"] == "0"


def test_a_wrong_content_type_is_415(tus):
    location = tus.create(100).headers["Location"]
    response = tus.client.patch(
        location,
        data=b"abc",
        headers=tus.headers(**{"Upload-Offset": "0", "Content-Type": "application/json"}),
    )
    assert response.status_code == 415
    assert response.headers["Tus-Resumable"] == "1.0.0"


def test_a_missing_or_other_protocol_version_is_412(tus):
    for headers in ({}, {"Tus-Resumable": "0.2.2"}):
        response = tus.client.post(
            "/api/v1/uploads",
            headers={"X-CSRFToken": tus.token, "Upload-Length": "10", **headers},
        )
        assert response.status_code == 412
        assert response.headers["Tus-Version"] == "1.0.0"
        assert response.headers["Tus-Resumable"] == "1.0.0"
    location = tus.create(10).headers["Location"]
    assert tus.client.head(location).status_code == 412


def test_bad_length_or_metadata_is_400(tus):
    bad_length = tus.client.post("/api/v1/uploads", headers=tus.headers(**{"Upload-Length": "-5"}))
    assert bad_length.status_code == 400
    bad_metadata = tus.client.post(
        "/api/v1/uploads",
        headers=tus.headers(**{"Upload-Length": "5", "Upload-Metadata": "filename %%%"}),
    )
    assert bad_metadata.status_code == 400
    assert bad_metadata.get_json()["error"] == "invalid_metadata"


def test_the_file_name_is_reduced_to_a_safe_base_name(tus):
    created = tus.create(10, "../../etc/passwd")
    assert created.get_json()["filename"] == "passwd"
    assert uploads.safe_filename("C:\\Users\\me\\film.mxf") == "film.mxf"
    assert uploads.safe_filename("") == "master"


def test_only_editors_upload(client, auth, make_user):
    anonymous = Tus(client).create(10)
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"] == "login_required"
    assert anonymous.headers["Tus-Resumable"] == "1.0.0"
    assert client.head("/api/v1/uploads/" + "0" * 32, headers=TUS).status_code == 401
    login_as(auth, make_user, "viewer")
    viewer = Tus(client).create(10)
    assert viewer.status_code == 403
    assert viewer.get_json()["error"] == "forbidden"


def test_another_editors_upload_is_not_found(client, auth, make_user):
    login_as(auth, make_user)
    location = Tus(client).create(100).headers["Location"]
    auth.logout()
    login_as(auth, make_user)
    other = Tus(client)
    assert other.head(location).status_code == 404
    assert other.patch(location, 0, b"a").status_code == 404
    assert other.client.delete(location, headers=other.headers()).status_code == 404
    assert other.head("/api/v1/uploads/not-an-id").status_code == 404


def test_browsers_need_the_csrf_header_token_callers_do_not(client, editor, make_token, app):
    tus = Tus(client)
    location = tus.create(10).headers["Location"]
    no_csrf = client.patch(
        location, data=b"abc", headers={**TUS, "Upload-Offset": "0", "Content-Type": OCTETS}
    )
    assert no_csrf.status_code == 400
    assert no_csrf.get_json()["error"] == "csrf_failed"

    bearer = {"Authorization": f"Bearer {make_token(editor)}", **TUS}
    api = app.test_client()
    created = api.post("/api/v1/uploads", headers={**bearer, "Upload-Length": "3"})
    assert created.status_code == 201
    done = api.patch(
        created.headers["Location"],
        data=b"abc",
        headers={**bearer, "Upload-Offset": "0", "Content-Type": OCTETS},
    )
    assert done.status_code == 204
    assert done.headers["Upload-Offset"] == "3"


def test_delete_cancels_an_upload(tus, app):
    location = tus.create(100).headers["Location"]
    tus.patch(location, 0, b"a" * 10)
    assert part_file(app, location).exists()
    response = tus.client.delete(location, headers=tus.headers())
    assert response.status_code == 204
    assert not part_file(app, location).exists()
    assert tus.head(location).status_code == 404


def test_a_consumed_upload_is_gone(tus, app, app_context):
    upload_id = tus.send(b"data" * 10)
    upload = uploads.load_upload(upload_id)
    assert upload is not None
    target = Path(app.config["MEDIA_ROOT"]) / "staging" / "taken.bin"
    uploads.consume_upload(upload, target)
    assert target.read_bytes() == b"data" * 10
    location = f"/api/v1/uploads/{upload_id}"
    assert tus.head(location).status_code == 410
    assert tus.patch(location, 40, b"").status_code == 410
    with pytest.raises(uploads.UploadGone):
        uploads.consume_upload(upload, target)


def test_idle_uploads_are_deleted_when_a_new_one_starts(tus, app):
    old = tus.create(100).headers["Location"]
    tus.patch(old, 0, b"a" * 10)
    folder = Path(app.config["MEDIA_ROOT"]) / "staging" / "uploads"
    long_ago = time.time() - 25 * 3600
    for path in folder.glob(old.rsplit("/", 1)[-1] + ".*"):
        os.utime(path, (long_ago, long_ago))
    recent = tus.create(100).headers["Location"]
    assert tus.head(old).status_code == 404
    assert not list(folder.glob(old.rsplit("/", 1)[-1] + ".*"))
    assert tus.head(recent).status_code == 200


def test_upload_routes_are_described_in_the_api_document(app):
    paths = build_document(app)["paths"]
    assert set(paths["/api/v1/uploads"]) == {"post"}
    assert {"patch", "delete"} <= set(paths["/api/v1/uploads/{upload_id}"])
    assert "409" in paths["/api/v1/uploads/{upload_id}"]["patch"]["responses"]
