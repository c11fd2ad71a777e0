"""Privacy (RGPD): an account's data to download and read, the consent history, and deleting
the account while what others rely on stays (anonymous tips, ballots, clue finds)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from community.models import CommunityMember, Tip, TipComment, TipVote
from core.accounts import privacy
from core.accounts.models import ApiToken, User
from core.config import OidcProviderConfig
from core.consent_models import ConsentEvent
from core.models import metadata
from passport.models import FilmingLocation, Passport, Stamp
from passport.reward_models import Reward, RewardClaim, RewardCondition, RewardKind
from series.clues.models import ClueFind, Player
from series.episodes.hotspot_models import Hotspot, Partner
from series.models import Episode, Season
from series.votes import casting
from series.votes.models import Ballot, CastingCall, PollScope
from tests.conftest import AuthActions, csrf_token
from tests.series.clues.conftest import centre
from tests.support.clock import Clock

FUTUROSCOPE = (46.6692, 0.3689)
ALICE = "alice.privee@example.org"
ALICE_NAME = "Alice Privée"
BOB = "bob.voisin@example.org"
BOB_NAME = "Bob Voisin"
CONSENT_PAGE = "/confidentialite/mesure-d-audience"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """A clock the test moves; leaderboards and tallies pushed at once (no threads)."""
    return app_config | {"CLOCK": clock, "LEADERBOARD_PUSH_INTERVAL": 0, "POLL_TALLY_INTERVAL": 0}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class World:
    """Alice has data in every domain; Bob, another resident, played and voted beside her."""

    alice: User
    alice_token: str
    bob: User
    poll: int
    yes: int
    receipt: str
    clue: int
    tip: int
    bob_tip: int
    passport: int


def _claim_first_clue(client: FlaskClient, app: Flask, db: Any, headers: dict[str, str]) -> int:
    with app.app_context():
        episode, clue = db.session.execute(
            sa.select(Episode, Hotspot)
            .join(Season)
            .join(Hotspot, Hotspot.episode_id == Episode.id)
            .where(Season.number == 1, Episode.number == 1, Hotspot.kind == "clue")
            .order_by(Hotspot.start_s)
        ).first()
        episode_id, clue_id, keyframes = episode.id, clue.id, clue.keyframes
    x, y = centre({"keyframes": keyframes}, 10.0)
    answer = client.post(
        f"/api/v1/episodes/{episode_id}/clue-claims",
        json={"t": 10.0, "x": x, "y": y},
        headers=headers,
    )
    assert answer.get_json()["found"] is True, answer.get_json()
    return clue_id


def _vote(client: FlaskClient, poll: int, option: int, headers: dict[str, str]) -> str:
    answer = client.post(
        f"/api/v1/polls/{poll}/votes",
        json={"option": option, "key": str(uuid.uuid4())},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    return str(answer.get_json()["receipt"])


@pytest.fixture
def world(
    app: Flask,
    db: Any,
    client: FlaskClient,
    seeded: Any,
    clock: Clock,
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
) -> World:
    """Alice: a clue find, a vote, a casting sign-up, a stamp and a reward claim, a tip, a
    comment, an "utile" vote and a confirmation (her consent choices are made signed in, by
    the tests). Bob: the same clue found after her, a vote, a tip she comments on."""
    from community import comments
    from passport import rewards
    from series.votes import services as votes

    alice = make_user(ALICE, role="resident", display_name=ALICE_NAME)
    bob = make_user(BOB, role="resident", display_name=BOB_NAME)
    carol = make_user(role="resident")
    alice_token, bob_token = make_token(alice), make_token(bob)
    with app.app_context():
        # Trusted residents: their tips are published at once.
        db.session.add_all(
            [
                CommunityMember(user_id=alice.id, trust_level=2),
                CommunityMember(user_id=bob.id, trust_level=2),
            ]
        )
        poll = votes.create_poll(
            db.session,
            question="Qui a volé la Mélusine ?",
            options=["Le conservateur", "La guide"],
            scope=PollScope.SITE,
            opens_at=clock.now,
            closes_at=clock.now + dt.timedelta(seconds=60),
        )
        poll_id, (yes, no) = poll.id, [o.id for o in poll.options]
        db.session.commit()

    clue = _claim_first_clue(client, app, db, bearer(alice_token))
    _claim_first_clue(client, app, db, bearer(bob_token))

    receipt = _vote(client, poll_id, yes, bearer(alice_token))
    _vote(client, poll_id, yes, bearer(bob_token))
    _vote(client, poll_id, no, bearer(make_token(carol)))

    lat, lon = FUTUROSCOPE
    with app.app_context():
        place = db.session.scalar(
            sa.select(FilmingLocation.id).where(FilmingLocation.slug == "futuroscope")
        )
    stamped = client.post(
        "/api/v1/passport/stamps",
        json={
            "location": place,
            "lat": lat,
            "lon": lon,
            "accuracy": 10,
            "at": clock.now.isoformat(),
        },
        headers=bearer(alice_token),
    )
    assert stamped.status_code == 201, stamped.get_json()

    tip_body = {"body": "Une balade en barque dans les conches, avec un batelier qui raconte."}
    tip = client.post(
        "/api/v1/tips",
        json=tip_body
        | {"title": "Barque à Coulon", "category": "visite", "lat": 46.3262, "lon": -0.5905},
        headers=bearer(alice_token),
    ).get_json()["id"]
    bob_tip = client.post(
        "/api/v1/tips",
        json=tip_body
        | {"title": "Mogettes à Coulon", "category": "restaurant", "lat": 46.3262, "lon": -0.5905},
        headers=bearer(bob_token),
    ).get_json()["id"]
    assert (
        client.post(f"/api/v1/tips/{bob_tip}/helpful", headers=bearer(alice_token)).status_code
        == 200
    )
    assert client.post(f"/api/v1/tips/{tip}/helpful", headers=bearer(bob_token)).status_code == 200
    assert (
        client.post(
            f"/api/v1/tips/{bob_tip}/confirmations", headers=bearer(alice_token)
        ).status_code
        == 200
    )

    with app.app_context():
        user = db.session.get(User, alice.id)
        comments.add_comment(
            db.session,
            db.session.get(Tip, bob_tip),
            user,
            "Merci, on y a mangé hier soir !",
            clock.now,
        )
        call = db.session.scalars(sa.select(CastingCall).order_by(CastingCall.id)).first()
        call.signup_until = clock.now + dt.timedelta(days=30)
        call.filmed_at = None
        casting.sign_up(
            db.session,
            call,
            user,
            {
                "full_name": "Alice Privée-Martin",
                "email": ALICE,
                "phone": "06 12 34 56 78",
                "commune": "Coulon",
                "age_range": "26-40",
                "availability": ["weekend"],
                "note": "Je sais mener une plate.",
                "consent": "yes",
            },
            clock.now,
        )
        partner = db.session.scalars(sa.select(Partner).order_by(Partner.id)).first()
        reward = Reward(
            partner_id=partner.id,
            title="Café offert au Futuroscope",
            kind=RewardKind.GIFT,
            condition=RewardCondition.PLACE,
            condition_key=str(place),
            stock=10,
        )
        db.session.add(reward)
        db.session.flush()
        passport = db.session.scalar(sa.select(Passport).where(Passport.user_id == alice.id))
        rewards.claim_reward(db.session, reward, passport, clock.now)
        passport_id = passport.id
        db.session.commit()

    clock.advance(seconds=61)  # the poll is closed: its audit log is published
    return World(alice, alice_token, bob, poll_id, yes, receipt, clue, tip, bob_tip, passport_id)


def sign_in_and_choose(client: FlaskClient, auth: AuthActions, email: str, answer: str) -> None:
    assert auth.login(email).status_code == 302
    token = csrf_token(client, CONSENT_PAGE)
    response = client.post(
        CONSENT_PAGE, data={"audience": answer, "csrf_token": token, "next": "/compte"}
    )
    assert response.status_code == 302


def secrets_of(app: Flask, db: Any, user: User) -> list[str]:
    with app.app_context():
        row = db.session.get(User, user.id)
        hashes = list(
            db.session.scalars(sa.select(ApiToken.token_hash).where(ApiToken.user_id == user.id))
        )
        return [row.password_hash, row.session_nonce, *hashes]


def test_the_export_holds_every_part_and_no_secret(app, db, client, auth, world: World):
    sign_in_and_choose(client, auth, ALICE, "accept")
    response = client.get("/compte/donnees.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    data = json.loads(text)
    assert list(data) == [section.key for section in privacy.SECTIONS]

    assert data["account"]["profile"]["email"] == ALICE
    assert data["account"]["profile"]["display_name"] == ALICE_NAME
    assert [t["label"] for t in data["account"]["api_tokens"]] == ["test"]
    assert [(c["purpose"], c["granted"]) for c in data["consents"]] == [("audience", True)]
    [find] = data["clue_game"]["finds"]
    assert find["season"] == 1
    assert find["episode"] == 1
    assert find["points"] > 0
    [ballot] = data["votes"]
    assert ballot == {
        "poll": "Qui a volé la Mélusine ?",
        "choice": "Le conservateur",
        "cast_at": ballot["cast_at"],
        "receipt": world.receipt,
    }
    [signup] = data["casting"]
    assert signup["full_name"] == "Alice Privée-Martin"
    assert signup["availability"] == ["weekend"]
    [stamp] = data["passport"]["stamps"]
    assert (stamp["method"], stamp["distance_band"]) == ("gps", "0-50")
    assert stamp["place"]
    assert stamp["taken_at"]
    [claim] = data["passport"]["reward_claims"]
    assert claim["reward"] == "Café offert au Futuroscope"
    assert claim["code"].startswith("EXP-")
    community = data["community"]
    assert community["standing"]["trust_level"] == 2
    assert [t["title"] for t in community["tips"]] == ["Barque à Coulon"]
    assert [c["body"] for c in community["comments"]] == ["Merci, on y a mangé hier soir !"]
    assert [v["tip"] for v in community["helpful_votes"]] == [world.bob_tip]
    assert [c["tip"] for c in community["confirmations"]] == [world.bob_tip]

    # No secret of the account, and nothing of another account.
    for secret in [*secrets_of(app, db, world.alice), world.alice_token]:
        assert secret not in text
    assert "$argon2" not in text
    for other in (BOB, BOB_NAME):
        assert other not in text


def test_the_readable_page_shows_the_same_data(client, auth, world: World):
    auth.login(ALICE)
    response = client.get("/compte/donnees")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = unescape(response.get_data(as_text=True))
    for heading in (
        "Compte",
        "Jeu d'enquête",
        "Votes",
        "Figuration",
        "Passeport",
        "Bons plans",
    ):
        assert heading in html
    for value in (
        ALICE,
        "Le conservateur",
        world.receipt,
        "Alice Privée-Martin",
        "Café offert au Futuroscope",
        "Barque à Coulon",
        "Merci, on y a mangé hier soir !",
    ):
        assert value in html, value
    assert "<dl" in html
    assert "<table" in html
    assert 'href="/compte/donnees.json"' in html


def test_the_account_page_offers_the_data_and_shows_the_consent_history(client, auth, world: World):
    sign_in_and_choose(client, auth, ALICE, "accept")
    sign_in_and_choose(client, auth, ALICE, "refuse")
    response = client.get("/compte")
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Mes données" in html
    assert 'href="/compte/donnees.json"' in html
    assert 'href="/compte/donnees"' in html
    assert 'href="/compte/suppression"' in html
    history = html[html.index("Historique de mes choix de consentement") :]
    # The latest first.
    assert history.index("accord refusé") < history.index("accord donné")


def test_a_choice_without_an_account_is_recorded_for_nobody(app, db, client, seeded):
    token = csrf_token(client, CONSENT_PAGE)
    client.post(CONSENT_PAGE, data={"audience": "refuse", "csrf_token": token, "next": "/"})
    with app.app_context():
        [event] = db.session.scalars(sa.select(ConsentEvent)).all()
        assert event.user_id is None
        assert (event.purpose, event.granted) == ("audience", False)
        assert event.text_version


def test_deletion_asks_for_the_password(app, db, client, auth, world: World):
    auth.login(ALICE)
    page = client.get("/compte/suppression")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert 'type="password"' in html
    assert 'autocomplete="current-password"' in html
    assert "Ce qui reste, sans lien avec vous" in html
    wrong = client.post(
        "/compte/suppression",
        data={
            "password": "pas le bon mot de passe",
            "csrf_token": csrf_token(client, "/compte/suppression"),
        },
    )
    assert wrong.status_code == 422
    assert "Mot de passe incorrect." in wrong.get_data(as_text=True)
    without_csrf = client.post("/compte/suppression", data={"password": AuthActions.password})
    assert without_csrf.status_code in (400, 422)
    with app.app_context():
        assert db.session.get(User, world.alice.id) is not None


def _audit_head(app: Flask, db: Any, poll: int) -> tuple[str, dict[int, int]]:
    from series.votes import audit
    from series.votes.models import Poll
    from series.votes.services import db_counts

    with app.app_context():
        rows = db.session.execute(
            sa.select(Ballot.commitment, Ballot.option_id)
            .where(Ballot.poll_id == poll)
            .order_by(Ballot.commitment)
        ).all()
        head = audit.genesis(poll)
        for commitment, option in rows:
            head = audit.chain(head, commitment, option)
        return head, db_counts(db.session, db.session.get(Poll, poll))


def test_deleting_the_account_keeps_what_others_rely_on(app, db, client, auth, world: World):
    auth.login(ALICE)
    head_before, counts_before = _audit_head(app, db, world.poll)
    board_before = client.get("/api/v1/leaderboard?limit=200").get_json()
    assert ALICE_NAME in [entry["player"] for entry in board_before]
    assert BOB_NAME in [entry["player"] for entry in board_before]
    with app.app_context():
        bob_find = db.session.scalar(
            sa.select(ClueFind.rank).join(Player).where(Player.user_id == world.bob.id)
        )
        alice_find = db.session.scalar(
            sa.select(ClueFind.rank).join(Player).where(Player.user_id == world.alice.id)
        )
    assert bob_find is not None
    assert alice_find is not None

    response = client.post(
        "/compte/suppression",
        data={
            "password": AuthActions.password,
            "csrf_token": csrf_token(client, "/compte/suppression"),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    with app.app_context():
        assert db.session.get(User, world.alice.id) is None
        assert db.session.scalar(sa.select(User).where(User.email == ALICE)) is None
        # The tip and the comment stay, by nobody; "utile" votes stay as counts.
        tip = db.session.get(Tip, world.tip)
        assert tip is not None
        assert tip.author_id is None
        assert tip.helpful_count == 1
        assert db.session.get(Tip, world.bob_tip).helpful_count == 1
        [comment] = db.session.scalars(
            sa.select(TipComment).where(TipComment.tip_id == world.bob_tip)
        )
        assert comment.author_id is None
        assert (
            db.session.scalar(sa.select(TipVote.id).where(TipVote.tip_id == world.bob_tip)) is None
        )
        assert db.session.get(CommunityMember, world.alice.id) is None
        # The passport, its stamps and claims are gone; the unused code's unit is back.
        assert db.session.get(Passport, world.passport) is None
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Stamp)
                .where(Stamp.passport_id == world.passport)
            )
            == 0
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(RewardClaim)
                .where(RewardClaim.passport_id == world.passport)
            )
            == 0
        )
        assert (
            db.session.scalar(
                sa.select(Reward.claimed).where(Reward.title == "Café offert au Futuroscope")
            )
            == 0
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ConsentEvent)
                .where(ConsentEvent.user_id == world.alice.id)
            )
            == 0
        )
        # Alice's find stays, with its rank, under a player attached to nobody.
        player = db.session.scalar(
            sa.select(Player)
            .join(ClueFind, ClueFind.player_id == Player.id)
            .where(ClueFind.hotspot_id == world.clue, ClueFind.rank == alice_find)
        )
        assert player.user_id is None
        assert player.pseudonym != ALICE_NAME
        # Bob's find keeps its rank.
        assert (
            db.session.scalar(
                sa.select(ClueFind.rank).join(Player).where(Player.user_id == world.bob.id)
            )
            == bob_find
        )

    # The poll's counts, audit chain and Alice's receipt still hold.
    head_after, counts_after = _audit_head(app, db, world.poll)
    assert (head_after, counts_after) == (head_before, counts_before)
    log = client.get(f"/api/v1/polls/{world.poll}/audit").get_json()
    assert log["head"] == head_before
    assert log["totals"] == {str(k): v for k, v in counts_before.items()}
    checked = client.post(
        f"/api/v1/polls/{world.poll}/receipts/verify", json={"receipt": world.receipt}
    )
    assert checked.get_json()["counted"] is True
    assert checked.get_json()["option"] == world.yes

    # Everyone else's place on the leaderboard is unchanged; Alice's name is gone from it.
    board_after = client.get("/api/v1/leaderboard?limit=200").get_json()
    assert len(board_after) == len(board_before)
    for before, after in zip(board_before, board_after, strict=True):
        if before["player"] == ALICE_NAME:
            assert after["player"] != ALICE_NAME
            assert (after["rank"], after["points"]) == (before["rank"], before["points"])
        else:
            assert after == before

    # Signed out, and the API token is dead.
    assert client.get("/compte").status_code == 302
    assert (
        client.get("/api/v1/leaderboard/me", headers=bearer(world.alice_token)).status_code == 401
    )


def test_an_account_without_a_password_confirms_with_the_phrase(app, db, client):
    from core.accounts.models import OidcIdentity
    from core.accounts.services import create_user

    with app.app_context():
        user = create_user(db.session, "oidc-seule@example.org", None, display_name="Oidc")
        db.session.add(OidcIdentity(user=user, provider="local", subject="zoe"))
        db.session.commit()
        user_id, signed_in = user.id, user.get_id()
    app.config["OIDC_PROVIDERS"] = [
        OidcProviderConfig("local", "https://id.example.org", "experts", "client-secret-42")
    ]
    with client.session_transaction() as session:  # as the OpenID Connect callback leaves it
        session["_user_id"] = signed_in
        session["_fresh"] = True
    export = client.get("/compte/donnees.json").get_data(as_text=True)
    [provider] = json.loads(export)["account"]["sign_in_providers"]
    assert (provider["provider"], provider["issuer"]) == ("local", "https://id.example.org")
    assert "client-secret-42" not in export
    page = client.get("/compte/suppression").get_data(as_text=True)
    assert "SUPPRIMER MON COMPTE" in page
    assert 'type="password"' not in page
    token = csrf_token(client, "/compte/suppression")
    refused = client.post("/compte/suppression", data={"phrase": "oui", "csrf_token": token})
    assert refused.status_code == 422
    assert "Recopiez la phrase exactement" in unescape(refused.get_data(as_text=True))
    done = client.post(
        "/compte/suppression", data={"phrase": "supprimer  mon compte", "csrf_token": token}
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id) is None
        assert db.session.scalar(sa.select(OidcIdentity.id)) is None


def test_every_reference_to_users_is_taken_care_of_by_a_section():
    users_id = metadata.tables["users"].c.id
    references = {
        f"{table.name}.{fk.parent.name}"
        for table in metadata.tables.values()
        for fk in table.foreign_keys
        if fk.references(metadata.tables["users"]) and fk.column is users_id
    }
    covered = [name for section in privacy.SECTIONS for name in section.covers]
    assert len(covered) == len(set(covered)), "a reference taken care of twice"
    assert set(covered) == references


def test_a_ballot_without_a_voter_has_no_receipt_to_derive(app_context):
    from series.votes.services import receipt_of

    poll = type("Rules", (), {"receipt_secret": "s" * 64})()
    assert receipt_of(poll, 1, "k") != receipt_of(poll, 2, "k")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        receipt_of(poll, None, "k")  # type: ignore[arg-type]


def test_the_log_names_the_deleted_account_by_its_id_only(app, db, make_user, caplog):
    user = make_user("journal@example.org", display_name="Journal")
    with app.app_context():
        row = db.session.get(User, user.id)
        with caplog.at_level("INFO", logger="core.accounts.privacy"):
            privacy.delete_account(db.session, row, dt.datetime.now(dt.UTC))
        db.session.commit()
    assert f"user {user.id} deleted" in caplog.text
    assert "journal@example.org" not in caplog.text


def test_every_demo_account_exports_and_deletes(app, db, seeded):
    """Whatever the role (admin, editor, moderator, partner, residents, players)."""
    from core.seed import DEMO_USERS
    from series.episodes.hotspot_models import PartnerMember

    with app.app_context():
        for email, name, _role in DEMO_USERS:
            user = db.session.scalar(sa.select(User).where(User.email == email))
            data = privacy.export_user_data(db.session, user)
            assert json.loads(privacy.to_json(data))["account"]["profile"]["display_name"] == name
            if email.startswith("partenaire"):
                assert data["partner"]["partner"]
            privacy.delete_account(db.session, user, dt.datetime.now(dt.UTC))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        assert db.session.scalar(sa.select(PartnerMember.id)) is None
        assert db.session.scalar(sa.select(Partner.id)) is not None  # the partner stays
