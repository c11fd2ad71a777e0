"""Trust levels, as Discourse has them: a new account's posts wait for review and are rate
limited; the level rises with reading, days of visits and approved posts; moderators set the
top level and can silence or ban.

| level | name      | reached with                                            |
| ----- | --------- | ------------------------------------------------------- |
| 0     | nouveau   | a new account                                           |
| 1     | habitué   | 2 approved posts, 10 tips read, 2 days of visits        |
| 2     | membre    | 5 approved posts, 50 tips read, 10 days, few rejections |
| 3     | pilier    | 20 approved posts, 200 tips read, 30 days               |
| 4     | référent  | set by a moderator                                      |

Staff (moderators, editors, admins) act at level 4.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community.models import CommunityMember
from core import counters
from core.accounts.models import Role, User
from core.db import conflict_insert
from core.i18n import lazy_gettext as _l

STAFF = (Role.MODERATOR, Role.EDITOR, Role.ADMIN)
LEVEL_NAMES = (_l("nouveau"), _l("habitué"), _l("membre"), _l("pilier"), _l("référent"))

#: (approved posts, tips read, days visited, most rejected posts per approved) per level 1..3.
REQUIREMENTS = {1: (2, 10, 2, None), 2: (5, 50, 10, 0.2), 3: (20, 200, 30, 0.1)}


@dataclass(frozen=True)
class Limits:
    """What a level may post: tips per interval and per day, links per tip, comments."""

    tip_interval_s: int
    tips_per_day: int
    links_per_tip: int
    comment_interval_s: int
    comments_per_day: int
    #: Posts go to the review queue first.
    reviewed: bool


LIMITS = {
    0: Limits(120, 3, 2, 30, 10, True),
    1: Limits(60, 10, 5, 15, 50, False),
    2: Limits(30, 30, 10, 5, 200, False),
    3: Limits(10, 100, 20, 2, 500, False),
    4: Limits(0, 1000, 50, 0, 5000, False),
}


def is_staff(user: User) -> bool:
    return user.role in STAFF


def member(session: Session, user: User) -> CommunityMember:
    """The user's standing, created at level 0 on first use."""
    session.execute(
        conflict_insert(session, CommunityMember)
        .values(user_id=user.id)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    found = session.get(CommunityMember, user.id)
    assert found is not None
    return found


def level_of(session: Session, user: User) -> int:
    """The level the user acts at (staff: 4)."""
    if is_staff(user):
        return 4
    found = session.get(CommunityMember, user.id)
    return found.trust_level if found is not None else 0


def limits_for(session: Session, user: User) -> Limits:
    return LIMITS[level_of(session, user)]


def earned_level(standing: CommunityMember) -> int:
    """The level the member's reading and posts earn (never lowers a moderator's choice)."""
    level = 0
    for target, (approved, read, days, ratio) in sorted(REQUIREMENTS.items()):
        rejected_ok = ratio is None or standing.rejected_posts <= ratio * standing.approved_posts
        if (
            standing.approved_posts >= approved
            and standing.tips_read >= read
            and standing.days_visited >= days
            and rejected_ok
        ):
            level = target
    return level


def promote(session: Session, standing: CommunityMember) -> bool:
    """Raise the member's level to what they earned; True when it rose."""
    earned = earned_level(standing)
    if earned > standing.trust_level and standing.trust_level < 4:
        standing.trust_level = earned
        session.flush()
        return True
    return False


def record_read(session: Session, user: User, tip_id: int, today: dt.date) -> None:
    """A member opened a tip: count the tip once a day, and the day's visit once."""
    first_read = counters.try_lock(f"tip-read:{user.id}:{tip_id}", ttl=24 * 3600)
    standing = session.get(CommunityMember, user.id)
    if not first_read and standing is not None and standing.last_visit_on == today:
        return  # nothing new: a page view writes nothing
    standing = standing or member(session, user)
    values: dict[str, object] = {}
    if first_read:
        values["tips_read"] = CommunityMember.tips_read + 1
    if standing.last_visit_on != today:
        # Re-checked in the UPDATE: two pages opened at once on a new day count one visit.
        new_day = sa.or_(
            CommunityMember.last_visit_on.is_(None), CommunityMember.last_visit_on != today
        )
        values["days_visited"] = sa.case(
            (new_day, CommunityMember.days_visited + 1), else_=CommunityMember.days_visited
        )
        values["last_visit_on"] = today
    session.execute(
        sa.update(CommunityMember)
        .where(CommunityMember.user_id == user.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(standing)
    promote(session, standing)


def silenced(standing: CommunityMember | None, now: dt.datetime) -> bool:
    if standing is None:
        return False
    until = standing.silenced_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    return standing.banned or (until is not None and until > now)
