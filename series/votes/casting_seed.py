"""Demo casting call: extras wanted in the Marais poitevin for season 2."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from series.models import Season
from series.services import RELEASE_TIMEZONE
from series.votes.models import CastingCall

SEASON = 2
TITLE = "Figurant·es pour « Brouillard sur le Marais poitevin »"
TERRITORY = "Niort et le Marais poitevin (Coulon, Arçais, La Garette)"
DESCRIPTION = (
    "La saison 2 se tourne dans les Deux-Sèvres. L'équipe cherche des habitant·es de tous "
    "âges pour des scènes de marché à Niort, une fête de village à Coulon et des promenades "
    "en barque sur la Venise verte.\n\n"
    "Une journée de tournage dure de 6 à 10 heures ; les repas sont fournis et les "
    "figurant·es sont défrayé·es. Savoir mener une plate (la barque du marais) est un plus."
)


def seed_casting(session: Session, now: dt.datetime) -> list[str]:
    """The season 2 casting call, when missing (running twice changes nothing)."""
    season = session.scalar(sa.select(Season).where(Season.number == SEASON))
    if season is None:
        return []
    exists = session.scalar(
        sa.select(CastingCall.id).where(
            CastingCall.season_id == season.id, CastingCall.title == TITLE
        )
    )
    if exists is not None:
        return []
    today = now.astimezone(RELEASE_TIMEZONE).date()
    starts = today + dt.timedelta(days=90)
    deadline = dt.datetime.combine(
        today + dt.timedelta(days=60), dt.time(23, 59), tzinfo=RELEASE_TIMEZONE
    )
    session.add(
        CastingCall(
            season=season,
            territory=TERRITORY,
            title=TITLE,
            description=DESCRIPTION,
            signup_until=deadline.astimezone(dt.UTC),
            filming_starts_on=starts,
            filming_ends_on=starts + dt.timedelta(days=24),
        )
    )
    session.flush()
    return [f"casting call season {SEASON}"]
