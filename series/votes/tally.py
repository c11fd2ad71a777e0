"""Live tallies: shared counters per option, pushed at most 4 times a second per poll.

Counters live in Redis at scale (memory in the embedded default) so every server process
counts the same votes. A vote is counted after its commit; were a process to die between the
two, the count would lag by that vote until the close, when the database (the reference)
overwrites the counters. Pushes are coalesced (see `changed`): the first vote of a quiet poll
is pushed at once, then at most one push per interval across all processes, the last of them
after the last vote, even if the process that pushed last has died.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from core import counters
from core.clock import now
from core.db import db
from core.extensions import socketio
from core.realtime import broadcast
from series.votes import services
from series.votes.models import Poll

logger = logging.getLogger(__name__)

#: Seconds between two pushes of a poll's tally (4 a second).
DEFAULT_INTERVAL = 0.25
#: Seconds of quiet after which the live counters are checked against the database.
DEFAULT_SETTLE_AFTER = 2.0


def _counter(poll_id: int, option_id: int) -> str:
    return f"poll:{poll_id}:option:{option_id}"


def _seeded(poll_id: int) -> str:
    return f"poll:{poll_id}:seeded"


def seed(session: Session, poll: Poll) -> dict[int, int]:
    """Set the live counters from the database (also used to correct them at close)."""
    counts = services.db_counts(session, poll)
    for option_id, count in counts.items():
        counters.reset(_counter(poll.id, option_id))
        if count:
            counters.incr(_counter(poll.id, option_id), count)
    counters.reset(_seeded(poll.id))
    counters.incr(_seeded(poll.id))
    return counts


def live_counts(session: Session, poll: Poll) -> dict[int, int]:
    """Votes per option as counted live (seeded from the database on first use)."""
    if not counters.get(_seeded(poll.id)):
        if counters.try_lock(f"poll-seed:{poll.id}", ttl=5):
            try:
                return seed(session, poll)
            finally:
                counters.unlock(f"poll-seed:{poll.id}")
        return services.db_counts(session, poll)
    return {o.id: counters.get(_counter(poll.id, o.id)) for o in poll.options}


def counts_for(session: Session, poll: Poll, at: dt.datetime) -> dict[int, int]:
    """The counts to show: final from the database once closed, live before."""
    if services.state_of(poll, at) is services.PollState.CLOSED:
        return final_counts(session, poll)
    return live_counts(session, poll)


def final_counts(session: Session, poll: Poll) -> dict[int, int]:
    """The database's counts of a closed poll; the live counters are checked against them."""
    counts = services.db_counts(session, poll)
    if counters.get(_seeded(poll.id)):
        live = {o.id: counters.get(_counter(poll.id, o.id)) for o in poll.options}
        if live != counts:
            logger.warning("poll %s: live tally %s corrected to %s", poll.id, live, counts)
            seed(session, poll)
    return counts


def payload(session: Session, poll: Poll, at: dt.datetime) -> dict[str, Any]:
    """The `tally` event: counts and total when the public may see them, and the state."""
    state = services.state_of(poll, at)
    counts = counts_for(session, poll, at)
    data: dict[str, Any] = {"poll": poll.id, "state": state.value}
    if services.results_public(poll, at):
        data["counts"] = {str(k): v for k, v in counts.items()}
        data["total"] = sum(counts.values())
    else:
        data["counts"] = {}
        data["total"] = None
        data["hidden"] = True
    if state is services.PollState.CLOSED:
        winner = services.winner_of(session, poll, at, counts)
        data["winner"] = winner.id if winner is not None else None
    return data


def push(session: Session, poll_id: int) -> None:
    """Send the poll's tally to its room (reading first, then ending the transaction: no
    database lock is held while thousands of messages go out)."""
    poll = services.get_poll(session, poll_id)
    if poll is None:
        return
    data = payload(session, poll, now())
    session.rollback()
    broadcast("tally", data, "poll", poll_id)


def counted(poll_id: int, option_id: int) -> None:
    """A new vote was committed: count it and have the tally pushed soon."""
    if counters.get(_seeded(poll_id)):
        counters.incr(_counter(poll_id, option_id))
    else:
        poll = services.get_poll(db.session, poll_id)
        if poll is not None:
            live_counts(db.session, poll)  # seeded from the database, this vote included
    changed(poll_id)


def interval() -> float:
    return float(current_app.config.get("POLL_TALLY_INTERVAL", DEFAULT_INTERVAL))


