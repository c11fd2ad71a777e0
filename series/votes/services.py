"""The rules of polls: who sees them, when they are open, and the one vote per account.

A vote is committed before it is acknowledged (so an acknowledged vote survives its server
process), written once (unique per account and poll, and per account and idempotency key),
and only then counted in the live tally (series.votes.tally), which the database corrects at
close. Each ballot carries a commitment to its option under the voter's secret receipt: the
audit log published after close lists them (series.votes.audit).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, selectinload

from core import counters
from core.db import conflict_insert
from core.i18n import gettext as _
from series import services as catalogue
from series.models import Episode
from series.votes.models import (
    Ballot,
    EndingMedia,
    Poll,
    PollOption,
    PollScope,
    ResultsShown,
)

MIN_OPTIONS, MAX_OPTIONS = 2, 5
#: Windows opened by hand last between these (Twitch's bounds).
MIN_WINDOW_S, MAX_WINDOW_S = 15, 1800


class PollState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


def state_of(poll: Poll | PollRules, now: dt.datetime) -> PollState:
    """Where a poll stands at a given time."""
    if poll.opens_at is None:
        return PollState.DRAFT
    if now < poll.opens_at:
        return PollState.SCHEDULED
    if poll.closes_at is not None and now >= poll.closes_at:
        return PollState.CLOSED
    return PollState.OPEN


def is_editor(user: object) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_role("editor"))  # type: ignore[attr-defined]


def may_see(session: Session, poll: Poll, user: object, now: dt.datetime) -> bool:
    """Editors see every poll; others see opened or scheduled ones about what they may see."""
    if is_editor(user):
        return True
    if poll.opens_at is None:
        return False
    if poll.episode_id is not None:
        return catalogue.get_visible_episode(session, poll.episode_id, user, now) is not None
    return True


def results_public(poll: Poll, now: dt.datetime) -> bool:
    """Whether anyone may see the counts (editors always may)."""
    if poll.results is ResultsShown.LIVE:
        return state_of(poll, now) in (PollState.OPEN, PollState.CLOSED)
    if poll.results is ResultsShown.AT_CLOSE:
        return state_of(poll, now) is PollState.CLOSED
    return False


def audit_published(poll: Poll, now: dt.datetime, user: object) -> bool:
    """Whether the caller may read the poll's public register (its ballots and totals): once
    closed, and only where the results are public (a poll whose results are never published
    keeps its register for editors)."""
    if state_of(poll, now) is not PollState.CLOSED:
        return False
    return results_public(poll, now) or is_editor(user)


def get_poll(session: Session, poll_id: int) -> Poll | None:
    return session.scalar(
        sa.select(Poll)
        .where(Poll.id == poll_id)
        .options(selectinload(Poll.options).selectinload(PollOption.ending))
    )


def get_visible_poll(session: Session, poll_id: int, user: object, now: dt.datetime) -> Poll | None:
    """The poll if the caller may see it; None otherwise (callers answer 404)."""
    poll = get_poll(session, poll_id)
    if poll is None or not may_see(session, poll, user, now):
        return None
    return poll


def visible_polls(
    session: Session,
    user: object,
    now: dt.datetime,
    state: PollState | None = None,
    episode_id: int | None = None,
    season_id: int | None = None,
) -> list[Poll]:
    """Polls the caller may see, newest first, optionally filtered."""
    query = sa.select(Poll).options(selectinload(Poll.options)).order_by(Poll.id.desc())
    if episode_id is not None:
        query = query.where(Poll.episode_id == episode_id)
    if season_id is not None:
        query = query.where(Poll.season_id == season_id)
    polls = [p for p in session.scalars(query) if may_see(session, p, user, now)]
    if state is not None:
        polls = [p for p in polls if state_of(p, now) is state]
    return polls


# ---- What a vote is checked against ----


@dataclass(frozen=True)
class PollRules:
    """What judging a vote needs of a poll: read once a second per process, not per vote."""

    id: int
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    option_ids: frozenset[int]
    receipt_secret: str
    episode_id: int | None
    episode_publish_at: dt.datetime | None


#: Seconds a process keeps a poll's rules; an editor's change (a new version) ends it sooner.
RULES_TTL = 1.0


def _version(poll_id: int) -> str:
    return f"poll:{poll_id}:version"


def poll_changed(poll_id: int) -> None:
    """An editor changed the poll: every process reads its rules again."""
    counters.incr(_version(poll_id))


def rules_of(session: Session, poll_id: int) -> PollRules | None:
    """The poll's rules, from this process's cache while fresh."""
    cache: dict[int, tuple[float, int, PollRules]] = current_app.extensions.setdefault(
        "poll_rules", {}
    )
    version = counters.get(_version(poll_id))
    hit = cache.get(poll_id)
    if hit is not None and hit[0] > time.monotonic() and hit[1] == version:
        return hit[2]
    poll = session.get(Poll, poll_id)
    if poll is None:
        return None
    option_ids = session.scalars(sa.select(PollOption.id).where(PollOption.poll_id == poll_id))
    rules = PollRules(
        id=poll.id,
        opens_at=poll.opens_at,
        closes_at=poll.closes_at,
        option_ids=frozenset(option_ids),
        receipt_secret=poll.receipt_secret,
        episode_id=poll.episode_id,
        episode_publish_at=poll.episode.publish_at if poll.episode is not None else None,
    )
    cache[poll_id] = (time.monotonic() + RULES_TTL, version, rules)
    return rules


def may_vote_in(rules: PollRules, user: object, now: dt.datetime) -> bool:
    """`may_see` from the rules: the caller may see the poll (else it does not exist)."""
    if is_editor(user):
        return True
    if rules.opens_at is None:
        return False
    if rules.episode_id is not None:
        return rules.episode_publish_at is not None and rules.episode_publish_at <= now
    return True


# ---- Counting ----


def db_counts(session: Session, poll: Poll) -> dict[int, int]:
    """Ballots per option, from the database (the reference for the live tally)."""
    counts = {option.id: 0 for option in poll.options}
    rows = session.execute(
        sa.select(Ballot.option_id, sa.func.count())
        .where(Ballot.poll_id == poll.id)
        .group_by(Ballot.option_id)
    )
    for option_id, count in rows:
        counts[option_id] = count
    return counts


def last_ballot_times(session: Session, poll: Poll) -> dict[int, dt.datetime]:
    rows = session.execute(
        sa.select(Ballot.option_id, sa.func.max(Ballot.cast_at))
        .where(Ballot.poll_id == poll.id)
        .group_by(Ballot.option_id)
    )
    return {row[0]: row[1] for row in rows}


def winner_of(
    session: Session, poll: Poll, now: dt.datetime, counts: dict[int, int] | None = None
) -> PollOption | None:
    """The closed poll's winning option: most votes; a tie goes to the option that reached
    its count first (its last ballot is the earliest); no votes, no winner. `counts`: the
    database's counts when the caller already has them."""
    if state_of(poll, now) is not PollState.CLOSED:
        return None
    counts = counts if counts is not None else db_counts(session, poll)
    if not counts or max(counts.values()) == 0:
        return None
    top = max(counts.values())
    tied = [o for o in poll.options if counts[o.id] == top]
    if len(tied) > 1:
        last = last_ballot_times(session, poll)
        tied.sort(key=lambda o: (last[o.id], o.position))
    return tied[0]


