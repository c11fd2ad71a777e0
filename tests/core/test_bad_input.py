"""Input no handler can use is refused before it reaches one: a 4xx, never a 500."""

from __future__ import annotations

import pytest

from core.clock import now
from core.db import MAX_INT, as_id, int_arg


def test_an_id_past_the_integer_columns_matches_no_route(client, seeded):
    response = client.get(f"/api/v1/episodes/{MAX_INT + 1}")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert client.get(f"/api/v1/polls/{MAX_INT}").status_code == 404


def test_a_json_string_with_half_a_surrogate_pair_is_not_json(client, seeded):
    # Hashing such a string failed (UnicodeEncodeError, a 500); now the body is not JSON.
    response = client.post(
        "/api/v1/accusations/verify",
        data='{"season": 1, "suspect": "\\ud800", "motive": "a", "place": "b", '
        '"nonce": "n", "commitment": "c"}',
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.get_json()["valid"] is False


def test_a_whole_emoji_is_still_text(app):
    with app.test_request_context(
        "/", method="POST", data='{"a": "\\ud83d\\ude00"}', content_type="application/json"
    ):
        from flask import request

        assert request.get_json() == {"a": "\U0001f600"}


def test_ids_and_integer_arguments_stay_within_the_columns():
    assert as_id(5) == 5
    assert as_id(MAX_INT + 1) is None
    assert as_id(True) is None
    assert as_id("5") is None
    assert as_id(0) is None
    assert int_arg("-3") == -3
    for text in (str(MAX_INT + 1), "x"):
        with pytest.raises(ValueError):
            int_arg(text)


# ---- the cases the schema fuzz (tests/security/test_api_schema_fuzz.py) found answering 500


@pytest.fixture
def resident(make_user, make_token) -> dict[str, str]:
    user = make_user("fuzz-resident@example.org", role="resident")
    return {"Authorization": f"Bearer {make_token(user)}"}


def test_a_flag_whose_body_is_not_an_object_is_a_400(client, seeded, resident):
    tip_id = client.get("/api/v1/tips").get_json()[0]["id"]
    response = client.post(f"/api/v1/tips/{tip_id}/flags", json=3, headers=resident)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_body"
    missing = client.post(f"/api/v1/tips/{tip_id}/flags", headers=resident)
    assert missing.status_code == 422


def test_a_receipt_with_a_non_ascii_commitment_is_not_valid(client, seeded):
    receipt = {"season": 1, "suspect": "a", "motive": "b", "place": "c", "nonce": "n"}
    response = client.post("/api/v1/accusations/verify", json=receipt | {"commitment": "é"})
    assert response.status_code == 200
    assert response.get_json()["valid"] is False


def test_a_stamp_at_a_place_id_past_the_columns_is_a_404(client, seeded, resident):
    body = {"location": MAX_INT + 1, "lat": 46.0, "lon": 0.3, "accuracy": 10}
    response = client.post("/api/v1/passport/stamps", json=body, headers=resident)
    assert response.status_code == 404


def test_a_place_code_with_superscript_digits_is_refused(client, seeded, resident):
    location = client.get("/api/v1/locations").get_json()[0]["id"]
    body = {"location": location, "code": f"{location}-²-abc", "at": now().isoformat()}
    response = client.post("/api/v1/passport/stamps", json=body, headers=resident)
    assert response.status_code == 422
    assert response.get_json()["reason"] == "invalid_code"


def test_a_tip_naming_an_episode_that_does_not_exist_is_a_422(client, seeded, resident):
    body = {
        "title": "Barque à Coulon",
        "body": "Une promenade en barque dans le marais, au départ du port de Coulon.",
        "category": "visite",
        "lat": 46.3262,
        "lon": -0.5905,
    }
    for episode in (999_999, MAX_INT + 1, "²"):
        response = client.post("/api/v1/tips", json=body | {"episode": episode}, headers=resident)
        assert response.status_code == 422, episode
        assert "episode" in response.get_json()["fields"]


def test_an_upload_length_in_superscript_digits_is_a_400(client, seeded, make_user, make_token):
    editor = make_user("fuzz-editor@example.org", role="editor")
    headers = {
        "Authorization": f"Bearer {make_token(editor)}",
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "²",
    }
    response = client.post("/api/v1/uploads", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_header"
