"""Attribution: hotspot impressions and clicks (consent respected), partner figures, UTM links.

Every impression or click adds to the anonymous per-day totals (HotspotDailyStat). Only a
visitor who accepted audience measurement also gets an identified HotspotEvent, carrying the
pseudonymous id of the consent cookie: never an IP address, never an account.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import retention
from core.clock import now as clock_now
from core.db import conflict_insert
from core.i18n import lazy_gettext as _l
from series.episodes.hotspot_kinds import KINDS, public_kinds
from series.episodes.hotspot_models import (
    Hotspot,
    HotspotDailyStat,
    HotspotEvent,
    Offer,
)
from series.models import Episode, Season
from series.services import can_see_unreleased, released_clause

logger = logging.getLogger(__name__)

#: Days are counted in the partners' timezone.
STATS_TIMEZONE = ZoneInfo("Europe/Paris")
#: An impression counts once the hotspot was visible this long.
MIN_VISIBLE_MS = 1000
UTM_SOURCE = "experts-na"
UTM_MEDIUM = "video"
_UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "utm_id")
SAFE_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 500
#: Identified events are kept 13 months at most (CNIL, audience measurement); the anonymous
#: per-day totals, which partner figures read, are kept.
EVENT_RETENTION_DAYS = 390


def stats_day(at: dt.datetime | None = None) -> dt.date:
    """The day (Paris time) an event at `at` (default: now) is counted on."""
    return (at or clock_now()).astimezone(STATS_TIMEZONE).date()


def safe_web_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) address with a host, None otherwise."""
    if not url or len(url) > MAX_URL_LENGTH:
        return None
    if url != url.strip() or any(ord(c) < 33 or c in "\\\x7f" for c in url):
        return None  # whitespace, control characters, backslashes: browsers disagree on these
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _port = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc or not host:
        return None
    return url