# ---- Voting ----


class VoteRefused(Exception):
    """A vote not counted: status 403/404/409/422 with a reason code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class VoteResult:
    """201 for a new vote, 200 for the same key replayed; `body` is what the client gets."""

    status: int
    body: dict[str, Any]
    ballot: Ballot


def receipt_of(poll: Poll | PollRules, user_id: int | None, key: str) -> str:
    """The voter's secret receipt: derived, so a replay gives the same one without storing it."""
    if user_id is None:
        # A deleted account's ballot: its voter kept the receipt; nobody can derive it again.
        raise ValueError("no receipt for a ballot without a voter")
    message = f"{user_id}:{key}".encode()
    return hmac.new(poll.receipt_secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def commitment_of(poll_id: int, option_id: int, receipt: str) -> str:
    """The public audit entry of a ballot: its option, sealed with the voter's receipt."""
    text = f"experts-na:ballot:v1:{poll_id}:{option_id}:{receipt}"
    return hashlib.sha256(text.encode()).hexdigest()


def _body(poll: Poll | PollRules, ballot: Ballot, replayed: bool) -> dict[str, Any]:
    return {
        "poll": poll.id,
        "option": ballot.option_id,
        "key": ballot.key,
        "receipt": receipt_of(poll, ballot.user_id, ballot.key),
        "cast_at": ballot.cast_at.isoformat(),
        "replayed": replayed,
    }


def _existing(session: Session, poll_id: int, user_id: int) -> Ballot | None:
    return session.scalar(
        sa.select(Ballot).where(Ballot.poll_id == poll_id, Ballot.user_id == user_id)
    )


def _answer_existing(poll: Poll | PollRules, ballot: Ballot, key: str) -> VoteResult:
    if ballot.key == key:
        return VoteResult(200, _body(poll, ballot, replayed=True), ballot)
    raise VoteRefused(409, "already_voted", _("Vous avez déjà voté à ce sondage."))


def clean_key(value: object) -> str:
    """The idempotency key in its canonical form (a UUID), or a 422."""
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else _bad_key()
    except ValueError:
        return _bad_key()


def _bad_key() -> str:
    raise VoteRefused(
        422, "invalid_key", _("La clé d'idempotence doit être un UUID (par exemple uuid4).")
    )


_INSERTS: dict[str, Any] = {}


def _insert_ballot(session: Session) -> Any:
    """`INSERT INTO ballots … ON CONFLICT DO NOTHING RETURNING id`, built once per backend:
    a Core statement with bound values (the hot path of a vote storm)."""
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        table = Ballot.__table__
        _INSERTS[dialect] = (
            conflict_insert(session, table)  # type: ignore[arg-type]
            .on_conflict_do_nothing()
            .returning(table.c.id)
        )
    return _INSERTS[dialect]


def cast_vote(
    session: Session,
    poll: PollRules,
    user_id: int,
    option_id: object,
    key: object,
    now: dt.datetime,
) -> VoteResult:
    """Record one vote (the caller commits, then calls tally.counted for a 201).

    The same key replayed answers 200 with the first answer, even after close; another
    vote by the same account 409; outside the window 403 with the reason. The ballot is
    written with INSERT … ON CONFLICT DO NOTHING: of concurrent duplicates one is written and
    the others find it, with no read before the write on the usual path.
    """
    key = clean_key(key)
    if not isinstance(option_id, int) or isinstance(option_id, bool):
        raise VoteRefused(422, "invalid_option", _("Choisissez une des réponses proposées."))
    state = state_of(poll, now)
    if state is not PollState.OPEN or option_id not in poll.option_ids:
        existing = _existing(session, poll.id, user_id)
        if existing is not None:
            return _answer_existing(poll, existing, key)
        if state is PollState.CLOSED:
            raise VoteRefused(403, "poll_closed", _("Ce vote est clos."))
        if state is not PollState.OPEN:
            raise VoteRefused(403, "poll_not_open", _("Ce vote n'est pas encore ouvert."))
        raise VoteRefused(422, "invalid_option", _("Choisissez une des réponses proposées."))
    receipt = receipt_of(poll, user_id, key)
    values = {
        "poll_id": poll.id,
        "option_id": option_id,
        "user_id": user_id,
        "key": key,
        "commitment": commitment_of(poll.id, option_id, receipt),
        "cast_at": now,
    }
    # Pending ORM writes (a token's last use) go first: every vote takes its locks in the
    # same order, so concurrent votes of one account cannot deadlock on PostgreSQL.
    session.flush()
    inserted = session.connection().execute(_insert_ballot(session), values).scalar()
    if inserted is None:
        # This account already voted (maybe a concurrent duplicate): answer as it was answered.
        existing = _existing(session, poll.id, user_id)
        if existing is None:
            raise VoteRefused(422, "key_reused", _("Cette clé a déjà servi pour un autre vote."))
        return _answer_existing(poll, existing, key)
    ballot = Ballot(id=inserted, **values)
    return VoteResult(201, _body(poll, ballot, replayed=False), ballot)


def ballot_of(session: Session, poll: Poll, user: object) -> Ballot | None:
    """The caller's ballot in a poll, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return _existing(session, poll.id, int(user.id))  # type: ignore[attr-defined]


# ---- Editing ----


class PollInvalid(ValueError):
    """An editor's poll that cannot be saved: a field and a message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def clean_options(labels: Sequence[str]) -> list[str]:
    cleaned = [label.strip()[:160] for label in labels if label.strip()]
    if not MIN_OPTIONS <= len(cleaned) <= MAX_OPTIONS:
        raise PollInvalid("options", _("Un sondage propose de 2 à 5 réponses."))
    if len(set(cleaned)) != len(cleaned):
        raise PollInvalid("options", _("Deux réponses portent le même libellé."))
    return cleaned


def create_poll(
    session: Session,
    *,
    question: str,
    options: Sequence[str],
    scope: PollScope,
    episode: Episode | None = None,
    season_id: int | None = None,
    is_ending: bool = False,
    results: ResultsShown = ResultsShown.LIVE,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    description: str = "",
) -> Poll:
    """A new poll (flushes). Raises PollInvalid with the field at fault."""
    question = question.strip()
    if not question:
        raise PollInvalid("question", _("Posez la question du sondage."))
    labels = clean_options(options)
    if scope is PollScope.EPISODE and episode is None:
        raise PollInvalid("episode", _("Choisissez l'épisode du sondage."))
    if scope is PollScope.SEASON and season_id is None:
        raise PollInvalid("season", _("Choisissez la saison du sondage."))
    if is_ending and scope is not PollScope.EPISODE:
        raise PollInvalid("is_ending", _("Un vote sur la fin porte sur un épisode."))
    check_window(opens_at, closes_at)
    poll = Poll(
        scope=scope,
        episode_id=episode.id if episode is not None and scope is PollScope.EPISODE else None,
        season_id=(
            season_id
            if scope is PollScope.SEASON
            else episode.season_id
            if episode is not None and scope is PollScope.EPISODE
            else None
        ),
        question=question[:300],
        description=description.strip(),
        is_ending=is_ending,
        results=results,
        opens_at=opens_at,
        closes_at=closes_at,
        receipt_secret=secrets.token_hex(32),
    )
    poll.options = [PollOption(position=i, label=label) for i, label in enumerate(labels)]
    session.add(poll)
    session.flush()
    return poll


def check_window(opens_at: dt.datetime | None, closes_at: dt.datetime | None) -> None:
    if closes_at is not None and opens_at is None:
        raise PollInvalid("opens_at", _("Indiquez l'ouverture avant la clôture."))
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise PollInvalid("closes_at", _("La clôture doit suivre l'ouverture."))


def open_now(poll: Poll, now: dt.datetime, duration_s: int | None = None) -> None:
    """Open by hand, for a set duration (15 s to 30 min) or until closed by hand."""
    if state_of(poll, now) in (PollState.OPEN, PollState.CLOSED):
        raise PollInvalid("state", _("Ce sondage est déjà ouvert ou clos."))
    if duration_s is not None and not MIN_WINDOW_S <= duration_s <= MAX_WINDOW_S:
        raise PollInvalid("duration", _("Une durée de vote va de 15 secondes à 30 minutes."))
    poll.opens_at = now
    poll.closes_at = now + dt.timedelta(seconds=duration_s) if duration_s else None
    poll_changed(poll.id)


def close_now(poll: Poll, now: dt.datetime) -> None:
    """Close by hand: the vote ends at once."""
    if state_of(poll, now) is not PollState.OPEN:
        raise PollInvalid("state", _("Seul un sondage ouvert peut être clos."))
    poll.closes_at = now
    poll_changed(poll.id)


# ---- Endings ----


def episode_ending(
    session: Session, episode: Episode, user: object, now: dt.datetime
) -> dict[str, Any] | None:
    """What an episode page shows of its ending poll: the winner and the extras, once closed."""
    poll = session.scalar(
        sa.select(Poll)
        .where(Poll.episode_id == episode.id, Poll.is_ending.is_(True))
        .order_by(Poll.id.desc())
        .options(selectinload(Poll.options).selectinload(PollOption.ending))
    )
    if poll is None or not may_see(session, poll, user, now):
        return None
    winner, watchable = ending_access(session, poll, user, now)
    return {
        "poll": poll,
        "state": state_of(poll, now),
        "winner": winner,
        "extras": [
            {"option": o, "unlocked": o.id in watchable}
            for o in poll.options
            if winner is not None and o.id != winner.id and o.ending is not None
        ],
    }


def extras_unlocked(session: Session, poll: Poll, user: object, now: dt.datetime) -> bool:
    """Losing endings of a closed poll: open to voters, to everyone from `extras_unlock_at`."""
    if poll.extras_unlock_at is not None and now >= poll.extras_unlock_at:
        return True
    return ballot_of(session, poll, user) is not None


def ending_access(
    session: Session, poll: Poll, user: object, now: dt.datetime
) -> tuple[PollOption | None, set[int]]:
    """The winner, and the options whose ending the caller may watch: every one for editors;
    after close, the winner's for all who see the poll, the others once extras unlock."""
    with_ending = {o.id for o in poll.options if o.ending is not None}
    winner = winner_of(session, poll, now)
    if is_editor(user):
        return winner, with_ending
    if state_of(poll, now) is not PollState.CLOSED or not may_see(session, poll, user, now):
        return winner, set()
    if extras_unlocked(session, poll, user, now):
        return winner, with_ending
    return winner, with_ending & ({winner.id} if winner is not None else set())


def may_watch_ending(session: Session, ending: EndingMedia, user: object, now: dt.datetime) -> bool:
    """The winning ending after close, a losing one once unlocked, any for editors."""
    return ending.option_id in ending_access(session, ending.option.poll, user, now)[1]
