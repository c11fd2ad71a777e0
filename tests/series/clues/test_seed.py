"""The demo seed: clues in every pilot episode, scenery to hide them, a full whodunit."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from core.seed import seed_demo
from series.clues.models import Investigation
from series.episodes.hotspot_models import Hotspot
from series.episodes.hotspots import validate
from series.models import Episode, Season


def test_every_pilot_episode_has_clues_and_scenery(app: Flask, db, seeded):
    with app.app_context():
        episodes = db.session.scalars(
            sa.select(Episode).join(Season).where(Season.number == 1).order_by(Episode.number)
        ).all()
        assert len(episodes) == 6
        for episode in episodes:
            hotspots = db.session.scalars(
                sa.select(Hotspot).where(Hotspot.episode_id == episode.id)
            ).all()
            clues = [h for h in hotspots if h.kind == "clue"]
            assert len(clues) >= 2, episode.number
            assert len([h for h in hotspots if h.kind == "scene"]) >= 3
            for clue in clues:
                assert clue.data["title"]
                assert clue.data["text"]
                assert clue.data["points"] >= 10
                assert clue.end_s <= 24.0  # inside the demo clips
                # The seed passes the editors' own validation.
                fields = {
                    "kind": clue.kind,
                    "start": clue.start_s,
                    "end": clue.end_s,
                    "keyframes": clue.keyframes,
                    "label": clue.label,
                    "data": clue.data,
                }
                assert validate(db.session, episode, fields)["data"] == clue.data


def test_the_pilot_has_a_full_investigation_and_seeding_twice_changes_nothing(
    app: Flask, db, seeded
):
    with app.app_context():
        investigation = db.session.scalar(
            sa.select(Investigation).join(Season).where(Season.number == 1)
        )
        assert investigation is not None
        assert len(investigation.suspects) == len(investigation.motives) == 5
        assert len(investigation.places) == 5
        assert investigation.solution is not None
        assert len(investigation.solution_commitment or "") == 64
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Hotspot))
        assert seed_demo() == ["demo content already present: nothing changed"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Hotspot)) == before
