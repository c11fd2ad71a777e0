"""The public audit of a closed poll: anonymous ballot commitments, hash-chained, and totals.

Each ballot is published as `sha256("experts-na:ballot:v1:poll:option:receipt")` beside its
option, in the order of the commitments (not of the votes, so times cannot be matched to
people). Each entry chains the one before: `chain_i = sha256(chain_{i-1} + ":" + commitment +
":" + option)`, starting from `sha256("experts-na:poll-audit:v1:<poll>")`; the head seals the
whole log. Anyone can recount the totals from the entries. A voter, who alone holds their
receipt, finds their commitment in the log and so checks their vote was counted for their
option; nobody else can tell whose entry is whose.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import cache
from series.votes.models import Ballot, Poll
from series.votes.services import commitment_of


def genesis(poll_id: int) -> str:
    return hashlib.sha256(f"experts-na:poll-audit:v1:{poll_id}".encode()).hexdigest()


def chain(previous: str, commitment: str, option_id: int) -> str:
    return hashlib.sha256(f"{previous}:{commitment}:{option_id}".encode()).hexdigest()


def log_of(session: Session, poll: Poll) -> dict[str, Any]:
    """The audit log of a closed poll (ballots no longer change: cached for a day)."""
    key = f"poll-audit:{poll.id}:{poll.closes_at.isoformat() if poll.closes_at else ''}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    rows = session.execute(
        sa.select(Ballot.commitment, Ballot.option_id)
        .where(Ballot.poll_id == poll.id)
        .order_by(Ballot.commitment)
    ).all()
    head = genesis(poll.id)
    entries = []
    totals = {str(o.id): 0 for o in poll.options}
    for commitment, option_id in rows:
        head = chain(head, commitment, option_id)
        entries.append({"commitment": commitment, "option": option_id, "chain": head})
        totals[str(option_id)] += 1
    log = {
        "poll": poll.id,
        "scheme": "sha256(experts-na:ballot:v1:{poll}:{option}:{receipt}); "
        "chain = sha256({previous}:{commitment}:{option})",
        "genesis": genesis(poll.id),
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "entries": entries,
        "totals": totals,
        "total": len(entries),
        "head": head,
    }
    cache.put(key, log, 24 * 3600)
    return log


def verify(session: Session, poll: Poll, receipt: str) -> dict[str, Any]:
    """Whether a receipt's ballot is in the count, and for which option (told to its holder)."""
    for option in poll.options:
        commitment = commitment_of(poll.id, option.id, receipt)
        found = session.scalar(sa.select(Ballot.id).where(Ballot.commitment == commitment))
        if found is not None:
            return {"counted": True, "option": option.id, "commitment": commitment}
    return {"counted": False}
