"""The audit of a closed poll: a hash chain of anonymous commitments a voter checks with a
receipt, totals that match the count, nothing published before the close."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tests.conftest import csrf_token
from tests.series.votes.conftest import new_key, options_of
from tests.support.clock import Clock


def test_the_audit_log_chains_every_ballot_and_receipts_check(
    client: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int], clock: Clock
):
    poll = make_poll(lasts=60)
    yes, no = options_of(client, poll)
    receipts = {}
    for option in (yes, yes, no):
        answer = client.post(
            f"/api/v1/polls/{poll}/votes",
            json={"option": option, "key": new_key()},
            headers=voter(),
        )
        receipts[answer.get_json()["receipt"]] = option
    early = client.get(f"/api/v1/polls/{poll}/audit")
    assert early.status_code == 409
    assert early.get_json()["error"] == "not_closed"
    assert client.get(f"/sondages/{poll}/registre").status_code == 404
    clock.advance(seconds=61)

    log = client.get(f"/api/v1/polls/{poll}/audit").get_json()
    assert log["total"] == 3
    assert log["totals"] == {str(yes): 2, str(no): 1}
    # Anyone can recompute the chain and the totals.
    head = hashlib.sha256(f"experts-na:poll-audit:v1:{poll}".encode()).hexdigest()
    assert log["genesis"] == head
    commitments = [e["commitment"] for e in log["entries"]]
    assert commitments == sorted(commitments)  # not in voting order
    for entry in log["entries"]:
        head = hashlib.sha256(
            f"{head}:{entry['commitment']}:{entry['option']}".encode()
        ).hexdigest()
        assert entry["chain"] == head
    assert log["head"] == head
    # Entries carry no voter: nothing but the commitment, the option and the chain.
    assert all(set(e) == {"commitment", "option", "chain"} for e in log["entries"])

    for receipt, option in receipts.items():
        sealed = hashlib.sha256(
            f"experts-na:ballot:v1:{poll}:{option}:{receipt}".encode()
        ).hexdigest()
        assert sealed in commitments
        checked = client.post(f"/api/v1/polls/{poll}/receipts/verify", json={"receipt": receipt})
        assert checked.get_json() == {"counted": True, "option": option, "commitment": sealed}
    wrong = client.post(f"/api/v1/polls/{poll}/receipts/verify", json={"receipt": "0" * 32})
    assert wrong.get_json() == {"counted": False}
    assert client.post(f"/api/v1/polls/{poll}/receipts/verify", json={}).status_code == 400


def test_the_audit_page_checks_a_receipt(
    client: Any, voter: Callable[..., dict[str, str]], make_poll: Callable[..., int], clock: Clock
):
    poll = make_poll(lasts=60)
    yes = options_of(client, poll)[0]
    receipt = client.post(
        f"/api/v1/polls/{poll}/votes", json={"option": yes, "key": new_key()}, headers=voter()
    ).get_json()["receipt"]
    clock.advance(seconds=61)
    page = client.get(f"/sondages/{poll}/registre").get_data(as_text=True)
    assert "Registre public du vote" in page
    token = csrf_token(client, f"/sondages/{poll}/registre")
    checked = client.post(
        f"/sondages/{poll}/registre", data={"receipt": receipt, "csrf_token": token}
    ).get_data(as_text=True)
    assert "Votre bulletin est compté, pour « Oui »" in checked
    unknown = client.post(
        f"/sondages/{poll}/registre", data={"receipt": "nope", "csrf_token": token}
    ).get_data(as_text=True)
    assert "Aucun bulletin ne correspond" in unknown


def test_a_poll_whose_results_are_never_published_keeps_its_register_for_editors(
    client: Any,
    voter: Callable[..., dict[str, str]],
    make_poll: Callable[..., int],
    clock: Clock,
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
):
    """The register totals the ballots: published, it would publish the results."""
    poll = make_poll(results="never", lasts=60)
    yes = options_of(client, poll)[0]
    answer = client.post(
        f"/api/v1/polls/{poll}/votes", json={"option": yes, "key": new_key()}, headers=voter()
    )
    receipt = answer.get_json()["receipt"]
    clock.advance(seconds=61)
    refused = client.get(f"/api/v1/polls/{poll}/audit")
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "results_not_published"
    assert client.get(f"/sondages/{poll}/registre").status_code == 404
    page = client.get(f"/sondages/{poll}").get_data(as_text=True)
    assert "data-audit-link" not in page
    assert 'data-audit=""' in page  # poll.js adds no link at close either
    # A voter still checks their own ballot (it tells them their option, nothing else).
    checked = client.post(f"/api/v1/polls/{poll}/receipts/verify", json={"receipt": receipt})
    assert checked.get_json()["counted"] is True
    editor = {"Authorization": f"Bearer {make_token(make_user('ed9@example.org', role='editor'))}"}
    log = client.get(f"/api/v1/polls/{poll}/audit", headers=editor).get_json()
    assert log["totals"] == {str(yes): 1, **{k: 0 for k in log["totals"] if k != str(yes)}}
