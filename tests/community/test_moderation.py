"""Moderation: flags hide a tip only on trusted word, moderators decide once and every decision
is logged, the public log names nobody, authors appeal once, members earn their level."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from community import appeals, comments, flags, geo, moderation, review, services, trust
from community.models import (
    Appeal,
    CommentStatus,
    FlagReason,
    ModerationAction,
    ModerationLog,
    Tip,
    TipCategory,
    TipFlag,
    TipStatus,
)
from core.accounts.models import Role, User
from core.accounts.services import create_user
from core.app import create_app
from core.db import db as database
from core.errors import ApiError
from tests.support.concurrency import in_threads
from tests.support.databases import migrated_database

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
COULON = (46.3219, -0.5886)


@pytest.fixture
def session(app: Flask, db: Any) -> Iterator[Session]:
    with app.app_context():
        yield db.session


def person(
    session: Session, role: str = "viewer", level: int = 0, name: str = "", **standing: Any
) -> User:
    """A user at a trust level (and any other standing given)."""
    user = create_user(
        session,
        f"{name or role}-{uuid.uuid4().hex[:8]}@example.org",
        None,
        display_name=name or None,
        role=Role(role),
    )
    session.flush()
    member = trust.member(session, user)
    member.trust_level = level
    for key, value in standing.items():
        setattr(member, key, value)
    session.flush()
    return user


def make_tip(
    session: Session,
    author: User,
    status: TipStatus = TipStatus.PUBLISHED,
    title: str = "Le marché de Coulon",
) -> Tip:
    lat, lon = COULON
    body = "Le samedi matin, les producteurs du Marais poitevin sous la halle."
    tip = Tip(
        author_id=author.id,
        title=title,
        body=body,
        category=TipCategory.PRODUIT_LOCAL,
        status=status,
        lat=lat,
        lon=lon,
        cell=geo.cell_of(lat, lon),
        commune="Coulon",
        departement_code="79",
        search_text=services.words.search_text(title, body, "Coulon"),
        created_at=NOW,
        updated_at=NOW,
        confirmed_at=NOW,
        published_at=NOW if status == TipStatus.PUBLISHED else None,
    )
    session.add(tip)
    session.flush()
    return tip


def logged(session: Session, action: ModerationAction, **where: Any) -> int:
    query = sa.select(sa.func.count()).select_from(ModerationLog)
    query = query.where(ModerationLog.action == action)
    for key, value in where.items():
        query = query.where(getattr(ModerationLog, key) == value)
    return int(session.scalar(query) or 0)


def refused(status: int, call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.status == status, caught.value.to_dict()
    return caught.value


# ---------------------------------------------------------------- flags


def test_three_flags_from_trusted_members_hide_a_tip_once(session):
    tip = make_tip(session, person(session))
    first, second, third, fourth = (person(session, level=2) for _ in range(4))
    for flagger in (first, second):
        result = flags.flag_tip(session, tip, flagger, FlagReason.SPAM, "", NOW)
        assert (result.added, result.hidden) == (True, False)
    assert tip.status == TipStatus.PUBLISHED
    result = flags.flag_tip(session, tip, third, "outdated", "Fermé depuis juin", NOW)
    assert (result.added, result.hidden) == (True, True)
    assert tip.status == TipStatus.HIDDEN
    assert flags.flag_tip(session, tip, fourth, FlagReason.SPAM, "", NOW).hidden is False
    assert logged(session, ModerationAction.AUTO_HIDE, tip_id=tip.id, moderator_id=None) == 1
    flagged = session.scalars(sa.select(TipFlag).where(TipFlag.user_id == third.id)).one()
    assert flagged.trust_level == 2


def test_flags_from_new_accounts_never_hide_a_tip(session):
    tip = make_tip(session, person(session))
    for _ in range(3):
        assert flags.flag_tip(session, tip, person(session), FlagReason.SPAM, "", NOW).added
    assert tip.status == TipStatus.PUBLISHED
    summary = flags.summaries(session, [tip.id])[tip.id]
    assert (summary.total, summary.trusted) == (3, 0)


def test_a_staff_flag_hides_a_tip_at_once(session):
    tip = make_tip(session, person(session))
    result = flags.flag_tip(session, tip, person(session, "moderator"), "inappropriate", "", NOW)
    assert result.hidden
    assert tip.status == TipStatus.HIDDEN
    assert logged(session, ModerationAction.AUTO_HIDE, tip_id=tip.id) == 1


def test_a_second_flag_by_the_same_account_counts_once(session):
    tip = make_tip(session, person(session))
    insistent, other = person(session, level=3), person(session, level=2)
    assert flags.flag_tip(session, tip, insistent, FlagReason.SPAM, "", NOW).added
    again = flags.flag_tip(session, tip, insistent, FlagReason.OFF_TOPIC, "", NOW)
    assert (again.added, again.hidden) == (False, False)
    assert "déjà signalé" in again.message
    flags.flag_tip(session, tip, other, FlagReason.SPAM, "", NOW)
    assert tip.status == TipStatus.PUBLISHED
    assert flags.trusted_flags(session, tip.id) == 2


def test_nobody_flags_their_own_tip_and_flags_are_rate_limited(session):
    author = person(session, level=3)
    tip = make_tip(session, author)
    assert refused(403, lambda: flags.flag_tip(session, tip, author, "spam", "", NOW)).code == (
        "own_tip"
    )
    assert refused(422, lambda: flags.flag_tip(session, tip, person(session), "rude", "", NOW))
    eager = person(session)
    for _ in range(flags.FLAGS_PER_HOUR):
        flags.flag_tip(session, make_tip(session, author), eager, FlagReason.SPAM, "", NOW)
    error = refused(429, lambda: flags.flag_tip(session, tip, eager, "spam", "", NOW))
    assert int(error.headers["Retry-After"]) > 0


def test_flags_on_a_pending_tip_weigh_on_its_queue_entry(session):
    tip = make_tip(session, person(session, name="Nouvelle"), TipStatus.PENDING)
    for reason in ("spam", "spam", "wrong_place"):
        flags.flag_tip(session, tip, person(session, level=2), reason, "", NOW)
    assert tip.status == TipStatus.PENDING
    [item] = review.queue(session)
    assert item.kind == review.QueueKind.PENDING_TIP
    assert item.flags.trusted == 3
    assert item.flags.reasons == {FlagReason.SPAM: 2, FlagReason.WRONG_PLACE: 1}
    assert item.author is not None
    assert item.author.display_name == "Nouvelle"


# ---------------------------------------------------------------- decisions


def test_approval_publishes_once_and_shows_in_the_public_log(session):
    moderator = person(session, "moderator", name="Modo Martine")
    tip = make_tip(session, person(session), TipStatus.PENDING)
    moderation.approve(session, tip, moderator, NOW)
    assert (tip.status, tip.published_at) == (TipStatus.PUBLISHED, NOW)
    assert refused(409, lambda: moderation.approve(session, tip, moderator, NOW)).code == (
        "not_pending"
    )
    assert logged(session, ModerationAction.APPROVE, tip_id=tip.id) == 1
    [entry] = review.public_log(session, 10)
    assert (entry.action, entry.tip_id, entry.tip_title) == (
        ModerationAction.APPROVE,
        tip.id,
        "Le marché de Coulon",
    )
    assert entry.actor == "un modérateur"
    assert "Martine" not in repr(entry)


def test_a_rejected_tip_is_never_named_in_the_public_log(session):
    moderator = person(session, "editor")
    author = person(session)
    tip = make_tip(session, author, TipStatus.PENDING, title="Super promo casino en ligne")
    refused(422, lambda: moderation.reject(session, tip, moderator, " ", NOW))
    moderation.reject(session, tip, moderator, "Publicité", NOW)
    assert (tip.status, tip.moderation_reason) == (TipStatus.REJECTED, "Publicité")
    refused(409, lambda: moderation.reject(session, tip, moderator, "Publicité", NOW))
    assert logged(session, ModerationAction.REJECT, tip_id=tip.id) == 1
    assert trust.member(session, author).rejected_posts == 1
    [entry] = review.public_log(session, 10)
    assert entry.tip_id is None
    assert entry.tip_title == "un bon plan retiré"
    assert entry.reason == "Publicité"
    assert "casino" not in repr(entry)


def test_an_edit_recomputes_the_search_words_and_is_logged(session):
    moderator = person(session, "moderator")
    tip = make_tip(session, person(session))
    body = "Le samedi matin, les maraîchers et les fromagers sous la halle de Coulon."
    moderation.edit(session, tip, moderator, "Marché de Coulon", body, "Lien retiré", NOW)
    assert tip.title == "Marché de Coulon"
    assert "fromager" in tip.search_text
    refused(409, lambda: moderation.edit(session, tip, moderator, tip.title, body, "Idem", NOW))
    refused(422, lambda: moderation.edit(session, tip, moderator, "Ma", body, "Trop court", NOW))
    assert logged(session, ModerationAction.EDIT, tip_id=tip.id) == 1
    assert review.public_log(session, 10)[0].reason == "Lien retiré"


def test_restoring_a_hidden_tip_resolves_its_flags(session):
    moderator = person(session, "moderator")
    tip = make_tip(session, person(session))
    flaggers = [person(session, level=2) for _ in range(3)]
    for flagger in flaggers:
        flags.flag_tip(session, tip, flagger, FlagReason.OUTDATED, "", NOW)
    [item] = review.queue(session)
    assert item.kind == review.QueueKind.HIDDEN_TIP
    assert item.flags.reasons == {FlagReason.OUTDATED: 3}
    moderation.restore(session, tip, moderator, NOW)
    assert tip.status == TipStatus.PUBLISHED
    assert flags.trusted_flags(session, tip.id) == 0
    assert review.queue(session) == []
    refused(409, lambda: moderation.restore(session, tip, moderator, NOW))
    assert not flags.flag_tip(session, tip, flaggers[0], FlagReason.SPAM, "", NOW).added
    assert logged(session, ModerationAction.RESTORE, tip_id=tip.id) == 1
    hidden, restored = review.public_log(session, 10)[::-1]
    assert (hidden.actor, hidden.reason) == ("le système", "plus d'actualité")
    assert restored.action == ModerationAction.RESTORE


def test_a_silenced_member_cannot_post_comment_or_flag_until_the_date(session):
    moderator = person(session, "moderator")
    resident = person(session, level=2)
    tip = make_tip(session, person(session))
    data = services.TipInput(
        title="Une balade en barque",
        body="Au départ du port de Coulon, une heure dans les conches.",
        category=TipCategory.NATURE,
        lat=COULON[0],
        lon=COULON[1],
    )
    until = moderation.silence(session, resident, moderator, 3, "Insultes", NOW)
    assert until == NOW + dt.timedelta(days=3)
    refused(409, lambda: moderation.silence(session, resident, moderator, 2, "Encore", NOW))
    refused(403, lambda: services.check_limits(session, resident, data, NOW))
    refused(403, lambda: comments.add_comment(session, tip, resident, "Merci !", NOW))
    refused(403, lambda: flags.flag_tip(session, tip, resident, "spam", "", NOW))
    later = until + dt.timedelta(seconds=1)
    assert services.check_limits(session, resident, data, later) is False
    assert logged(session, ModerationAction.SILENCE, target_user_id=resident.id) == 1
    [entry] = review.public_log(session, 10)
    assert (entry.subject, entry.reason, entry.tip_title) == ("member", "Insultes", "")


def test_a_ban_refuses_the_member_and_their_waiting_tips_but_keeps_published_ones(session):
    moderator = person(session, "admin")
    spammer = person(session, level=1, name="Spammeur")
    waiting = make_tip(session, spammer, TipStatus.PENDING)
    published = make_tip(session, spammer)
    moderation.ban(session, spammer, moderator, "Spam répété", NOW)
    assert (waiting.status, published.status) == (TipStatus.REJECTED, TipStatus.PUBLISHED)
    refused(409, lambda: moderation.ban(session, spammer, moderator, "Spam répété", NOW))
    assert logged(session, ModerationAction.BAN, target_user_id=spammer.id) == 1
    assert logged(session, ModerationAction.REJECT, tip_id=waiting.id) == 1
    data = services.TipInput("Titre", "x" * 30, TipCategory.SORTIE, *COULON)
    assert refused(403, lambda: services.check_limits(session, spammer, data, NOW)).code == (
        "silenced"
    )
    refused(403, lambda: appeals.appeal(session, waiting, spammer, "Ce n'était pas du spam", NOW))
    assert all("Spammeur" not in repr(e) for e in review.public_log(session, 10))


def test_a_ban_may_hide_a_spammers_published_tips(session):
    spammer = person(session)
    published = make_tip(session, spammer)
    moderation.ban(session, spammer, person(session, "moderator"), "Spam", NOW, hide_tips=True)
    assert published.status == TipStatus.HIDDEN
    assert review.queue(session) == []  # hidden by a moderator: nothing left to decide
    entry = review.public_log(session, 10)[0]
    assert (entry.label, entry.tip_title) == (
        "retiré avec le bannissement de son auteur",
        "un bon plan retiré",
    )


def test_staff_are_not_sanctioned_here(session):
    moderator, editor = person(session, "moderator"), person(session, "editor")
    refused(409, lambda: moderation.silence(session, editor, moderator, 1, "Essai", NOW))
    refused(409, lambda: moderation.ban(session, moderator, moderator, "Essai", NOW))


@pytest.mark.parametrize("role", ["viewer", "resident", "partner"])
def test_only_staff_decide(session, role):
    someone = person(session, role, level=3)
    member = person(session)
    tip = make_tip(session, member, TipStatus.PENDING)
    calls = [
        lambda: moderation.approve(session, tip, someone, NOW),
        lambda: moderation.reject(session, tip, someone, "Non", NOW),
        lambda: moderation.edit(session, tip, someone, "Titre neuf", "x" * 30, "Pourquoi", NOW),
        lambda: moderation.restore(session, tip, someone, NOW),
        lambda: moderation.silence(session, member, someone, 1, "Non", NOW),
        lambda: moderation.ban(session, member, someone, "Non", NOW),
        lambda: moderation.set_trust(session, member, someone, 2, NOW),
        lambda: moderation.set_badge(session, member, someone, "ambassador", NOW),
    ]
    for call in calls:
        assert refused(403, call).code == "staff_only"
    assert session.scalar(sa.select(sa.func.count()).select_from(ModerationLog)) == 0


# ---------------------------------------------------------------- trust


def test_approved_tips_raise_the_level_with_reading_and_visits(session):
    moderator = person(session, "moderator")
    author = person(session, tips_read=10, days_visited=2)
    assert trust.limits_for(session, author).reviewed
    moderation.approve(session, make_tip(session, author, TipStatus.PENDING), moderator, NOW)
    assert trust.level_of(session, author) == 0
    moderation.approve(session, make_tip(session, author, TipStatus.PENDING), moderator, NOW)
    assert trust.level_of(session, author) == 1
    assert not trust.limits_for(session, author).reviewed
    standing = trust.member(session, author)
    standing.tips_read, standing.days_visited, standing.approved_posts = 50, 10, 4
    standing.rejected_posts = 1
    moderation.approve(session, make_tip(session, author, TipStatus.PENDING), moderator, NOW)
    assert trust.level_of(session, author) == 2  # 1 rejection for 5 approvals is allowed


def test_a_moderator_sets_a_level_but_not_below_what_was_earned(session):
    moderator = person(session, "moderator")
    resident = person(session, approved_posts=2, tips_read=10, days_visited=2)
    trust.promote(session, trust.member(session, resident))
    assert trust.level_of(session, resident) == 1
    assert refused(
        409, lambda: moderation.set_trust(session, resident, moderator, 0, NOW)
    ).code == ("earned")
    moderation.set_trust(session, resident, moderator, 4, NOW)
    assert trust.level_of(session, resident) == 4
    refused(409, lambda: moderation.set_trust(session, resident, moderator, 4, NOW))
    assert logged(session, ModerationAction.TRUST, target_user_id=resident.id) == 1
    assert review.public_log(session, 10) == []  # a member's level is not public


def test_badges_highlight_their_holders(session):
    moderator = person(session, "moderator")
    guide = person(session)
    assert not moderation.highlighted(guide)
    moderation.set_badge(session, guide, moderator, "ambassador", NOW)
    assert moderation.highlighted(guide)
    assert moderation.highlighted(trust.member(session, guide))
    assert moderation.highlighted_authors(session, [guide.id, moderator.id, None]) == {guide.id}
    refused(409, lambda: moderation.set_badge(session, guide, moderator, "ambassador", NOW))
    refused(422, lambda: moderation.set_badge(session, guide, moderator, "queen", NOW))
    moderation.set_badge(session, guide, moderator, "", NOW)
    assert not moderation.highlighted(guide)
    labels = [entry.label for entry in review.public_log(session, 10)]
    assert labels == ["badge retiré", "badge attribué"]


def test_reading_counts_each_tip_once_a_day_and_each_day_of_visits_once(session):
    reader = person(session)
    first, second = make_tip(session, reader).id, make_tip(session, reader).id
    today = NOW.date()
    trust.record_read(session, reader, first, today)
    trust.record_read(session, reader, first, today)
    standing = trust.member(session, reader)
    assert (standing.tips_read, standing.days_visited) == (1, 1)
    # The next morning, the same tip again (read less than 24 hours ago): a visit all the same.
    trust.record_read(session, reader, first, today + dt.timedelta(days=1))
    assert (standing.tips_read, standing.days_visited) == (1, 2)
    trust.record_read(session, reader, second, today + dt.timedelta(days=1))
    assert (standing.tips_read, standing.days_visited) == (2, 2)


# ---------------------------------------------------------------- comments


def test_a_new_members_comment_waits_and_comments_are_rate_limited(session):
    tip = make_tip(session, person(session))
    newcomer, regular = person(session), person(session, level=1)
    waiting = comments.add_comment(session, tip, newcomer, "  Merci pour l'adresse !  ", NOW)
    assert (waiting.status, waiting.body) == (CommentStatus.PENDING, "Merci pour l'adresse !")
    assert tip.comment_count == 0
    error = refused(429, lambda: comments.add_comment(session, tip, newcomer, "Encore", NOW))
    assert error.code == "rate_limited"
    refused(422, lambda: comments.add_comment(session, tip, regular, "x", NOW))
    shown = comments.add_comment(session, tip, regular, "J'y vais chaque samedi.", NOW)
    assert shown.status == CommentStatus.PUBLISHED
    assert tip.comment_count == 1
    [item] = review.queue(session)
    assert (item.kind, item.comment) == (review.QueueKind.PENDING_COMMENT, waiting)


def test_comments_are_approved_or_rejected_once(session):
    moderator = person(session, "moderator")
    tip = make_tip(session, person(session))
    first = comments.add_comment(session, tip, person(session), "Très bon plan.", NOW)
    second = comments.add_comment(session, tip, person(session), "Achetez ma crème !", NOW)
    comments.approve_comment(session, first, moderator, NOW)
    refused(409, lambda: comments.approve_comment(session, first, moderator, NOW))
    comments.reject_comment(session, second, moderator, "Publicité", NOW)
    refused(409, lambda: comments.reject_comment(session, second, moderator, "Pub", NOW))
    assert (first.status, second.status) == (CommentStatus.PUBLISHED, CommentStatus.REJECTED)
    assert tip.comment_count == 1
    assert logged(session, ModerationAction.APPROVE, comment_id=first.id) == 1
    assert logged(session, ModerationAction.REJECT, comment_id=second.id) == 1
    entry = review.public_log(session, 10)[0]
    assert entry.subject == "comment"
    assert "crème" not in repr(entry)


# ---------------------------------------------------------------- appeals


def test_an_author_appeals_a_rejection_once_and_it_is_decided_once(session):
    moderator = person(session, "moderator")
    author, stranger = person(session), person(session)
    tip = make_tip(session, author, TipStatus.PENDING)
    text = "Ce n'est pas une publicité, c'est le marché de mon village."
    refused(409, lambda: appeals.appeal(session, tip, author, text, NOW))  # nothing to appeal
    moderation.reject(session, tip, moderator, "Publicité", NOW)
    refused(403, lambda: appeals.appeal(session, tip, stranger, text, NOW))
    refused(422, lambda: appeals.appeal(session, tip, author, "Non", NOW))
    made = appeals.appeal(session, tip, author, text, NOW)
    assert refused(409, lambda: appeals.appeal(session, tip, author, text, NOW)).code == (
        "appeal_open"
    )
    [item] = review.queue(session)
    assert (item.kind, item.appeal) == (review.QueueKind.APPEAL, made)
    refused(403, lambda: appeals.decide_appeal(session, made, stranger, True, "", NOW))
    appeals.decide_appeal(session, made, moderator, True, "", NOW)
    assert tip.status == TipStatus.PUBLISHED
    assert tip.moderation_reason == ""
    refused(409, lambda: appeals.decide_appeal(session, made, moderator, False, "Non", NOW))
    standing = trust.member(session, author)
    assert (standing.approved_posts, standing.rejected_posts) == (1, 0)
    assert logged(session, ModerationAction.APPEAL, tip_id=tip.id) == 1
    assert logged(session, ModerationAction.APPEAL_UPHELD, tip_id=tip.id) == 1
    actions = [entry.action for entry in review.public_log(session, 10)]
    assert actions[:2] == [ModerationAction.APPEAL_UPHELD, ModerationAction.APPEAL]


def test_a_denied_appeal_cannot_be_made_again(session):
    moderator = person(session, "moderator")
    author = person(session)
    tip = make_tip(session, author)
    flags.flag_tip(session, tip, moderator, FlagReason.WRONG_PLACE, "", NOW)
    text = "Le lieu est le bon : voyez la photo de la halle."
    made = appeals.appeal(session, tip, author, text, NOW)
    refused(422, lambda: appeals.decide_appeal(session, made, moderator, False, "", NOW))
    appeals.decide_appeal(session, made, moderator, False, "Ce n'est pas à Coulon", NOW)
    assert session.get(Appeal, made.id).status == "denied"
    assert tip.status == TipStatus.HIDDEN
    assert refused(409, lambda: appeals.appeal(session, tip, author, text, NOW)).code == (
        "appeal_used"
    )
    assert logged(session, ModerationAction.APPEAL_DENIED, tip_id=tip.id) == 1


# ---------------------------------------------------------------- concurrency

FLAGGERS = 12


@pytest.fixture
def server(tmp_path: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on a SQLite database of its own, where every thread commits for real."""
    with migrated_database(tmp_path) as url:
        flask_app = create_app(app_config | {"SQLALCHEMY_DATABASE_URI": url})
        yield flask_app
        database.registry.remove()
        assert database.engine is not None
        database.engine.dispose()


def test_concurrent_trusted_flags_hide_a_tip_with_one_log_row(server: Flask):
    with server.app_context():
        session = database.session
        tip_id = make_tip(session, person(session)).id
        flaggers = [person(session, level=2).id for _ in range(FLAGGERS)]
        session.commit()

    def flag(index: int) -> bool:
        with server.app_context():
            session = database.session
            tip = session.get(Tip, tip_id)
            user = session.get(User, flaggers[index])
            assert tip is not None
            assert user is not None
            result = flags.flag_tip(session, tip, user, FlagReason.SPAM, "", NOW)
            session.commit()
            return result.hidden

    hidden = in_threads(FLAGGERS, flag)
    assert hidden.count(True) == 1
    with server.app_context():
        session = database.session
        tip = session.get(Tip, tip_id)
        assert tip is not None
        assert tip.status == TipStatus.HIDDEN
        assert logged(session, ModerationAction.AUTO_HIDE, tip_id=tip_id) == 1
        count = sa.select(sa.func.count()).select_from(TipFlag).where(TipFlag.tip_id == tip_id)
        assert session.scalar(count) == FLAGGERS