#: Per poll, the highest change mark counted by this process, and the polls it waits to push.
_marks: dict[tuple[str, int], int] = {}
_waiting: set[tuple[str, int]] = set()
_local = threading.Lock()


def changed(poll_id: int) -> None:
    """Schedule a push of the poll's tally, coalesced with the other votes' pushes.

    Every change gets a mark (a shared counter). A process that counted a change keeps one
    waiter per poll until a push has covered its highest mark; pushes take a shared lock that
    expires after one interval (not released: it is the rate limit), so at most one push per
    interval goes out across all processes, the first at once. Should a process die, its
    lock expires within the interval and the other processes' waiters push.
    """
    mark = counters.incr(f"poll:{poll_id}:dirty")
    every = interval()
    if every <= 0:
        push(db.session, poll_id)
        counters.raise_to(f"poll:{poll_id}:pushed", mark)
        return
    key = (current_app.config["REDIS_KEY_PREFIX"], poll_id)
    with _local:
        _marks[key] = max(_marks.get(key, 0), mark)
        if key in _waiting:
            return
        _waiting.add(key)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    socketio.start_background_task(_waiter, app, poll_id, every)


def _waiter(app: Flask, poll_id: int, every: float) -> None:
    with app.app_context():
        g.writes_expected = False  # reads only: never queue behind (or block) the voters
        key = (app.config["REDIS_KEY_PREFIX"], poll_id)
        pushed = f"poll:{poll_id}:pushed"
        try:
            while counters.get(pushed) < _marks.get(key, 0):
                if not counters.try_lock(f"poll-push:{poll_id}", ttl=every):
                    socketio.sleep(every / 5)
                    continue
                seen = counters.get(f"poll:{poll_id}:dirty")
                try:
                    push(db.session, poll_id)
                finally:
                    db.session.rollback()
                    db.registry.remove()
                counters.raise_to(pushed, seen)
        except Exception:
            logger.exception("tally push of poll %s failed", poll_id)
        finally:
            with _local:
                _waiting.discard(key)
            # A change counted between the last check and the discard found us waiting.
            again = counters.get(pushed) < _marks.get(key, 0)
        if again:
            with _local:
                if key in _waiting:
                    return
                _waiting.add(key)
            socketio.start_background_task(_waiter, app, poll_id, every)
            return
        settle = float(app.config.get("POLL_SETTLE_AFTER", DEFAULT_SETTLE_AFTER))
        if settle > 0:
            mark = counters.get(f"poll:{poll_id}:dirty")
            socketio.start_background_task(_settle, app, poll_id, mark, settle)


def _settle(app: Flask, poll_id: int, mark: int, settle: float) -> None:
    """Once a poll has been quiet for a while, check the live counters against the database.

    A process killed between a vote's commit and its count leaves the counters short; with
    no vote in flight the database is exact, so the counters are set from it and pushed.
    """
    socketio.sleep(settle)
    with app.app_context():
        g.writes_expected = False
        dirty = f"poll:{poll_id}:dirty"
        if counters.get(dirty) != mark or not counters.try_lock(f"poll-settle:{poll_id}", settle):
            return  # more votes came (their waiter settles later), or another process checks
        try:
            poll = services.get_poll(db.session, poll_id)
            if poll is None or not counters.get(_seeded(poll_id)):
                return
            live = {o.id: counters.get(_counter(poll_id, o.id)) for o in poll.options}
            exact = services.db_counts(db.session, poll)
            if live != exact and counters.get(dirty) == mark:
                logger.warning("poll %s: live tally %s settled to %s", poll_id, live, exact)
                seed(db.session, poll)
                push(db.session, poll_id)
        except Exception:
            logger.exception("settling the tally of poll %s failed", poll_id)
        finally:
            db.session.rollback()
            db.registry.remove()


def watch_close(poll: Poll) -> None:
    """Push the final tally when a poll's window ends (one watcher per poll and process
    group; a restarted process starts it again when someone joins)."""
    if poll.closes_at is None:
        return
    wait = (poll.closes_at - now()).total_seconds()
    if wait <= 0 or wait > 24 * 3600:
        return
    if counters.try_lock(f"poll-close-watch:{poll.id}", ttl=wait + 5):
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        socketio.start_background_task(_close_watcher, app, poll.id, wait)


def _close_watcher(app: Flask, poll_id: int, wait: float) -> None:
    socketio.sleep(wait + 0.05)
    with app.app_context():
        g.writes_expected = False
        try:
            push(db.session, poll_id)
        except Exception:
            logger.exception("final tally of poll %s failed", poll_id)
        finally:
            db.session.rollback()
            db.registry.remove()
