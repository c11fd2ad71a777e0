"""Passport rewards on the partners' side: created with clear errors (never on a place of
remembrance), codes checked and redeemed once, even concurrently, and unknown to other partners."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from core.db import db as database
from passport import reward_partners, rewards
from passport.reward_models import Reward, RewardClaim
from series.episodes.hotspot_models import PartnerMember
from tests.conftest import csrf_token
from tests.support.clock import Clock
from tests.support.concurrency import in_threads
from tests.support.rewards import (
    GROCER,
    OFFICE,
    claimed_code,
    new_passport,
    new_reward,
    no_demo_rewards,  # noqa: F401 (a fixture)
    offers,
    own_server,
    partner_id,
    place_id,
    stamp,
)

pytestmark = pytest.mark.usefixtures("no_demo_rewards")


@pytest.fixture
def member(app: Flask, db: Any, make_user: Callable[..., Any]) -> Callable[..., Any]:
    """Factory: a partner-role user acting for a seeded partner."""

    def factory(email: str, partner: str = OFFICE) -> Any:
        user = make_user(email, role="partner")
        with app.app_context():
            db.session.add(PartnerMember(partner_id=partner_id(db, partner), user_id=user.id))
            db.session.commit()
        return user

    return factory


def test_a_reward_on_a_place_of_remembrance_is_refused(
    app_context: None, db: Any, places: dict[str, int]
):
    count = sa.select(sa.func.count()).select_from(Reward)
    before = db.session.scalar(count)
    with pytest.raises(rewards.RewardRefused) as refused:
        new_reward(db, condition="place", condition_key=str(places["oradour-sur-glane"]))
    assert refused.value.reason == "remembrance"
    assert "lieu de mémoire" in refused.value.message
    assert db.session.scalar(count) == before


def test_a_partner_checks_a_code_and_redeems_it_once(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    member: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    with app.app_context():
        _reward_id, code = claimed_code(db, places, clock, title="Un broyé offert", kind="gift")
    auth.login(member("comptoir@example.org").email)
    page = unescape(client.get("/partenaire/recompenses").get_data(as_text=True))
    assert "Vérifier un code" in page
    assert "Un broyé offert" in page
    token = csrf_token(client, "/partenaire/recompenses")
    typed = code.lower().replace("-", " ")
    checked = client.post(
        "/partenaire/recompenses/verifier", data={"csrf_token": token, "code": typed}
    )
    html = unescape(checked.get_data(as_text=True))
    assert checked.status_code == 200
    assert "Un broyé offert" in html
    assert code in html
    assert "Code valable, pas encore utilisé." in html
    assert "Confirmer la remise" in html
    done = client.post(
        "/partenaire/recompenses/utiliser",
        data={"csrf_token": token, "code": code},
        follow_redirects=True,
    )
    html = unescape(done.get_data(as_text=True))
    assert f"Code {code} utilisé : « Un broyé offert »." in html
    assert re.search(r"<td class=\"num\">1</td>\s*<td class=\"num\">1</td>", html)  # claimed, used

    again = client.post(
        "/partenaire/recompenses/utiliser", data={"csrf_token": token, "code": code}
    )
    assert again.status_code == 409
    assert "Code déjà utilisé le" in unescape(again.get_data(as_text=True))
    checked = client.post(
        "/partenaire/recompenses/verifier", data={"csrf_token": token, "code": code}
    )
    html = unescape(checked.get_data(as_text=True))
    assert "Code déjà utilisé le" in html
    assert "Confirmer la remise" not in html
    with app.app_context():
        claim = db.session.scalar(sa.select(RewardClaim).where(RewardClaim.code == code))
        assert claim.redeemed_at == clock.now
        assert claim.redeemed_by_id is not None


def test_another_partner_neither_sees_nor_redeems_the_code(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    member: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    with app.app_context():
        reward_id, code = claimed_code(db, places, clock, title="Offre de l'office")
    auth.login(member("epicier@example.org", partner=GROCER).email)
    page = unescape(client.get("/partenaire/recompenses").get_data(as_text=True))
    assert "Offre de l'office" not in page
    token = csrf_token(client, "/partenaire/recompenses")
    for path in ("/partenaire/recompenses/verifier", "/partenaire/recompenses/utiliser"):
        response = client.post(path, data={"csrf_token": token, "code": code})
        assert response.status_code == 404
        assert "Code inconnu" in unescape(response.get_data(as_text=True))
    refused = client.post(
        f"/partenaire/recompenses/{reward_id}/desactiver", data={"csrf_token": token}
    )
    assert refused.status_code == 404
    with app.app_context():
        claim = db.session.scalar(sa.select(RewardClaim).where(RewardClaim.code == code))
        assert claim.redeemed_at is None
        assert db.session.get(Reward, reward_id).active


def test_code_checks_are_limited_per_partner_user(
    client: Any, auth: Any, member: Callable[..., Any], places: dict[str, int]
):
    auth.login(member("devine@example.org").email)
    token = csrf_token(client, "/partenaire/recompenses")
    statuses = [
        client.post(
            "/partenaire/recompenses/verifier", data={"csrf_token": token, "code": "EXP-2222-2222"}
        ).status_code
        for _ in range(reward_partners.CHECKS_PER_MINUTE + 1)
    ]
    assert set(statuses[:-1]) == {404}
    assert statuses[-1] == 429


def test_partners_create_and_deactivate_rewards_with_clear_errors(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    member: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    auth.login(member("createur@example.org").email)
    page = unescape(client.get("/partenaire/recompenses").get_data(as_text=True))
    assert "Nouvelle récompense" in page
    assert '<option value="departement:86">Vienne (86)</option>' in page
    assert "Oradour" not in page  # places of remembrance are not offered
    assert '<label for="stock">' in page
    token = csrf_token(client, "/partenaire/recompenses")
    form = {
        "csrf_token": token,
        "title": "Visite guidée offerte",
        "description": "Pour deux personnes.",
        "kind": "gift",
        "condition": "season:1",
        "valid_from": "",
        "valid_until": "",
        "stock": "",
    }
    bad = client.post(
        "/partenaire/recompenses",
        data=form | {"title": "", "valid_until": "31/12/2026", "stock": "0"},
    )
    html = unescape(bad.get_data(as_text=True))
    assert bad.status_code == 422
    assert "Ce champ est obligatoire." in html
    assert "Date invalide (format AAAA-MM-JJ)." in html
    assert "Le stock est un nombre entier d'au moins 1" in html
    backwards = client.post(
        "/partenaire/recompenses",
        data=form | {"valid_from": "2026-12-31", "valid_until": "2026-12-01"},
    )
    assert "La fin de validité précède son début." in unescape(backwards.get_data(as_text=True))
    oradour = client.post(
        "/partenaire/recompenses",
        data=form | {"condition": f"place:{places['oradour-sur-glane']}"},
    )
    assert oradour.status_code == 422
    assert "est un lieu de mémoire" in unescape(oradour.get_data(as_text=True))

    made = client.post(
        "/partenaire/recompenses",
        data=form | {"valid_until": "2099-12-31", "stock": "20"},
        follow_redirects=True,
    )
    html = unescape(made.get_data(as_text=True))
    assert "Récompense « Visite guidée offerte » créée." in html
    assert "jusqu'au 31 décembre 2099" in html
    with app.app_context():
        reward = db.session.scalar(sa.select(Reward))
        assert (reward.condition, reward.condition_key, reward.stock) == ("season", "1", 20)
        assert reward.last_day == dt.date(2099, 12, 31)
        assert reward.valid_until == dt.datetime(2099, 12, 31, 23, tzinfo=dt.UTC)  # Paris midnight
        reward_id = reward.id
    client.post(f"/partenaire/recompenses/{reward_id}/desactiver", data={"csrf_token": token})
    with app.app_context():
        assert not db.session.get(Reward, reward_id).active
        assert offers(db, None, clock.now) == []


def test_the_demo_rewards_are_seeded_once(app_context: None, db: Any, seeded: Any):
    assert len(reward_partners.seed_rewards(db.session)) == 2
    assert reward_partners.seed_rewards(db.session) == []
    titles = set(db.session.scalars(sa.select(Reward.title)))
    assert "−10 % à la boutique du Futuroscope" in titles


#: Threads released together on a database of their own (one transaction each).
THREADS = 12


@pytest.fixture
def server(tmp_path: Path, database_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    with own_server(tmp_path, database_url, app_config) as flask_app:
        yield flask_app


def test_concurrent_redemptions_of_one_code_give_one_success(server: Flask, clock: Clock):
    with server.app_context():
        futuroscope = place_id(database, "futuroscope")
        reward_id = new_reward(database)
        passport = new_passport(database)
        stamp(database, passport, futuroscope, clock.now)
        reward = database.get_or_404(Reward, reward_id)
        code = rewards.claim_reward(database.session, reward, passport, clock.now).claim.code
        office = reward.partner_id
        clerk = database.session.scalar(
            sa.select(PartnerMember.user_id).where(PartnerMember.partner_id == office)
        )
        assert clerk is not None
        database.session.commit()

    def work(_index: int) -> str:
        with server.app_context():
            try:
                reward_partners.redeem_code(database.session, code, [office], clerk, clock.now)
            except rewards.RewardRefused as refused:
                database.session.rollback()
                return refused.reason
            database.session.commit()
            return "redeemed"

    results = in_threads(THREADS, work)
    assert sorted(results) == ["already_used"] * (THREADS - 1) + ["redeemed"]
