"""Retention (RGPD): how long each kind of personal data is kept, applied by a scheduled job.

Each domain registers its rules (`register`) in the module that owns the data; `rules()`
imports the modules of `RULE_MODULES` first, so the registry is complete wherever it is read.
A rule's `purge(session, now)` deletes what is past its period and returns how many rows went;
it flushes, `run_rules` commits each rule on its own (one failing rule does not undo others).

The schedule: `RetentionScheduler` runs the rules once per period (a day by default) from a
daemon thread of `experts serve`, and of `experts worker` at scale. Every process may run a
scheduler: the period's lock (core.counters.try_lock, on Redis when configured) lets one run
per period. A run cut short (the process stopped) is not retried that period: the rules delete
everything past its period, so the next day's run catches up. Tests never start a scheduler
unless they ask (RETENTION_SCHEDULE is off in tests).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from core import counters
from core.clock import now
from core.db import db
from core.i18n import lazy_gettext as _l

logger = logging.getLogger(__name__)

#: Modules holding `register(...)` calls (explicit, like the blueprints' list).
RULE_MODULES = (
    "series.votes.casting",
    "series.episodes.attribution",
    "community.flags",
)
DEFAULT_INTERVAL = 24 * 3600
#: How often a scheduler wakes up to see whether the period's run is due.
DEFAULT_CHECK_EVERY = 15 * 60


@dataclass(frozen=True)
class RetentionRule:
    """One kind of data, how long it is kept, and how to delete what is past that."""

    #: Short name, for `experts retention run --rule NAME`.
    name: str
    #: The data, in words (privacy page).
    data: Any
    #: How long it is kept, in words (privacy page).
    period: Any
    #: Deletes what is past the period at `now`; returns how many rows went.
    purge: Callable[[Session, dt.datetime], int]


@dataclass(frozen=True)
class RuleResult:
    """What a rule did in one run: rows deleted, or the error that stopped it."""

    rule: RetentionRule
    deleted: int
    error: str | None = None


_RULES: dict[str, RetentionRule] = {}

#: Data kept for a limited time without a job: it expires by itself (shown on the page too).
SELF_EXPIRING: tuple[tuple[Any, Any], ...] = (
    (
        _l("Votre choix de mesure d'audience (cookie « consent »)"),
        _l("13 mois, puis il vous est redemandé"),
    ),
    (
        _l("Passeport sans compte (cookie « passeport »)"),
        _l("1 an après sa création"),
    ),
    (
        _l("Compteurs anti-abus (connexions, tentatives de tampon, clics) par adresse IP"),
        _l("de 1 minute à 1 heure, jamais en base de données"),
    ),
)


def register(rule: RetentionRule) -> RetentionRule:
    """Add a rule to the registry (a module registering twice replaces its rule)."""
    _RULES[rule.name] = rule
    return rule


def rules() -> list[RetentionRule]:
    """Every rule, in the order of RULE_MODULES."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    order = {module: index for index, module in enumerate(RULE_MODULES)}
    return sorted(_RULES.values(), key=lambda rule: order.get(rule.purge.__module__, len(order)))


def periods() -> list[tuple[Any, Any]]:
    """(data, how long it is kept) for the privacy pages: the rules, then self-expiring data."""
    return [(rule.data, rule.period) for rule in rules()] + list(SELF_EXPIRING)


def delete_rows(session: Session, statement: sa.Delete) -> int:
    """Run a rule's DELETE; returns how many rows went (run_rules logs it)."""
    result = cast(sa.CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


def cutoff(moment: dt.datetime, days: int) -> dt.datetime:
    """The time before which data kept `days` days is past its period."""
    return moment - dt.timedelta(days=days)


def run_rules(
    session: Session, moment: dt.datetime, names: Iterable[str] | None = None
) -> list[RuleResult]:
    """Apply the rules (all, or those named) at `moment`; each rule is committed on its own."""
    wanted = set(names) if names is not None else None
    results = []
    for rule in rules():
        if wanted is not None and rule.name not in wanted:
            continue
        try:
            deleted = rule.purge(session, moment)
            session.commit()
        except Exception as error:
            session.rollback()
            logger.exception("retention rule %s failed", rule.name)
            results.append(RuleResult(rule, 0, f"{type(error).__name__}: {error}"))
            continue
        logger.info("retention rule %s: %d deleted", rule.name, deleted)
        results.append(RuleResult(rule, deleted))
    return results


def run_retention() -> list[RuleResult]:
    """The scheduled job: every rule, now (inside an app context)."""
    return run_rules(db.session, now())


class RetentionScheduler:
    """Runs `job` at most once per period across every process sharing the counters store."""

    def __init__(
        self,
        app: Flask,
        *,
        interval: float | None = None,
        check_every: float | None = None,
        job: Callable[[], Any] = run_retention,
    ) -> None:
        self.app = app
        self.interval = float(interval or app.config.get("RETENTION_INTERVAL", DEFAULT_INTERVAL))
        self.check_every = float(
            check_every or app.config.get("RETENTION_CHECK_EVERY", DEFAULT_CHECK_EVERY)
        )
        self.job = job
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def period(self, moment: dt.datetime) -> int:
        """The number of the period `moment` falls in (days since 1970 by default)."""
        return int(moment.timestamp() // self.interval)

    def tick(self) -> Any:
        """Run the job when this period's run is not taken yet; None when it was."""
        with self.app.app_context():
            period = self.period(now())
            if not counters.try_lock(f"retention:{period}", ttl=self.interval):
                return None
            logger.info("retention: run of period %d", period)
            try:
                return self.job()
            finally:
                db.registry.remove()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                logger.exception("retention scheduler: run failed")
            self._stop.wait(self.check_every)

    def start(self) -> threading.Thread:
        """Start the daemon thread (it runs a first check at once)."""
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 5) -> None:
        """Stop the thread (tests; the server's daemon thread ends with the process)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_scheduler(app: Flask) -> RetentionScheduler | None:
    """Start the daily retention run in this process when configured (RETENTION_SCHEDULE)."""
    if not app.config.get("RETENTION_SCHEDULE"):
        return None
    scheduler = RetentionScheduler(app)
    scheduler.start()
    return scheduler
