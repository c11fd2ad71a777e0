"""Passport rewards on the visitor's side: locked until a badge, claimed once with a code, within
the stock even under concurrent claims; a guest's claims follow the guest into an account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, render_template

from core.db import db as database
from passport import guests, reward_partners, rewards, services
from passport.models import FilmingLocation, Passport, Stamp, StampStatus
from passport.reward_models import Reward, RewardClaim
from tests.conftest import csrf_token
from tests.support.clock import Clock
from tests.support.concurrency import in_threads
from tests.support.rewards import (
    CODE,
    new_passport,
    new_reward,
    no_demo_rewards,  # noqa: F401 (a fixture)
    offers,
    own_server,
    place_id,
    stamp,
)

pytestmark = pytest.mark.usefixtures("no_demo_rewards")


def test_a_reward_stays_locked_until_its_badge_and_gives_one_code(
    app_context: None, db: Any, places: dict[str, int], clock: Clock
):
    reward_id = new_reward(db)
    reward = db.session.get(Reward, reward_id)
    passport = new_passport(db)
    [offer] = offers(db, passport, clock.now)
    assert offer.state == rewards.RewardState.LOCKED
    assert offer.condition == "Badge Vienne (86)"
    assert offer.missing == "Encore 1 lieu à tamponner."
    with pytest.raises(rewards.RewardRefused) as refused:
        rewards.claim_reward(db.session, reward, passport, clock.now)
    assert refused.value.reason == "locked"
    stamp(db, passport, places["futuroscope"], clock.now, status="held")  # not yet reviewed
    assert offers(db, passport, clock.now)[0].state == rewards.RewardState.LOCKED
    db.session.execute(sa.update(Stamp).values(status=StampStatus.ACCEPTED))
    assert offers(db, passport, clock.now)[0].state == rewards.RewardState.CLAIMABLE

    first = rewards.claim_reward(db.session, reward, passport, clock.now)
    again = rewards.claim_reward(db.session, reward, passport, clock.now)
    assert first.created
    assert not again.created
    assert CODE.match(first.claim.code)
    assert again.claim.code == first.claim.code
    [offer] = offers(db, passport, clock.now)
    assert (offer.state, offer.code) == (rewards.RewardState.CLAIMED, first.claim.code)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RewardClaim)) == 1
    assert db.session.get(Reward, reward_id).claimed == 1


def test_a_place_condition_wants_that_place_stamped(
    app_context: None, db: Any, places: dict[str, int], clock: Clock
):
    reward = db.session.get(
        Reward, new_reward(db, condition="place", condition_key=str(places["cognac"]))
    )
    passport = new_passport(db)
    [offer] = offers(db, passport, clock.now)
    assert offer.condition == "Tampon du lieu « Cognac »"
    assert offer.missing == "Tamponnez le lieu « Cognac »."
    stamp(db, passport, places["cognac"], clock.now)
    assert rewards.claim_reward(db.session, reward, passport, clock.now).created


def test_a_stock_of_one_goes_to_one_passport(
    app_context: None, db: Any, places: dict[str, int], clock: Clock
):
    reward = db.session.get(Reward, new_reward(db, stock=1))
    first, second = new_passport(db), new_passport(db)
    for passport in (first, second):
        stamp(db, passport, places["futuroscope"], clock.now)
    rewards.claim_reward(db.session, reward, first, clock.now)
    with pytest.raises(rewards.RewardRefused) as refused:
        rewards.claim_reward(db.session, reward, second, clock.now)
    assert refused.value.reason == "out_of_stock"
    assert offers(db, second, clock.now)[0].state == rewards.RewardState.OUT_OF_STOCK
    assert offers(db, first, clock.now)[0].state == rewards.RewardState.CLAIMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RewardClaim)) == 1


def test_validity_dates_bound_claims_and_redemptions(
    app_context: None, db: Any, places: dict[str, int], clock: Clock
):
    reward = db.session.get(
        Reward,
        new_reward(
            db,
            valid_from=clock.now + dt.timedelta(days=1),
            valid_until=clock.now + dt.timedelta(days=10),
        ),
    )
    passport = new_passport(db)
    stamp(db, passport, places["futuroscope"], clock.now)
    assert offers(db, passport, clock.now) == []  # not offered yet
    with pytest.raises(rewards.RewardRefused, match="not_yet"):
        rewards.claim_reward(db.session, reward, passport, clock.now)
    code = rewards.claim_reward(db.session, reward, passport, clock.now + dt.timedelta(days=2))
    later = clock.now + dt.timedelta(days=11)
    assert offers(db, passport, later)[0].state == rewards.RewardState.EXPIRED
    assert offers(db, new_passport(db), later) == []
    with pytest.raises(rewards.RewardRefused) as refused:
        reward_partners.redeem_code(db.session, code.claim.code, [reward.partner_id], 0, later)
    assert refused.value.reason == "expired"


def test_a_guest_claims_through_the_form_and_keeps_the_code_at_sign_in(
    app: Flask,
    db: Any,
    client: Any,
    auth: Any,
    make_user: Callable[..., Any],
    places: dict[str, int],
    clock: Clock,
):
    with app.app_context():
        reward_id = new_reward(db)
        place = db.session.get(FilmingLocation, places["futuroscope"])
        code = services.place_code(place, clock.now)
    token = csrf_token(client, "/passeport")
    client.post(
        "/passeport/code",
        data={"csrf_token": token, "location": places["futuroscope"], "code": code},
    )
    assert client.get_cookie(guests.GUEST_COOKIE) is not None
    claimed = client.post(f"/passeport/recompenses/{reward_id}", data={"csrf_token": token})
    assert claimed.status_code == 302
    assert claimed.headers["Location"].endswith("/passeport#recompenses")
    with app.app_context():
        claim = db.session.scalar(sa.select(RewardClaim))
        guest_code = claim.code
    page = unescape(client.get("/passeport").get_data(as_text=True))
    assert f"montrez le code {guest_code} au partenaire" in page

    user = make_user("voyageuse@example.org")
    auth.login(user.email)
    with app.app_context():
        claim = db.session.scalar(sa.select(RewardClaim))
        assert claim.code == guest_code
        assert db.session.get(Passport, claim.passport_id).user_id == user.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Passport)) == 1


def test_a_merge_keeps_the_accounts_claim_of_a_reward_both_claimed(
    app_context: None, db: Any, make_user: Callable[..., Any], places: dict[str, int], clock: Clock
):
    user_id = make_user("deux@example.org").id  # first: the factory ends its own context
    reward_id = new_reward(db, stock=5)
    reward = db.session.get(Reward, reward_id)
    account = new_passport(db, user_id)
    guest = new_passport(db)
    for passport in (account, guest):
        stamp(db, passport, places["futuroscope"], clock.now)
    kept = rewards.claim_reward(db.session, reward, account, clock.now).claim.code
    rewards.claim_reward(db.session, reward, guest, clock.now)
    futuroscope = str(places["futuroscope"])
    only_guest = new_reward(db, title="Autre", condition="place", condition_key=futuroscope)
    other = db.session.get(Reward, only_guest)
    moved = rewards.claim_reward(db.session, other, guest, clock.now).claim.code
    # Both claimed a third reward, but only the guest's code was used at a counter: it stays.
    third = db.session.get(
        Reward, new_reward(db, title="Troisième", condition="place", condition_key=futuroscope)
    )
    rewards.claim_reward(db.session, third, account, clock.now)
    used = rewards.claim_reward(db.session, third, guest, clock.now).claim.code
    reward_partners.redeem_code(db.session, used, [third.partner_id], user_id, clock.now)
    guests.merge_guest_into(db.session, guest, account)
    codes = dict(
        db.session.execute(
            sa.select(RewardClaim.reward_id, RewardClaim.code).where(
                RewardClaim.passport_id == account.id
            )
        ).all()
    )
    assert codes == {reward_id: kept, other.id: moved, third.id: used}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RewardClaim)) == 3
    assert db.session.get(Reward, reward_id).claimed == 1  # the duplicate's unit is given back


def test_the_offers_partial_shows_the_claim_button_then_the_code(
    app: Flask, db: Any, places: dict[str, int], clock: Clock
):
    with app.app_context():
        reward = db.session.get(Reward, new_reward(db))
        passport = new_passport(db)
        stamp(db, passport, places["futuroscope"], clock.now)
        with app.test_request_context("/passeport"):
            html = unescape(
                render_template(
                    "passport/_rewards.html", reward_offers=offers(db, passport, clock.now)
                )
            )
            assert 'id="recompenses"' in html
            assert "Récompenses des partenaires" in html
            assert f'action="/passeport/recompenses/{reward.id}"' in html
            assert "Obtenir mon code" in html
            assert 'name="csrf_token"' in html
            code = rewards.claim_reward(db.session, reward, passport, clock.now).claim.code
            html = render_template(
                "passport/_rewards.html", reward_offers=offers(db, passport, clock.now)
            )
            assert f'<p class="reward-code">{code}</p>' in html
            assert "Obtenir mon code" not in html
            assert render_template("passport/_rewards.html", reward_offers=[]).strip() == ""


def test_the_api_lists_the_visitors_offers(
    client: Any, app: Flask, db: Any, places: dict[str, int]
):
    with app.app_context():
        reward_id = new_reward(db, title="Réduction API")
    response = client.get("/api/v1/passport/rewards")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    [offer] = response.get_json()
    assert offer["id"] == reward_id
    assert (offer["state"], offer["code"]) == ("locked", None)
    assert offer["missing"] == "Encore 1 lieu à tamponner."


def test_codes_are_read_back_however_they_are_typed():
    code = rewards.new_code()
    assert CODE.match(code)
    assert not set(code) & set("01OI")
    assert rewards.normalise_code(" exp 7k4q-m2xd ") == "EXP-7K4Q-M2XD"
    assert rewards.normalise_code("7K4QM2XD") == "EXP-7K4Q-M2XD"
    assert rewards.normalise_code("EXP-7K4Q-M2X0") is None  # 0 is never in a code
    assert rewards.normalise_code("x" * 40) is None


#: Threads released together on a database of their own (one transaction each).
THREADS = 12


@pytest.fixture
def server(tmp_path: Path, database_url: str, app_config: dict[str, Any]) -> Iterator[Flask]:
    with own_server(tmp_path, database_url, app_config) as flask_app:
        yield flask_app


def test_concurrent_claims_of_the_last_unit_give_one_code(server: Flask, clock: Clock):
    with server.app_context():
        futuroscope = place_id(database, "futuroscope")
        reward_id = new_reward(database, stock=1)
        passport_ids = []
        for _ in range(THREADS):
            passport = new_passport(database)
            stamp(database, passport, futuroscope, clock.now)
            passport_ids.append(passport.id)
        database.session.commit()

    def work(index: int) -> str:
        with server.app_context():
            reward = database.get_or_404(Reward, reward_id)
            passport = database.get_or_404(Passport, passport_ids[index])
            try:
                rewards.claim_reward(database.session, reward, passport, clock.now)
            except rewards.RewardRefused as refused:
                database.session.rollback()
                return refused.reason
            database.session.commit()
            return "claimed"

    results = in_threads(THREADS, work)
    assert sorted(results) == ["claimed"] + ["out_of_stock"] * (THREADS - 1)
    with server.app_context():
        assert database.session.scalar(sa.select(sa.func.count()).select_from(RewardClaim)) == 1
        assert database.get_or_404(Reward, reward_id).claimed == 1
