"""The public hotspot track: WebVTT any player can read, every public hotspot, never a clue."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import webvtt
from flask import Flask

from series.episodes.hotspot_models import Hotspot, Offer
from series.episodes.hotspots import create_hotspot, hotspot_json, public_hotspots
from series.episodes.models import EpisodeMedia
from series.models import Episode

CLUE_LABEL = "Le couteau sous l'évier"
CLUE_SECRET = "secret-du-meurtrier-42"


def seconds(stamp: str) -> float:
    """'00:01:02.345' -> 62.345."""
    hours, minutes, rest = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def parse(text: str) -> Any:
    return webvtt.from_buffer(io.StringIO(text))


@pytest.fixture
def episode_with_clue(app: Flask, db: Any, pilot: dict[int, int]) -> dict[str, Any]:
    """Pilot episode 1 (released, with media): its seeded hotspots, a public one at odd times
    that moves and seeks, and a clue."""
    with app.app_context():
        episode = db.session.get(Episode, pilot[1])
        db.session.add(
            EpisodeMedia(
                episode_id=episode.id,
                directory=f"episodes/{episode.id}/tok3nHotspots",
                duration_s=24.0,
                width=1280,
                height=720,
                has_audio=True,
                renditions=[{"name": "720p", "width": 1280, "height": 720, "bitrate": 1}],
                mp4_name="720p",
            )
        )
        db.session.flush()
        odd = create_hotspot(
            db.session,
            episode,
            {
                "kind": "info",
                "start": 3.1415,
                "end": 7.0717,
                "keyframes": [
                    {"t": 7.0717, "x": 40, "y": 40, "w": 10, "h": 10},
                    {"t": 3.1415, "x": 10, "y": 20, "w": 30, "h": 25.5},
                ],
                "shape": "ellipse",
                "label": "Retour au début",
                "action": "seek",
                "action_value": 0.5,
            },
        )
        clue = Hotspot(
            episode_id=episode.id,
            kind="clue",
            start_s=4.0,
            end_s=9.0,
            keyframes=[{"t": 4.0, "x": 1, "y": 2, "w": 3, "h": 4}],
            label=CLUE_LABEL,
            accessible_label=CLUE_LABEL,
            data={"text": CLUE_SECRET, "points": 50},
        )
        db.session.add(clue)
        db.session.commit()
        public = [hotspot_json(h) for h in public_hotspots(db.session, episode.id)]
        return {"episode": episode.id, "odd": odd.id, "clue": clue.id, "public": public}


def test_the_track_parses_and_carries_every_public_hotspot(client, episode_with_clue):
    data = episode_with_clue
    response = client.get(f"/media/episodes/{data['episode']}/hotspots.vtt")
    assert response.status_code == 200
    assert response.mimetype == "text/vtt"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    captions = parse(response.get_data(as_text=True)).captions
    public = data["public"]
    assert len(public) == 3, "the two seeded hotspots and the odd one"
    assert [c.identifier for c in captions] == [f"hotspot-{h['id']}" for h in public]
    for caption, hotspot in zip(captions, public, strict=True):
        # Stamps are to the millisecond; the exact times travel in the payload.
        assert seconds(caption.start) == pytest.approx(hotspot["start"], abs=0.0005)
        assert seconds(caption.end) == pytest.approx(hotspot["end"], abs=0.0005)
        payload = json.loads(caption.raw_text)
        assert payload == hotspot
        assert payload["keyframes"], "the boxes travel with the cue"
        assert set(payload["keyframes"][0]) == {"t", "x", "y", "w", "h"}
    odd = json.loads(
        captions[[c.identifier for c in captions].index(f"hotspot-{data['odd']}")].raw_text
    )
    assert (odd["start"], odd["end"]) == (3.1415, 7.0717)
    assert [k["t"] for k in odd["keyframes"]] == [3.1415, 7.0717], "sorted by time"
    assert (odd["shape"], odd["action"], odd["action_value"]) == ("ellipse", "seek", 0.5)
    seeded = next(h for h in public if h["offer"])
    assert seeded["offer"]["has_link"] is True
    assert "url" not in seeded["offer"], "the partner URL only goes through the click redirect"


def test_no_clue_anywhere_a_visitor_can_look(client, episode_with_clue):
    data = episode_with_clue
    episode, clue = data["episode"], data["clue"]
    documents = {
        "track": client.get(f"/media/episodes/{episode}/hotspots.vtt"),
        "chapters": client.get(f"/media/episodes/{episode}/hotspot-chapters.vtt"),
        "api": client.get(f"/api/v1/episodes/{episode}"),
        "page": client.get(f"/episodes/{episode}"),
    }
    for name, response in documents.items():
        assert response.status_code == 200, name
        text = response.get_data(as_text=True)
        assert CLUE_LABEL not in text, name
        assert CLUE_LABEL.replace("'", "&#39;") not in text, name
        assert CLUE_SECRET not in text, name
        assert f"hotspot-{clue}" not in text, name
    cue_ids = [c.identifier for c in parse(documents["track"].get_data(as_text=True)).captions]
    assert f"hotspot-{clue}" not in cue_ids
    chapters = parse(documents["chapters"].get_data(as_text=True)).captions
    assert [c.text for c in chapters] == [h["accessible_label"] for h in data["public"]]
    api = documents["api"].get_json()
    assert [h["id"] for h in api["hotspots"]] == [h["id"] for h in data["public"]]
    assert clue not in [h["id"] for h in api["hotspots"]]
    assert all(h["kind"] != "clue" for h in api["hotspots"])
    assert all("data" not in h for h in api["hotspots"])
    # The page hands the track to the player (the overlay reads it), nothing more.
    page = documents["page"].get_data(as_text=True)
    assert f'data-hotspots="/media/episodes/{episode}/hotspots.vtt"' in page
    assert "/static/css/overlay.css" in page
    assert "data-hotspot-layer" in page


def test_a_track_with_only_clues_is_an_empty_webvtt(client, app, db, pilot):
    with app.app_context():
        for hotspot in db.session.query(Hotspot).filter_by(episode_id=pilot[2]):
            db.session.delete(hotspot)
        db.session.add(
            Hotspot(
                episode_id=pilot[2],
                kind="clue",
                start_s=1.0,
                end_s=2.0,
                keyframes=[{"t": 1.0, "x": 1, "y": 1, "w": 1, "h": 1}],
                label=CLUE_LABEL,
                data={"text": CLUE_SECRET},
            )
        )
        db.session.commit()
    for path in ("hotspots.vtt", "hotspot-chapters.vtt"):
        response = client.get(f"/media/episodes/{pilot[2]}/{path}")
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert text.startswith("WEBVTT")
        assert parse(text).captions == []
        assert CLUE_LABEL not in text


def test_the_track_of_an_unreleased_episode_is_404_to_a_visitor(
    client, app, db, pilot, auth, make_user
):
    unreleased = pilot[6]
    with app.app_context():
        hotspots = public_hotspots(db.session, unreleased)
        assert hotspots, "the demo seed gives every pilot episode hotspots"
        label = hotspots[0].label
        offer_title = db.session.get(Offer, hotspots[0].offer_id).title
    paths = [
        f"/media/episodes/{unreleased}/hotspots.vtt",
        f"/media/episodes/{unreleased}/hotspot-chapters.vtt",
        f"/api/v1/episodes/{unreleased}",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
        assert label not in response.get_data(as_text=True)
        assert offer_title not in response.get_data(as_text=True)
    viewer = make_user(role="viewer")
    auth.login(viewer.email)
    assert all(client.get(p).status_code == 404 for p in paths)
    auth.logout()
    # Editors preview it, out of shared caches.
    auth.login(make_user(role="editor").email)
    response = client.get(paths[0])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert label in response.get_data(as_text=True)
    assert client.get("/media/episodes/999999/hotspots.vtt").status_code == 404


def test_cue_text_cannot_break_out_of_its_cue(client, app, db, pilot):
    import json as _json

    import webvtt

    from series.episodes.hotspot_models import Hotspot

    with app.app_context():
        hotspot = Hotspot(
            episode_id=pilot[1],
            kind="info",
            start_s=1.0,
            end_s=2.0,
            keyframes=[{"t": 1.0, "x": 1, "y": 1, "w": 5, "h": 5}],
            label="a --> b <i>",
            accessible_label="ligne\n\nsuite --> & <b>",
        )
        db.session.add(hotspot)
        db.session.commit()
        hotspot_id = hotspot.id
    track = client.get(f"/media/episodes/{pilot[1]}/hotspots.vtt").get_data(as_text=True)
    cues = {c.identifier: c for c in webvtt.from_string(track)}
    payload = _json.loads(cues[f"hotspot-{hotspot_id}"].text)
    assert payload["label"] == "a --> b <i>"
    chapters = client.get(f"/media/episodes/{pilot[1]}/hotspot-chapters.vtt").get_data(as_text=True)
    texts = [c.raw_text for c in webvtt.from_string(chapters)]
    assert "ligne suite --&gt; &amp; &lt;b&gt;" in texts
