"""Moderators give trust levels and badges from the members page; an ambassador's tips stand out."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape
from typing import Any

import sqlalchemy as sa

from community.models import CommunityMember
from tests.conftest import csrf_token


def test_a_moderator_makes_a_resident_an_ambassador_and_a_leader(
    client: Any, auth: Any, make_user: Callable[..., Any], seeded: Any
):
    resident = make_user("voisine@example.org", role="resident", display_name="Voisine")
    auth.login(make_user("resident-viewer@example.org").email)
    assert client.get("/moderation/membres").status_code == 403
    auth.logout()
    auth.login(make_user("modo-membres@example.org", role="moderator").email)
    page = unescape(
        client.get("/moderation/membres", query_string={"q": "voisine"}).get_data(as_text=True)
    )
    assert "voisine@example.org" in page
    assert "Niveau 0 (nouveau)" in page
    token = csrf_token(client, "/moderation/membres")
    url = f"/moderation/membres/{resident.id}"
    client.post(url, data={"csrf_token": token, "badge": "ambassador", "q": "voisine"})
    done = client.post(
        url, data={"csrf_token": token, "level": "4", "q": "voisine"}, follow_redirects=True
    )
    html = unescape(done.get_data(as_text=True))
    assert "Décision enregistrée." in html
    assert "Niveau 4 (référent)" in html
    again = client.post(
        url, data={"csrf_token": token, "badge": "ambassador"}, follow_redirects=True
    )
    assert "Ce membre a déjà ce badge." in unescape(again.get_data(as_text=True))
    bad = client.post(url, data={"csrf_token": token, "badge": "roi"}, follow_redirects=True)
    assert "Badge inconnu." in unescape(bad.get_data(as_text=True))
    standing = seeded.session.scalar(
        sa.select(CommunityMember).where(CommunityMember.user_id == resident.id)
    )
    seeded.session.refresh(standing)
    assert (standing.trust_level, standing.badge) == (4, "ambassador")
    log = unescape(client.get("/bons-plans/journal").get_data(as_text=True))
    assert "voisine@example.org" not in log
    assert "Voisine" not in log


def test_following_a_departement_never_redirects_off_site(
    client: Any, auth: Any, make_user: Callable[..., Any], seeded: Any
):
    auth.login(make_user("suivre@example.org", role="resident").email)
    token = csrf_token(client, "/bons-plans")
    away = client.post(
        "/bons-plans/departements/86/suivre",
        data={"csrf_token": token, "next": "https://evil.example/"},
    )
    assert away.status_code == 302
    assert away.headers["Location"].startswith("/bons-plans")
    back = client.post(
        "/bons-plans/departements/86/suivre",
        data={"csrf_token": token, "next": "/bons-plans?departement=86"},
    )
    assert back.headers["Location"] == "/bons-plans?departement=86"