def outbound_url(offer: Offer, hotspot: Hotspot) -> str | None:
    """The offer's registered URL with our UTM parameters (its own query and fragment kept).

    None when the registered URL is not a safe http(s) address: it is then never linked to.
    """
    url = safe_web_url(offer.url)
    if url is None:
        return None
    parts = urlsplit(url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in _UTM_KEYS
    ]
    query += [
        ("utm_source", UTM_SOURCE),
        ("utm_medium", UTM_MEDIUM),
        ("utm_campaign", f"saison-{hotspot.episode.season.number}"),
        ("utm_content", f"hotspot-{hotspot.id}"),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def countable_hotspot(
    session: Session, hotspot_id: int, user: object, now: dt.datetime | None = None
) -> Hotspot | None:
    """A public hotspot the caller may see (released episode, or editor); None → 404."""
    hotspot = session.get(Hotspot, hotspot_id)
    if hotspot is None or hotspot.kind not in KINDS or not KINDS[hotspot.kind].public:
        return None
    if not hotspot.episode.is_released(now or clock_now()) and not can_see_unreleased(user):
        return None
    return hotspot


def is_counted(hotspot: Hotspot, now: dt.datetime | None = None) -> bool:
    """Only public hotspots of released episodes count (editors' previews do not)."""
    return (
        hotspot.kind in KINDS
        and KINDS[hotspot.kind].public
        and hotspot.episode.is_released(now or clock_now())
    )


def bump_daily(
    session: Session, hotspot_id: int, day: dt.date, impressions: int = 0, clicks: int = 0
) -> None:
    """Add to a hotspot's day totals in one atomic upsert (safe under concurrent requests)."""
    dialect = session.get_bind().dialect.name
    values = {"hotspot_id": hotspot_id, "day": day, "impressions": impressions, "clicks": clicks}
    added = {
        "impressions": HotspotDailyStat.impressions + impressions,
        "clicks": HotspotDailyStat.clicks + clicks,
    }
    keys = [HotspotDailyStat.hotspot_id, HotspotDailyStat.day]
    if dialect in ("postgresql", "sqlite"):
        session.execute(
            conflict_insert(session, HotspotDailyStat)
            .values(**values)
            .on_conflict_do_update(index_elements=keys, set_=added)
        )
    else:
        _bump_portable(session, hotspot_id, day, impressions, clicks)


def _bump_portable(
    session: Session, hotspot_id: int, day: dt.date, impressions: int, clicks: int
) -> None:
    """Update-then-insert, retrying the update when a concurrent insert won the race."""
    update = (
        sa.update(HotspotDailyStat)
        .where(HotspotDailyStat.hotspot_id == hotspot_id, HotspotDailyStat.day == day)
        .values(
            impressions=HotspotDailyStat.impressions + impressions,
            clicks=HotspotDailyStat.clicks + clicks,
        )
        .execution_options(synchronize_session=False)
    )
    if session.execute(update).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.execute(
                sa.insert(HotspotDailyStat).values(
                    hotspot_id=hotspot_id, day=day, impressions=impressions, clicks=clicks
                )
            )
    except IntegrityError:
        session.execute(update)


def _record(session: Session, hotspot: Hotspot, kind: str, visitor: str | None) -> bool:
    if not is_counted(hotspot):
        return False
    bump_daily(
        session,
        hotspot.id,
        stats_day(),
        impressions=1 if kind == "impression" else 0,
        clicks=1 if kind == "click" else 0,
    )
    if visitor:
        session.add(HotspotEvent(hotspot_id=hotspot.id, kind=kind, visitor=visitor, at=clock_now()))
    session.flush()
    return True


def record_impression(session: Session, hotspot: Hotspot, visitor: str | None = None) -> bool:
    """Count an impression; `visitor` (the consent cookie's id) only when consented."""
    return _record(session, hotspot, "impression", visitor)


def record_click(session: Session, hotspot: Hotspot, visitor: str | None = None) -> bool:
    """Count a click; `visitor` (the consent cookie's id) only when consented."""
    return _record(session, hotspot, "click", visitor)


def _ctr(clicks: int, impressions: int) -> float | None:
    return clicks / impressions if impressions else None


@dataclass(frozen=True)
class HotspotFigures:
    """Impressions and clicks of one hotspot over the period."""

    hotspot_id: int
    label: str
    kind: str
    offer_id: int
    offer_title: str
    impressions: int
    clicks: int

    @property
    def ctr(self) -> float | None:
        """Click-through rate (clicks / impressions), None without impressions."""
        return _ctr(self.clicks, self.impressions)


@dataclass
class EpisodeFigures:
    """An episode's totals and its hotspots' figures over the period."""

    episode_id: int
    season_number: int
    episode_number: int
    title: str
    released: bool
    hotspots: list[HotspotFigures] = field(default_factory=list)

    @property
    def impressions(self) -> int:
        """Impressions of the episode's hotspots."""
        return sum(h.impressions for h in self.hotspots)

    @property
    def clicks(self) -> int:
        """Clicks of the episode's hotspots."""
        return sum(h.clicks for h in self.hotspots)

    @property
    def ctr(self) -> float | None:
        """Click-through rate of the episode's hotspots."""
        return _ctr(self.clicks, self.impressions)


def stats_for_partner(
    session: Session,
    partner_id: int,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    include_unreleased: bool = False,
    now: dt.datetime | None = None,
) -> list[EpisodeFigures]:
    """Per episode and per hotspot pointing to the partner's offers: impressions, clicks, CTR.

    Days run from `start` to `end` included; clue hotspots never appear, nor (unless asked, for
    editors) hotspots of unreleased episodes.
    """
    current = now or clock_now()
    query = (
        sa.select(Hotspot, Episode, Season.number, Offer.id, Offer.title)
        .join(Offer, Hotspot.offer_id == Offer.id)
        .join(Episode, Hotspot.episode_id == Episode.id)
        .join(Season, Episode.season_id == Season.id)
        .where(Offer.partner_id == partner_id, Hotspot.kind.in_(public_kinds()))
        .order_by(Season.number, Episode.number, Hotspot.start_s, Hotspot.id)
    )
    if not include_unreleased:
        query = query.where(released_clause(current))
    rows = session.execute(query).all()
    totals: dict[int, tuple[int, int]] = {}
    if rows:
        sums = sa.select(
            HotspotDailyStat.hotspot_id,
            sa.func.coalesce(sa.func.sum(HotspotDailyStat.impressions), 0),
            sa.func.coalesce(sa.func.sum(HotspotDailyStat.clicks), 0),
        ).where(HotspotDailyStat.hotspot_id.in_([row[0].id for row in rows]))
        if start is not None:
            sums = sums.where(HotspotDailyStat.day >= start)
        if end is not None:
            sums = sums.where(HotspotDailyStat.day <= end)
        for hotspot_id, impressions, clicks in session.execute(
            sums.group_by(HotspotDailyStat.hotspot_id)
        ):
            totals[int(hotspot_id)] = (int(impressions), int(clicks))
    episodes: dict[int, EpisodeFigures] = {}
    for hotspot, episode, season_number, offer_id, offer_title in rows:
        figures = episodes.get(episode.id)
        if figures is None:
            figures = episodes[episode.id] = EpisodeFigures(
                episode_id=episode.id,
                season_number=int(season_number),
                episode_number=episode.number,
                title=episode.title,
                released=episode.is_released(current),
            )
        impressions, clicks = totals.get(hotspot.id, (0, 0))
        figures.hotspots.append(
            HotspotFigures(
                hotspot_id=hotspot.id,
                label=hotspot.label,
                kind=hotspot.kind,
                offer_id=int(offer_id),
                offer_title=offer_title,
                impressions=impressions,
                clicks=clicks,
            )
        )
    return list(episodes.values())


def totals(figures: Sequence[EpisodeFigures]) -> tuple[int, int, float | None]:
    """Impressions, clicks and CTR over every episode."""
    impressions = sum(e.impressions for e in figures)
    clicks = sum(e.clicks for e in figures)
    return impressions, clicks, _ctr(clicks, impressions)


def purge_identified_events(session: Session, now: dt.datetime) -> int:
    """Delete identified impressions and clicks older than 13 months (retention).

    Partner figures read the anonymous per-day totals only, counted when the event happened:
    they stay the same.
    """
    return retention.delete_rows(
        session,
        sa.delete(HotspotEvent).where(
            HotspotEvent.at < retention.cutoff(now, EVENT_RETENTION_DAYS)
        ),
    )


retention.register(
    retention.RetentionRule(
        name="audience-events",
        data=_l(
            "Vues et clics des zones interactives rattachés à un identifiant pseudonyme "
            "(avec votre accord)"
        ),
        period=_l("13 mois ; les totaux anonymes par jour sont gardés"),
        purge=purge_identified_events,
    )
)
