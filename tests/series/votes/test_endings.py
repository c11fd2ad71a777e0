"""Ending polls: each option's ending is ingested like an episode; at close the winner becomes
the episode's ending for everyone and the others are extras for voters (then for all)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from series.episodes import services as episodes
from series.episodes.media import make_test_source
from series.votes.models import EndingMedia, Poll
from tests.conftest import csrf_token
from tests.series.votes.conftest import new_key, options_of
from tests.support.clock import Clock


@pytest.fixture(scope="module")
def ending_source(tmp_path_factory: Any) -> Path:
    """A 2 s 320x180 clip with sound."""
    return make_test_source(tmp_path_factory.mktemp("ending") / "fin.mp4", 2, 320, 180)


@pytest.fixture
def queued(monkeypatch: Any) -> list[int]:
    """Jobs handed to the queue (run by the test instead of a thread beside it)."""
    ids: list[int] = []
    monkeypatch.setattr(episodes, "enqueue_ingest", lambda job: ids.append(job.id))
    return ids


def fetch(client: Any, url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Status and type of a file, its response closed (the file handle released)."""
    response = client.get(url, headers=headers or {})
    try:
        return response.status_code, response.mimetype
    finally:
        response.close()


def upload_ending(client: Any, poll: int, option: int, data: bytes, name: str = "fin.mp4") -> Any:
    token = csrf_token(client, f"/edition/sondages/{poll}")
    return client.post(
        f"/edition/sondages/{poll}",
        data={
            "csrf_token": token,
            "action": "ending",
            "option": str(option),
            "file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


def test_an_ending_is_ingested_and_the_winner_plays_for_everyone_at_close(
    app: Any,
    db: Any,
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
    pilot: dict[int, int],
    clock: Clock,
    ending_source: Path,
    queued: list[int],
):
    poll = make_poll(episode_id=pilot[3], is_ending=True, lasts=120, options=("Fin A", "Fin B"))
    a, b = options_of(client, poll)
    editor = make_user("editrice@example.org", role="editor")
    auth.login(editor.email)
    refused = upload_ending(client, poll, a, b"not a video at all", "fin.mp4")
    assert refused.status_code == 422
    assert queued == []
    for option in (a, b):
        assert upload_ending(client, poll, option, ending_source.read_bytes()).status_code == 302
    assert len(queued) == 2
    with app.app_context():
        for job_id in queued:
            episodes.run_ingest(job_id)
    assert "Fin prête" in client.get(f"/edition/sondages/{poll}").get_data(as_text=True)
    with app.app_context():
        media = db.session.scalars(sa.select(EndingMedia).order_by(EndingMedia.option_id)).all()
        assert [m.option_id for m in media] == [a, b]
        assert all((episodes.media_root() / m.directory / "mp4").is_dir() for m in media)
        assert all(1.5 < m.duration_s < 2.5 for m in media)
    auth.logout()

    fan, other = voter(), voter()
    for headers, option in ((fan, a), (other, a)):
        client.post(
            f"/api/v1/polls/{poll}/votes",
            json={"option": option, "key": new_key()},
            headers=headers,
        )
    # Before close nobody but editors can watch an ending.
    before = client.get(f"/api/v1/polls/{poll}", headers=fan).get_json()
    assert all(o["ending_url"] is None for o in before["options"])
    clock.advance(seconds=121)

    anonymous = client.get(f"/api/v1/polls/{poll}").get_json()
    assert anonymous["winner"] == a
    urls = {o["id"]: o["ending_url"] for o in anonymous["options"]}
    assert urls[a] is not None
    assert urls[b] is None
    assert fetch(client, urls[a]) == (200, "video/mp4")
    episode_page = client.get(f"/episodes/{pilot[3]}").get_data(as_text=True)
    assert "La fin choisie par le public : Fin A" in episode_page
    assert urls[a] in episode_page
    assert "réservée aux votants" in episode_page
    # Voters get the losing ending as an extra at once.
    voter_view = client.get(f"/api/v1/polls/{poll}", headers=fan).get_json()
    extra = {o["id"]: o["ending_url"] for o in voter_view["options"]}[b]
    assert extra is not None
    assert fetch(client, extra, fan) == (200, "video/mp4")
    assert fetch(client, extra)[0] == 404
    # Everyone gets it from the unlock date.
    with app.app_context():
        row = db.session.get(Poll, poll)
        row.extras_unlock_at = clock.now + dt.timedelta(days=1)
        db.session.commit()
    clock.advance(days=1, seconds=1)
    assert fetch(client, extra)[0] == 200


def test_a_tie_goes_to_the_option_that_reached_its_count_first(
    client: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int], clock: Clock
):
    poll = make_poll(lasts=600)
    yes, no = options_of(client, poll)
    for option in (no, yes, yes, no):
        clock.advance(seconds=1)
        client.post(
            f"/api/v1/polls/{poll}/votes",
            json={"option": option, "key": new_key()},
            headers=voter(),
        )
    clock.advance(seconds=600)
    assert client.get(f"/api/v1/polls/{poll}").get_json()["winner"] == yes


def test_the_poll_page_votes_without_javascript(
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    make_poll: Callable[..., int],
):
    poll = make_poll()
    yes, _no = options_of(client, poll)
    page = client.get(f"/sondages/{poll}").get_data(as_text=True)
    assert "Connectez-vous pour voter" in page
    user = make_user("fan@example.org")
    auth.login(user.email)
    page = client.get(f"/sondages/{poll}").get_data(as_text=True)
    assert 'type="radio" name="option"' in page
    token = csrf_token(client, f"/sondages/{poll}")
    key = new_key()
    missing = client.post(f"/sondages/{poll}/voter", data={"csrf_token": token, "key": key})
    assert missing.status_code == 422
    assert "Choisissez une réponse" in missing.get_data(as_text=True)
    form = {"csrf_token": token, "key": key, "option": str(yes)}
    first = client.post(f"/sondages/{poll}/voter", data=form, follow_redirects=True)
    assert "Votre vote est enregistré" in first.get_data(as_text=True)
    # A double submit (same key) is harmless; the page shows the vote and its receipt.
    again = client.post(f"/sondages/{poll}/voter", data=form, follow_redirects=True)
    html = again.get_data(as_text=True)
    assert "Votre vote était déjà enregistré" in html
    assert "Vous avez voté : Oui." in html
    assert "data-receipt" in html
    assert 'name="option"' not in html
    totals = client.get(f"/api/v1/polls/{poll}").get_json()
    assert totals["total"] == 1


def test_the_demo_seed_has_the_finale_ending_poll_and_a_site_poll(
    app: Any, seeded: Any, pilot: dict[int, int], client: Any
):
    with app.app_context():
        polls = seeded.session.scalars(sa.select(Poll).order_by(Poll.id)).all()
        ending = next(p for p in polls if p.is_ending)
        assert ending.episode_id == pilot[6]
        assert len(ending.options) == 2
        from core.seed import seed_demo

        assert seed_demo() == ["demo content already present: nothing changed"]
    listed = client.get("/api/v1/polls?state=open").get_json()
    assert [p["question"] for p in listed] == ["Quel département pour la saison 2 ?"]
    # The finale is not out: its poll stays secret.
    assert client.get(f"/api/v1/polls/{ending.id}").status_code == 404


def test_editors_create_open_and_close_a_poll_from_their_pages(
    client: Any, auth: Any, make_user: Callable[..., Any], pilot: dict[int, int]
):
    auth.login(make_user("ed-pages@example.org", role="editor").email)
    token = csrf_token(client, "/edition/sondages")
    form = {
        "csrf_token": token,
        "question": "Qui sera l'invité du final ?",
        "options": "La cheffe\nLe vigneron\n\n",
        "scope": "episode",
        "episode": str(pilot[2]),
        "results": "at_close",
    }
    refused = client.post("/edition/sondages", data=form | {"options": "Seul"})
    assert refused.status_code == 422
    assert "Un sondage propose de 2 à 5 réponses." in refused.get_data(as_text=True)
    created = client.post("/edition/sondages", data=form)
    assert created.status_code == 302
    poll_url = created.headers["Location"]
    assert "Brouillon" in client.get(poll_url).get_data(as_text=True)
    opened = client.post(poll_url, data={"csrf_token": token, "action": "open", "duration_s": "60"})
    assert opened.status_code == 302
    assert "Vote ouvert" in client.get(poll_url).get_data(as_text=True)
    closed = client.post(poll_url, data={"csrf_token": token, "action": "close"})
    assert closed.status_code == 302
    assert "Vote clos" in client.get(poll_url).get_data(as_text=True)
    auth.logout()
    assert client.get("/edition/sondages").status_code == 302  # to the sign-in page
