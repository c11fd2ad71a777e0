"""Held stamps: not counted until a moderator accepts them; a removed one may be stamped again."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape
from typing import Any

from tests.conftest import csrf_token
from tests.support.clock import Clock

BOURSE = {"lat": 44.8413, "lon": -0.5695, "accuracy": 12}
BIARRITZ = {"lat": 43.4842, "lon": -1.5703, "accuracy": 12}


def held_biarritz(tourist: Callable[..., Any], places: dict[str, int], clock: Clock) -> None:
    assert tourist(places["place-de-la-bourse"], **BOURSE).status_code == 201
    clock.advance(minutes=30)
    held = tourist(places["rocher-de-la-vierge"], **BIARRITZ)
    assert held.get_json()["status"] == "held"


def test_a_moderator_accepts_a_held_stamp_and_it_then_counts(
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    tourist: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    held_biarritz(tourist, places, clock)
    assert client.get("/moderation/passeport").status_code == 302  # sign in first
    auth.login(make_user("viewer-review@example.org").email)
    assert client.get("/moderation/passeport").status_code == 403
    auth.logout()
    auth.login(make_user("modo-passeport@example.org", role="moderator").email)
    page = unescape(client.get("/moderation/passeport").get_data(as_text=True))
    assert "Rocher de la Vierge, Biarritz" in page
    assert "km/h" in page
    form = page.split('action="/moderation/passeport/')[1]
    stamp_id = int(form.split('"')[0])
    token = csrf_token(client, "/moderation/passeport")
    done = client.post(
        f"/moderation/passeport/{stamp_id}",
        data={"csrf_token": token, "decision": "accept"},
        follow_redirects=True,
    )
    html = unescape(done.get_data(as_text=True))
    assert "Tampon accepté." in html
    assert "Aucun tampon en attente." in html
    # Decided once: a second decision finds nothing to decide.
    again = client.post(
        f"/moderation/passeport/{stamp_id}", data={"csrf_token": token, "decision": "remove"}
    )
    assert again.status_code == 404
    assert tourist(places["rocher-de-la-vierge"], **BIARRITZ).get_json()["status"] == "accepted"


def test_a_removed_held_stamp_can_be_stamped_again_later(
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    tourist: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    held_biarritz(tourist, places, clock)
    auth.login(make_user("editrice-passeport@example.org", role="editor").email)
    page = client.get("/moderation/passeport").get_data(as_text=True)
    stamp_id = int(page.split('action="/moderation/passeport/')[1].split('"')[0])
    token = csrf_token(client, "/moderation/passeport")
    client.post(f"/moderation/passeport/{stamp_id}", data={"csrf_token": token, "decision": "no"})
    clock.advance(hours=4)
    again = tourist(places["rocher-de-la-vierge"], **BIARRITZ)
    assert again.status_code == 201
    assert again.get_json()["status"] == "accepted"
