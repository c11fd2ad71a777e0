"""One vote per account and poll: idempotency keys, refusals with reasons, the window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from series.votes.models import Ballot
from tests.conftest import csrf_token
from tests.series.votes.conftest import new_key, options_of
from tests.support.clock import Clock


def vote(client: Any, poll_id: int, headers: dict[str, str], option: Any, key: Any) -> Any:
    return client.post(
        f"/api/v1/polls/{poll_id}/votes", json={"option": option, "key": key}, headers=headers
    )


def ballots(db: Any, poll_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Ballot.poll_id == poll_id))


def test_a_vote_counts_once_and_its_key_replayed_answers_the_same(
    client: Any, db: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int]
):
    poll = make_poll()
    headers = voter()
    yes, _no = options_of(client, poll)
    key = new_key()
    first = vote(client, poll, headers, yes, key)
    assert first.status_code == 201
    body = first.get_json()
    assert body["option"] == yes
    assert len(body["receipt"]) == 32
    assert body["replayed"] is False
    again = vote(client, poll, headers, yes, key)
    assert again.status_code == 200
    assert again.get_json() == body | {"replayed": True}
    assert ballots(db, poll) == 1
    tally = client.get(f"/api/v1/polls/{poll}").get_json()
    assert tally["counts"] == {str(yes): 1, str(_no): 0}
    assert tally["total"] == 1


def test_a_second_different_vote_is_refused_with_409(
    client: Any, db: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int]
):
    poll = make_poll()
    headers = voter()
    yes, no = options_of(client, poll)
    assert vote(client, poll, headers, yes, new_key()).status_code == 201
    second = vote(client, poll, headers, no, new_key())
    assert second.status_code == 409
    assert second.get_json()["error"] == "already_voted"
    # Same key, other option: still the first vote, never a change of mind.
    assert ballots(db, poll) == 1
    mine = client.get(f"/api/v1/polls/{poll}", headers=headers).get_json()["my_vote"]
    assert mine["option"] == yes


def test_votes_outside_the_window_are_refused_with_their_reason(
    client: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int], clock: Clock
):
    later = make_poll(opens_in=3600)
    headers = voter()
    option = options_of(client, later)[0]
    refused = vote(client, later, headers, option, new_key())
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "poll_not_open"
    assert refused.get_json()["message"]

    short = make_poll(lasts=60)
    option = options_of(client, short)[0]
    key = new_key()
    assert vote(client, short, headers, option, key).status_code == 201
    clock.advance(seconds=61)
    closed = vote(client, short, voter(), option, new_key())
    assert closed.status_code == 403
    assert closed.get_json()["error"] == "poll_closed"
    # A replay after the close still answers with the vote it recorded.
    assert vote(client, short, headers, option, key).status_code == 200


def test_bad_votes_get_422_and_anonymous_ones_401(
    client: Any, db: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int]
):
    poll = make_poll()
    other = make_poll()
    headers = voter()
    foreign = options_of(client, other)[0]
    for option, key, code in [
        (foreign, new_key(), "invalid_option"),
        ("1", new_key(), "invalid_option"),
        (True, new_key(), "invalid_option"),
        (options_of(client, poll)[0], "not-a-uuid", "invalid_key"),
        (options_of(client, poll)[0], None, "invalid_key"),
    ]:
        answer = vote(client, poll, headers, option, key)
        assert answer.status_code == 422, (option, key)
        assert answer.get_json()["error"] == code
    assert client.post(f"/api/v1/polls/{poll}/votes", data="x", headers=headers).status_code == 400
    token = csrf_token(client, f"/sondages/{poll}")
    anonymous = vote(client, poll, {"X-CSRFToken": token}, options_of(client, poll)[0], new_key())
    assert anonymous.status_code == 401
    assert ballots(db, poll) == 0


def test_a_key_is_the_voters_own_for_one_vote(
    client: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int]
):
    first, second = make_poll(), make_poll()
    headers = voter()
    key = new_key()
    assert vote(client, first, headers, options_of(client, first)[0], key).status_code == 201
    reused = vote(client, second, headers, options_of(client, second)[0], key)
    assert reused.status_code == 422
    assert reused.get_json()["error"] == "key_reused"
    # Another voter may happen to send the same key: it is theirs.
    assert vote(client, first, voter(), options_of(client, first)[0], key).status_code == 201


def test_polls_of_unreleased_episodes_are_invisible(
    client: Any,
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
    pilot: dict[int, int],
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
):
    hidden = make_poll(episode_id=pilot[5])
    shown = make_poll(episode_id=pilot[2])
    headers = voter()
    assert client.get(f"/api/v1/polls/{hidden}", headers=headers).status_code == 404
    assert vote(client, hidden, headers, 1, new_key()).status_code == 404
    listed = [p["id"] for p in client.get("/api/v1/polls", headers=headers).get_json()]
    assert shown in listed
    assert hidden not in listed
    assert client.get(f"/sondages/{hidden}").status_code == 404
    editor = {"Authorization": f"Bearer {make_token(make_user('ed@example.org', role='editor'))}"}
    assert client.get(f"/api/v1/polls/{hidden}", headers=editor).status_code == 200
    by_episode = client.get(f"/api/v1/polls?episode={pilot[2]}&state=open").get_json()
    assert [p["id"] for p in by_episode] == [shown]
    assert client.get("/api/v1/polls?state=nope").status_code == 422


def test_results_shown_live_at_close_or_never(
    client: Any,
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
    clock: Clock,
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
):
    at_close = make_poll(results="at_close", lasts=60)
    never = make_poll(results="never", lasts=60)
    for poll in (at_close, never):
        assert (
            vote(client, poll, voter(), options_of(client, poll)[0], new_key()).status_code == 201
        )
        body = client.get(f"/api/v1/polls/{poll}").get_json()
        assert "counts" not in body
        assert body["winner"] is None
        page = client.get(f"/sondages/{poll}").get_data(as_text=True)
        assert "data-bars" not in page
        assert "data-hidden-results" in page
    editor = {"Authorization": f"Bearer {make_token(make_user('ed2@example.org', role='editor'))}"}
    assert client.get(f"/api/v1/polls/{never}", headers=editor).get_json()["total"] == 1
    clock.advance(seconds=61)
    shown = client.get(f"/api/v1/polls/{at_close}").get_json()
    assert shown["total"] == 1
    assert shown["winner"] == shown["options"][0]["id"]
    hidden = client.get(f"/api/v1/polls/{never}").get_json()
    assert "counts" not in hidden
    assert hidden["winner"] is None


def test_editors_create_open_and_close_polls(
    client: Any,
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
    clock: Clock,
    voter: Callable[..., dict[str, str]],
):
    editor = {"Authorization": f"Bearer {make_token(make_user('ed3@example.org', role='editor'))}"}
    base = {"question": "Prochain invité ?", "scope": "site", "results": "live"}
    for options in (["Seul"], ["A", "B", "C", "D", "E", "F"], ["A", "A"]):
        refused = client.post("/api/v1/polls", json=base | {"options": options}, headers=editor)
        assert refused.status_code == 422
        assert refused.get_json()["error"] == "invalid_options"
    bad_window = base | {
        "options": ["A", "B"],
        "opens_at": clock.now.isoformat(),
        "closes_at": clock.now.isoformat(),
    }
    assert client.post("/api/v1/polls", json=bad_window, headers=editor).status_code == 422
    assert (
        client.post(
            "/api/v1/polls", json=base | {"options": ["A", "B"]}, headers=voter()
        ).status_code
        == 403
    )
    created = client.post("/api/v1/polls", json=base | {"options": ["A", "B"]}, headers=editor)
    assert created.status_code == 201
    poll = created.get_json()
    assert poll["state"] == "draft"
    assert client.get(f"/api/v1/polls/{poll['id']}").status_code == 404  # drafts are private
    too_short = client.post(
        f"/api/v1/polls/{poll['id']}/open", json={"duration_s": 5}, headers=editor
    )
    assert too_short.status_code == 422
    opened = client.post(
        f"/api/v1/polls/{poll['id']}/open", json={"duration_s": 120}, headers=editor
    )
    assert opened.status_code == 200
    assert opened.get_json()["state"] == "open"
    assert (
        client.post(f"/api/v1/polls/{poll['id']}/open", json={}, headers=editor).status_code == 409
    )
    a = poll["options"][0]["id"]
    assert vote(client, poll["id"], voter(), a, new_key()).status_code == 201
    closed = client.post(f"/api/v1/polls/{poll['id']}/close", headers=editor)
    assert closed.status_code == 200
    assert closed.get_json()["state"] == "closed"
    assert closed.get_json()["winner"] == a
    assert vote(client, poll["id"], voter(), a, new_key()).get_json()["error"] == "poll_closed"
