"""Editors' hotspot API and editor page: CRUD, access, refusals, clues kept private, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from series.episodes.hotspot_models import Hotspot, Offer
from series.episodes.models import EpisodeMedia, IngestJob, IngestState
from series.models import Episode
from tests.conftest import csrf_token

DURATION = 600.0


@pytest.fixture
def episode_id(app: Flask, db: Any, pilot: dict[int, int]) -> int:
    """Pilot episode 1 (released), 10 minutes long."""
    with app.app_context():
        episode = db.session.get(Episode, pilot[1])
        episode.duration_s = DURATION
        db.session.commit()
    return pilot[1]


@pytest.fixture
def offers(app: Flask, db: Any, seeded: Any) -> dict[str, int]:
    """Seeded offer ids by kind (the first of each kind)."""
    with app.app_context():
        rows = db.session.execute(sa.select(Offer.kind, Offer.id).order_by(Offer.id)).all()
    found: dict[str, int] = {}
    for kind, ident in rows:
        found.setdefault(kind, ident)
    return found


@pytest.fixture
def headers_for(make_user: Callable[..., Any], make_token: Callable[[Any], str]) -> Any:
    """Factory: bearer headers of a new user with the role."""

    def factory(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(make_user(role=role))}"}

    return factory


@pytest.fixture
def editor(headers_for: Any) -> dict[str, str]:
    return headers_for("editor")


def body(offer: int | None, /, **changes: Any) -> dict[str, Any]:
    """A valid product hotspot, with changes."""
    data: dict[str, Any] = {
        "kind": "product",
        "start": 2.0,
        "end": 8.0,
        "keyframes": [
            {"t": 2.0, "x": 10, "y": 20, "w": 30, "h": 40},
            {"t": 6.0, "x": 50, "y": 20, "w": 30, "h": 40},
        ],
        "shape": "rect",
        "label": "Le broyé sur la table",
        "accessible_label": "",
        "pause_on_show": False,
        "action": "card",
        "offer": offer,
        "action_value": None,
        "data": {},
    }
    data.update(changes)
    return data


def frame(t: float = 2.0, **changes: Any) -> dict[str, Any]:
    return {"t": t, "x": 10, "y": 20, "w": 30, "h": 40, **changes}


def create(client: FlaskClient, episode: int, headers: dict[str, str], data: Any) -> Any:
    return client.post(f"/api/v1/episodes/{episode}/hotspots", json=data, headers=headers)


# ---------------------------------------------------------------- CRUD


def test_crud_round_trip_as_an_editor(
    client: FlaskClient, episode_id: int, offers: dict[str, int], editor: dict[str, str]
) -> None:
    created = create(client, episode_id, editor, body(offers["product"], pause_on_show=True))
    assert created.status_code == 201, created.get_json()
    hotspot = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/hotspots/{hotspot['id']}")
    assert hotspot["episode"] == episode_id
    assert hotspot["kind"] == "product"
    assert hotspot["public"] is True
    assert hotspot["start"] == 2.0
    assert hotspot["end"] == 8.0
    assert [k["t"] for k in hotspot["keyframes"]] == [2.0, 6.0]
    assert hotspot["offer_id"] == offers["product"]
    assert hotspot["offer"]["id"] == offers["product"]
    assert hotspot["pause_on_show"] is True
    assert hotspot["data"] == {}

    listed = client.get(f"/api/v1/episodes/{episode_id}/hotspots", headers=editor)
    assert listed.status_code == 200
    mine = next(h for h in listed.get_json() if h["id"] == hotspot["id"])
    assert mine == hotspot
    starts = [h["start"] for h in listed.get_json()]
    assert starts == sorted(starts)

    # Keyframes arrive in any order and are stored sorted by time.
    changed = body(
        offers["product"],
        label="Le broyé, de plus près",
        shape="ellipse",
        end=9.5,
        keyframes=[frame(9.0, x=60), frame(2.0), frame(4.5, y=30)],
        data={"note": "plan serré"},
    )
    updated = client.put(f"/api/v1/hotspots/{hotspot['id']}", json=changed, headers=editor)
    assert updated.status_code == 200, updated.get_json()
    saved = updated.get_json()
    assert saved["label"] == "Le broyé, de plus près"
    assert saved["shape"] == "ellipse"
    assert saved["end"] == 9.5
    assert [k["t"] for k in saved["keyframes"]] == [2.0, 4.5, 9.0]
    assert saved["data"] == {"note": "plan serré"}
    again = client.get(f"/api/v1/episodes/{episode_id}/hotspots", headers=editor).get_json()
    assert next(h for h in again if h["id"] == hotspot["id"]) == saved

    deleted = client.delete(f"/api/v1/hotspots/{hotspot['id']}", headers=editor)
    assert deleted.status_code == 204
    assert deleted.get_data() == b""
    after = client.get(f"/api/v1/episodes/{episode_id}/hotspots", headers=editor).get_json()
    assert hotspot["id"] not in {h["id"] for h in after}
    assert client.delete(f"/api/v1/hotspots/{hotspot['id']}", headers=editor).status_code == 404
    missing = client.put(f"/api/v1/hotspots/{hotspot['id']}", json=changed, headers=editor)
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "not_found"


def test_unknown_episode_is_404(
    client: FlaskClient, seeded: Any, offers: dict[str, int], editor: dict[str, str]
) -> None:
    assert client.get("/api/v1/episodes/999999/hotspots", headers=editor).status_code == 404
    response = create(client, 999999, editor, body(offers["product"]))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_offers_list_partner_and_kind_and_filter_by_kind(
    client: FlaskClient, seeded: Any, editor: dict[str, str]
) -> None:
    response = client.get("/api/v1/offers", headers=editor)
    assert response.status_code == 200
    offers = response.get_json()
    assert {o["kind"] for o in offers} == {"product", "recipe", "place"}
    broye = next(o for o in offers if o["title"] == "Broyé du Poitou")
    assert broye["partner"] == "Saveurs du Poitou (épicerie fine)"
    assert broye["kind"] == "product"
    assert broye["has_link"] is True
    recipes = client.get("/api/v1/offers?kind=recipe", headers=editor).get_json()
    assert recipes
    assert {o["kind"] for o in recipes} == {"recipe"}
    two = client.get("/api/v1/offers?kind=recipe&kind=place", headers=editor).get_json()
    assert {o["kind"] for o in two} == {"recipe", "place"}


def test_a_browser_session_needs_the_csrf_header(
    client: FlaskClient, auth: Any, make_user: Any, episode_id: int, offers: dict[str, int]
) -> None:
    user = make_user(role="editor")
    auth.login(user.email)
    url = f"/api/v1/episodes/{episode_id}/hotspots"
    refused = client.post(url, json=body(offers["product"]))
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf_failed"
    token = csrf_token(client)
    accepted = client.post(url, json=body(offers["product"]), headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.get_json()
    hotspot_id = accepted.get_json()["id"]
    gone = client.delete(f"/api/v1/hotspots/{hotspot_id}", headers={"X-CSRFToken": token})
    assert gone.status_code == 204


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("role", ["viewer", "resident", "partner", "moderator"])
def test_other_roles_are_refused(
    client: FlaskClient,
    app: Flask,
    db: Any,
    episode_id: int,
    offers: dict[str, int],
    headers_for: Any,
    role: str,
) -> None:
    headers = headers_for(role)
    with app.app_context():
        hotspot_id = db.session.scalar(
            sa.select(Hotspot.id).where(Hotspot.episode_id == episode_id).limit(1)
        )
    calls = [
        client.get(f"/api/v1/episodes/{episode_id}/hotspots", headers=headers),
        create(client, episode_id, headers, body(offers["product"])),
        client.put(f"/api/v1/hotspots/{hotspot_id}", json=body(offers["product"]), headers=headers),
        client.delete(f"/api/v1/hotspots/{hotspot_id}", headers=headers),
        client.get("/api/v1/offers", headers=headers),
    ]
    for response in calls:
        assert response.status_code == 403, response.request.path
        assert response.get_json()["error"] == "forbidden"
    with app.app_context():
        assert db.session.get(Hotspot, hotspot_id) is not None


def test_anonymous_callers_must_sign_in(
    client: FlaskClient, app: Flask, db: Any, episode_id: int, offers: dict[str, int]
) -> None:
    with app.app_context():
        hotspot_id = db.session.scalar(
            sa.select(Hotspot.id).where(Hotspot.episode_id == episode_id).limit(1)
        )
    csrf = {"X-CSRFToken": csrf_token(client)}
    calls = [
        client.get(f"/api/v1/episodes/{episode_id}/hotspots"),
        create(client, episode_id, csrf, body(offers["product"])),
        client.put(f"/api/v1/hotspots/{hotspot_id}", json=body(offers["product"]), headers=csrf),
        client.delete(f"/api/v1/hotspots/{hotspot_id}", headers=csrf),
        client.get("/api/v1/offers"),
    ]
    for response in calls:
        assert response.status_code == 401, response.request.path
        assert response.get_json()["error"] == "login_required"
    bad = client.get("/api/v1/offers", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.get_json()["error"] == "invalid_token"


# ---------------------------------------------------------------- refusals

#: (what is wrong, changes to the valid body, error code, field)
REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    ("x below 0", {"keyframes": [frame(x=-1)]}, "keyframe_outside_box", "keyframes[0]"),
    ("x above 100", {"keyframes": [frame(x=100.5, w=1)]}, "keyframe_outside_box", "keyframes[0]"),
    ("y below 0", {"keyframes": [frame(y=-0.1)]}, "keyframe_outside_box", "keyframes[0]"),
    ("y above 100", {"keyframes": [frame(y=101, h=1)]}, "keyframe_outside_box", "keyframes[0]"),
    ("w of 0", {"keyframes": [frame(w=0)]}, "keyframe_outside_box", "keyframes[0]"),
    ("w above 100", {"keyframes": [frame(x=0, w=120)]}, "keyframe_outside_box", "keyframes[0]"),
    ("h negative", {"keyframes": [frame(h=-5)]}, "keyframe_outside_box", "keyframes[0]"),
    ("h above 100", {"keyframes": [frame(y=0, h=100.5)]}, "keyframe_outside_box", "keyframes[0]"),
    (
        "x + w > 100 in the second keyframe",
        {"keyframes": [frame(2.0), frame(5.0, x=80, w=30)]},
        "keyframe_outside_box",
        "keyframes[1]",
    ),
    ("y + h > 100", {"keyframes": [frame(y=70, h=40)]}, "keyframe_outside_box", "keyframes[0]"),
    ("end before start", {"start": 8.0, "end": 2.0}, "end_before_start", "end"),
    ("end equal to start", {"start": 8.0, "end": 8.0}, "end_before_start", "end"),
    (
        "keyframe after the end",
        {"keyframes": [frame(2.0), frame(8.5)]},
        "keyframe_outside_time",
        "keyframes[1].t",
    ),
    (
        "keyframe before the start",
        {"keyframes": [frame(1.0)]},
        "keyframe_outside_time",
        "keyframes[0].t",
    ),
    (
        "past the episode's duration",
        {"start": DURATION - 2, "end": DURATION + 1, "keyframes": [frame(DURATION - 2)]},
        "after_episode_end",
        "end",
    ),
    (
        "keyframe without h",
        {"keyframes": [{"t": 2, "x": 1, "y": 1, "w": 1}]},
        "invalid_keyframe",
        "keyframes[0]",
    ),
    (
        "keyframe with an extra field",
        {"keyframes": [frame(z=1)]},
        "invalid_keyframe",
        "keyframes[0]",
    ),
    (
        "keyframe that is not an object",
        {"keyframes": [[2, 10, 20, 30, 40]]},
        "invalid_keyframe",
        "keyframes[0]",
    ),
    ("no keyframe", {"keyframes": []}, "invalid_keyframes", "keyframes"),
    ("keyframes not a list", {"keyframes": {"t": 2}}, "invalid_keyframes", "keyframes"),
    ("keyframes missing", {"keyframes": None}, "invalid_keyframes", "keyframes"),
    ("x as text", {"keyframes": [frame(x="10")]}, "invalid_number", "keyframes[0].x"),
    ("t as null", {"keyframes": [frame(t=None)]}, "invalid_number", "keyframes[0].t"),
    ("w as a boolean", {"keyframes": [frame(w=True)]}, "invalid_number", "keyframes[0].w"),
    ("start as text", {"start": "deux"}, "invalid_number", "start"),
    ("end missing", {"end": None}, "invalid_number", "end"),
    ("unknown kind", {"kind": "treasure"}, "unknown_kind", "kind"),
    ("kind missing", {"kind": None}, "unknown_kind", "kind"),
    ("kind as a list", {"kind": ["product"]}, "unknown_kind", "kind"),
    ("unknown shape", {"shape": "star"}, "invalid_shape", "shape"),
    ("unknown action", {"action": "explode"}, "invalid_action", "action"),
    (
        "clue opening a web page",
        {"kind": "clue", "action": "url", "offer": None},
        "invalid_action",
        "action",
    ),
    ("unknown offer", {"offer": 999_999}, "invalid_offer", "offer"),
    ("offer id as text", {"offer": "1"}, "invalid_offer", "offer"),
    ("offer id as a boolean", {"offer": True}, "invalid_offer", "offer"),
    ("product without its offer", {"offer": None}, "offer_required", "offer"),
    ("empty label", {"label": "   "}, "invalid_label", "label"),
    ("label too long", {"label": "x" * 121}, "invalid_label", "label"),
    (
        "seek without a time",
        {"action": "seek", "action_value": None},
        "invalid_number",
        "action_value",
    ),
    (
        "seek past the end",
        {"action": "seek", "action_value": DURATION + 5},
        "invalid_seek",
        "action_value",
    ),
    (
        "duplicate keyframe times",
        {"keyframes": [frame(4.0), frame(2.0), frame(4.0, x=50)]},
        "duplicate_keyframe",
        "keyframes",
    ),
]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [pytest.param(c, e, f, id=why) for why, c, e, f in REFUSALS],
)
def test_refusals_name_the_error_and_the_field(
    client: FlaskClient,
    app: Flask,
    db: Any,
    episode_id: int,
    offers: dict[str, int],
    editor: dict[str, str],
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(Hotspot.id)))
    response = create(client, episode_id, editor, body(offers["product"], **changes))
    assert response.status_code == 422, response.get_json()
    refusal = response.get_json()
    assert refusal["error"] == code
    assert refusal["field"] == field
    assert refusal["message"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Hotspot.id))) == before


def test_an_offer_of_the_wrong_kind_is_refused(
    client: FlaskClient, episode_id: int, offers: dict[str, int], editor: dict[str, str]
) -> None:
    for kind, offer in (("product", "recipe"), ("recipe", "place"), ("place", "product")):
        response = create(client, episode_id, editor, body(offers[offer], kind=kind))
        assert response.status_code == 422, (kind, offer)
        assert response.get_json()["error"] == "invalid_offer"
        assert response.get_json()["field"] == "offer"
    # A clue points to no offer at all.
    clue = create(client, episode_id, editor, body(offers["product"], kind="clue"))
    assert clue.get_json()["error"] == "invalid_offer"
    # "info" accepts every offer kind.
    info = create(client, episode_id, editor, body(offers["place"], kind="info"))
    assert info.status_code == 201, info.get_json()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"start": NaN', "start"),
        ('"start": Infinity', "start"),
        ('"end": -Infinity', "end"),
    ],
)
def test_nan_and_infinite_numbers_are_refused(
    client: FlaskClient,
    episode_id: int,
    offers: dict[str, int],
    editor: dict[str, str],
    raw: str,
    field: str,
) -> None:
    valid = body(offers["product"])
    valid.pop(field)
    text = json.dumps(valid)[:-1] + ", " + raw + "}"
    response = client.post(
        f"/api/v1/episodes/{episode_id}/hotspots",
        data=text,
        content_type="application/json",
        headers=editor,
    )
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_number"
    assert response.get_json()["field"] == field


def test_nan_inside_a_keyframe_is_refused(
    client: FlaskClient, episode_id: int, offers: dict[str, int], editor: dict[str, str]
) -> None:
    text = json.dumps(body(offers["product"], keyframes="@@")).replace(
        '"@@"', '[{"t": 2.0, "x": 10, "y": NaN, "w": 30, "h": 40}]'
    )
    response = client.post(
        f"/api/v1/episodes/{episode_id}/hotspots",
        data=text,
        content_type="application/json",
        headers=editor,
    )
    assert response.status_code == 422
    assert response.get_json() | {"message": ""} == {
        "error": "invalid_number",
        "field": "keyframes[0].y",
        "message": "",
    }


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"kind": "product", ', "application/json"),
        ("not json at all", "application/json"),
        ('[{"kind": "product"}]', "application/json"),
        ('"product"', "application/json"),
        ('{"kind": "product"}', "text/plain"),
        ("", "application/json"),
    ],
)
def test_malformed_json_is_a_400(
    client: FlaskClient,
    app: Flask,
    db: Any,
    episode_id: int,
    editor: dict[str, str],
    data: str,
    content_type: str,
) -> None:
    with app.app_context():
        hotspot_id = db.session.scalar(
            sa.select(Hotspot.id).where(Hotspot.episode_id == episode_id).limit(1)
        )
    for method, url in (
        ("POST", f"/api/v1/episodes/{episode_id}/hotspots"),
        ("PUT", f"/api/v1/hotspots/{hotspot_id}"),
    ):
        response = client.open(
            url, method=method, data=data, content_type=content_type, headers=editor
        )
        assert response.status_code == 400, (method, data)
        assert response.get_json()["error"] == "invalid_json"
        assert response.get_json()["message"]


def test_a_refused_update_changes_nothing(
    client: FlaskClient, episode_id: int, offers: dict[str, int], editor: dict[str, str]
) -> None:
    hotspot = create(client, episode_id, editor, body(offers["product"])).get_json()
    bad = body(offers["product"], label="Nouveau", keyframes=[frame(2.0), frame(2.0)])
    response = client.put(f"/api/v1/hotspots/{hotspot['id']}", json=bad, headers=editor)
    assert response.status_code == 422
    assert response.get_json()["error"] == "duplicate_keyframe"
    listed = client.get(f"/api/v1/episodes/{episode_id}/hotspots", headers=editor).get_json()
    assert next(h for h in listed if h["id"] == hotspot["id"]) == hotspot


# ---------------------------------------------------------------- clues stay private


def test_a_clue_is_never_public_but_editors_see_it_with_its_data(
    client: FlaskClient,
    episode_id: int,
    editor: dict[str, str],
    make_user: Any,
    make_token: Any,
) -> None:
    secret = "Rouge à lèvres sur la tasse du maire"
    clue = create(
        client,
        episode_id,
        editor,
        body(
            None,
            kind="clue",
            label="Indice : la tasse",
            accessible_label="La tasse sur le bureau",
            data={"text": secret, "points": 50},
        ),
    )
    assert clue.status_code == 201, clue.get_json()
    clue_id = clue.get_json()["id"]
    assert clue.get_json()["public"] is False

    viewer = {"Authorization": f"Bearer {make_token(make_user(role='viewer'))}"}
    for headers in ({}, viewer, editor):
        episode = client.get(f"/api/v1/episodes/{episode_id}", headers=headers)
        assert episode.status_code == 200
        hotspots = episode.get_json()["hotspots"]
        assert hotspots, "the seeded public hotspots are listed"
        assert clue_id not in {h["id"] for h in hotspots}
        assert {h["kind"] for h in hotspots} <= {"product", "recipe", "place", "info"}
        text = episode.get_data(as_text=True)
        assert secret not in text
        assert "la tasse" not in text
        for track in ("hotspots.vtt", "hotspot-chapters.vtt"):
            vtt = client.get(f"/media/episodes/{episode_id}/{track}", headers=headers)
            assert vtt.status_code == 200
            content = vtt.get_data(as_text=True)
            assert content.startswith("WEBVTT")
            assert f"hotspot-{clue_id}" not in content
            assert "tasse" not in content
            assert secret not in content

    listed = client.get(f"/api/v1/episodes/{episode_id}/hotspots", headers=editor).get_json()
    mine = next(h for h in listed if h["id"] == clue_id)
    assert mine["kind"] == "clue"
    assert mine["data"] == {"text": secret, "points": 50}
    assert mine["accessible_label"] == "La tasse sur le bureau"


# ---------------------------------------------------------------- OpenAPI


def test_the_openapi_document_lists_the_new_paths(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    paths = document["paths"]
    episode_hotspots = paths["/api/v1/episodes/{episode_id}/hotspots"]
    assert set(episode_hotspots) == {"get", "post"}
    assert set(paths["/api/v1/hotspots/{hotspot_id}"]) == {"put", "delete"}
    assert set(paths["/api/v1/offers"]) == {"get"}
    post = episode_hotspots["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/HotspotInput"}
    assert set(post["responses"]) >= {"201", "400", "401", "403", "404", "422"}
    refusal = post["responses"]["422"]["content"]["application/json"]["schema"]
    assert refusal == {"$ref": "#/components/schemas/HotspotError"}
    assert post["security"]
    put = paths["/api/v1/hotspots/{hotspot_id}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == schema
    assert "204" in paths["/api/v1/hotspots/{hotspot_id}"]["delete"]["responses"]
    schemas = document["components"]["schemas"]
    assert {"Hotspot", "HotspotInput", "HotspotKeyframe", "HotspotError", "OfferChoice"} <= set(
        schemas
    )
    assert "clue" in schemas["HotspotInput"]["properties"]["kind"]["enum"]
    assert {p["name"] for p in paths["/api/v1/offers"]["get"]["parameters"]} == {"kind"}


# ---------------------------------------------------------------- the editor page


@pytest.fixture
def signed_in_editor(auth: Any, make_user: Any) -> Any:
    user = make_user(role="editor")
    auth.login(user.email)
    return user


def test_the_editor_page_without_media(
    client: FlaskClient, episode_id: int, signed_in_editor: Any
) -> None:
    response = client.get(f"/edition/episodes/{episode_id}/zones")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "data-hotspot-editor" in html
    assert "js/hotspot-editor.js" in html
    assert "css/hotspot-editor.css" in html
    assert 'data-fps="25.0"' in html
    assert f'data-api-list="/api/v1/episodes/{episode_id}/hotspots"' in html
    assert 'data-api-item="/api/v1/hotspots/0"' in html
    assert "Caler sur les changements de plan" in html
    assert 'id="hs-snap" data-snap-toggle checked' in html
    assert "data-no-media" in html
    assert "<video" not in html
    assert "<script>" not in html
    assert "onclick" not in html
    for control in (
        "hs-start",
        "hs-end",
        "hs-x",
        "hs-y",
        "hs-w",
        "hs-h",
        "hs-kind",
        "hs-label",
        "hs-accessible-label",
        "hs-pause",
        "hs-action",
        "hs-offer",
        "hs-data",
        "hs-shape",
        "hs-seek",
        "hs-snap",
    ):
        assert f'id="{control}"' in html
        checkbox = f'<label class="check"><input type="checkbox" id="{control}"'
        assert f'for="{control}"' in html or checkbox in html


def test_the_editor_page_with_media_scenes_and_frame_rate(
    client: FlaskClient, app: Flask, db: Any, episode_id: int, signed_in_editor: Any
) -> None:
    with app.app_context():
        db.session.add(
            EpisodeMedia(
                episode_id=episode_id,
                directory=f"episodes/{episode_id}/abcdef",
                duration_s=24.0,
                width=1280,
                height=720,
                has_audio=True,
                renditions=[{"name": "720p", "height": 720}],
                mp4_name="720p",
                scenes=[8.0, 3.2],
            )
        )
        db.session.add(
            IngestJob(
                episode_id=episode_id,
                source_path="/tmp/none.mp4",
                original_name="master.mp4",
                state=IngestState.DONE,
                source_info={"fps": 30.0},
            )
        )
        db.session.commit()
    html = client.get(f"/edition/episodes/{episode_id}/zones").get_data(as_text=True)
    assert f'src="/media/episodes/{episode_id}/abcdef/mp4/720p.mp4"' in html
    assert 'data-scenes="3.2 8.0"' in html
    assert 'data-fps="30.0"' in html
    assert 'data-width="1280" data-height="720"' in html
    assert 'data-duration="24.0"' in html
    assert "Aller à 3,200 s" in html
    assert "data-no-media" not in html


def test_the_editor_page_is_for_editors_and_linked(
    client: FlaskClient, auth: Any, make_user: Any, episode_id: int
) -> None:
    url = f"/edition/episodes/{episode_id}/zones"
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert "/connexion" in anonymous.headers["Location"]
    viewer = make_user(role="viewer")
    auth.login(viewer.email)
    assert client.get(url).status_code == 403
    auth.logout()
    editor = make_user(role="editor")
    auth.login(editor.email)
    assert client.get("/edition/episodes/999999/zones").status_code == 404
    assert url in client.get(f"/edition/episodes/{episode_id}").get_data(as_text=True)
    assert url in client.get("/edition").get_data(as_text=True)
