"""Flags: residents point out a tip that is spam, off-topic, inappropriate, outdated or in the
wrong place.

Each account flags a tip once. A flag weighs by the flagger's trust level: when the open flags
of trusted members (level 2 and up, staff included) reach FLAGS_TO_HIDE, or as soon as a staff
member flags, a published tip is hidden until a moderator looks (logged as AUTO_HIDE, by the
system). Flags from new accounts never hide anything on their own (a cheap account cannot
censor), but they show in the moderators' queue. Flags on a pending tip only add weight to its
queue entry. A moderator's decision on the tip resolves its open flags.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import LazyString
from sqlalchemy.orm import Session

from community import trust
from community.models import (
    CommunityMember,
    FlagReason,
    ModerationAction,
    ModerationLog,
    Tip,
    TipFlag,
    TipStatus,
)
from core import counters, retention
from core.accounts.models import User
from core.db import conflict_insert
from core.errors import ApiError
from core.i18n import gettext as _
from core.i18n import lazy_gettext as _l

logger = logging.getLogger(__name__)

#: Open flags from trusted members that hide a published tip.
FLAGS_TO_HIDE = 3
#: Lowest trust level whose flags count towards hiding (staff act at level 4).
TRUSTED_LEVEL = 2
#: Flags an account may raise per hour (staff are not limited).
FLAGS_PER_HOUR = 10
NOTE_LENGTH = 300
#: A tip can be flagged while it is public or waiting for review.
FLAGGABLE = (TipStatus.PUBLISHED, TipStatus.PENDING, TipStatus.HIDDEN)

REASON_LABELS: dict[FlagReason, LazyString] = {
    FlagReason.SPAM: _l("spam"),
    FlagReason.OFF_TOPIC: _l("hors sujet"),
    FlagReason.INAPPROPRIATE: _l("inapproprié"),
    FlagReason.OUTDATED: _l("plus d'actualité"),
    FlagReason.WRONG_PLACE: _l("mauvais endroit"),
}


@dataclass(frozen=True)
class FlagResult:
    """What a flag did: counted or not (a second flag by the same account), tip hidden or not."""

    added: bool
    hidden: bool
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"added": self.added, "hidden": self.hidden, "message": self.message}


@dataclass
class FlagSummary:
    """A tip's open flags as a moderator sees them: counts and notes, never who flagged."""

    total: int = 0
    trusted: int = 0
    reasons: dict[FlagReason, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def rate_limited(key: str, message: str) -> ApiError:
    """A 429 that says when to try again."""
    error = ApiError(429, "rate_limited", message, retry_after=max(counters.ttl(key), 1))
    error.headers["Retry-After"] = str(error.extra["retry_after"])
    return error


def _clean_reason(reason: FlagReason | str) -> FlagReason:
    try:
        return FlagReason(reason)
    except ValueError:
        raise ApiError(
            422, "invalid_flag", _("Choisissez la raison du signalement."), fields={"reason": ""}
        ) from None


def flag_tip(
    session: Session,
    tip: Tip,
    user: User,
    reason: FlagReason | str,
    note: str,
    now: dt.datetime,
) -> FlagResult:
    """Record an account's flag on a tip; hide the tip when trusted flags reach the threshold."""
    if tip.author_id == user.id:
        raise ApiError(403, "own_tip", _("Vous ne pouvez pas signaler votre propre bon plan."))
    if tip.status not in FLAGGABLE:
        raise ApiError(409, "not_flaggable", _("Ce bon plan ne peut plus être signalé."))
    reason = _clean_reason(reason)
    note = " ".join(note.split())
    if len(note) > NOTE_LENGTH:
        raise ApiError(
            422,
            "invalid_flag",
            _("Une précision de %(n)s caractères au plus.", n=NOTE_LENGTH),
            fields={"note": ""},
        )
    staff = trust.is_staff(user)
    hour_key = f"flags-hour:{user.id}"
    if not staff:
        if trust.silenced(session.get(CommunityMember, user.id), now):
            raise ApiError(403, "silenced", _("Votre compte ne peut pas signaler pour le moment."))
        if counters.get(hour_key) >= FLAGS_PER_HOUR:
            raise rate_limited(
                hour_key, _("%(n)s signalements par heure au plus.", n=FLAGS_PER_HOUR)
            )
    level = trust.level_of(session, user)
    # The flags of one tip take turns (a row lock on PostgreSQL; SQLite writers already do),
    # so concurrent flags see each other when they count.
    session.execute(sa.select(Tip.id).where(Tip.id == tip.id).with_for_update())
    added = session.execute(
        conflict_insert(session, TipFlag)
        .values(
            tip_id=tip.id,
            user_id=user.id,
            reason=reason,
            note=note,
            trust_level=level,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tip_id", "user_id"])
        .returning(TipFlag.id)
    ).scalar()
    if added is None:
        return FlagResult(False, False, _("Vous avez déjà signalé ce bon plan."))
    if not staff:
        counters.incr(hour_key, ttl=3600)
    logger.info("tip %s flagged as %s by %s", tip.id, reason.value, user.email)
    hidden = (staff or trusted_flags(session, tip.id) >= FLAGS_TO_HIDE) and hide(session, tip, now)
    if hidden:
        return FlagResult(
            True, True, _("Merci : le bon plan est masqué en attendant un modérateur.")
        )
    return FlagResult(True, False, _("Merci : les modérateurs vont examiner ce bon plan."))


def trusted_flags(session: Session, tip_id: int) -> int:
    """Open flags on the tip from trusted members."""
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(TipFlag)
        .where(
            TipFlag.tip_id == tip_id,
            TipFlag.resolved_at.is_(None),
            TipFlag.trust_level >= TRUSTED_LEVEL,
        )
    )
    return int(count or 0)


def hide(session: Session, tip: Tip, now: dt.datetime) -> bool:
    """Hide a published tip on its flags, logged once by the system; False if it was not public."""
    moved = cast(
        sa.CursorResult[Any],
        session.execute(
            sa.update(Tip)
            .where(Tip.id == tip.id, Tip.status == TipStatus.PUBLISHED)
            .values(status=TipStatus.HIDDEN, updated_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    session.refresh(tip)
    if moved.rowcount != 1:
        return False
    reasons = summaries(session, [tip.id]).get(tip.id, FlagSummary()).reasons
    session.add(
        ModerationLog(
            action=ModerationAction.AUTO_HIDE,
            moderator_id=None,
            tip_id=tip.id,
            target_user_id=tip.author_id,
            # Reason codes, most frequent first; the public log shows their labels.
            reason=",".join(code.value for code in reasons),
            created_at=now,
        )
    )
    session.flush()
    logger.info("tip %s hidden by flags (%s)", tip.id, ",".join(reasons))
    return True


def reason_labels(codes: str) -> str:
    """The labels of an AUTO_HIDE row's reason codes ("spam,outdated" -> "spam, plus d'…")."""
    labels = []
    for code in codes.split(","):
        try:
            labels.append(str(REASON_LABELS[FlagReason(code)]))
        except ValueError:
            continue
    return ", ".join(labels)


def summaries(session: Session, tip_ids: Iterable[int]) -> dict[int, FlagSummary]:
    """The open flags of these tips, summed up per tip (reasons most frequent first)."""
    ids = list(tip_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(TipFlag.tip_id, TipFlag.reason, TipFlag.note, TipFlag.trust_level)
        .where(TipFlag.tip_id.in_(ids), TipFlag.resolved_at.is_(None))
        .order_by(TipFlag.id)
    )
    found: dict[int, FlagSummary] = {}
    counted: dict[int, Counter[FlagReason]] = {}
    for tip_id, reason, note, level in rows:
        summary = found.setdefault(tip_id, FlagSummary())
        summary.total += 1
        summary.trusted += level >= TRUSTED_LEVEL
        counted.setdefault(tip_id, Counter())[reason] += 1
        if note:
            summary.notes.append(note)
    for tip_id, counter in counted.items():
        found[tip_id].reasons = dict(counter.most_common())
    return found


def resolve(session: Session, tip_id: int, now: dt.datetime) -> int:
    """Mark the tip's open flags handled (a moderator decided); returns how many."""
    result = cast(
        sa.CursorResult[Any],
        session.execute(
            sa.update(TipFlag)
            .where(TipFlag.tip_id == tip_id, TipFlag.resolved_at.is_(None))
            .values(resolved_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)


#: A handled flag (who flagged, their note) is kept a year after the decision, then deleted.
RESOLVED_FLAG_RETENTION_DAYS = 365


def purge_resolved_flags(session: Session, now: dt.datetime) -> int:
    """Delete flags handled more than a year ago (retention); open flags are never touched."""
    return retention.delete_rows(
        session,
        sa.delete(TipFlag).where(
            TipFlag.resolved_at.is_not(None),
            TipFlag.resolved_at < retention.cutoff(now, RESOLVED_FLAG_RETENTION_DAYS),
        ),
    )


retention.register(
    retention.RetentionRule(
        name="resolved-flags",
        data=_l("Signalements de bons plans traités par la modération (auteur, note)"),
        period=_l("1 an après la décision"),
        purge=purge_resolved_flags,
    )
)
