"""Retention: each rule deletes what is past its period and keeps the rest; the daily schedule
runs once per period whatever the number of processes; `experts retention`; the privacy pages."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from community.models import Tip, TipFlag
from core import retention
from core.accounts.models import User
from core.retention import RetentionRule, RetentionScheduler, run_rules
from series.episodes import attribution
from series.episodes.hotspot_models import Hotspot, HotspotEvent, Offer
from series.models import Season
from series.votes import casting
from series.votes.models import CastingCall, CastingSignup
from tests.support.clock import Clock

DAY = dt.timedelta(days=1)
SIGNUP = {
    "full_name": "Lucie Moreau",
    "email": "lucie@example.org",
    "phone": "06 12 34 56 78",
    "commune": "Coulon",
    "age_range": "26-40",
    "availability": ["weekend"],
    "note": "",
    "consent": "yes",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    return app_config | {"CLOCK": clock}


def count(db: Any, model: Any, *where: Any) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def results(found: list[retention.RuleResult]) -> dict[str, int]:
    assert [r.error for r in found if r.error] == []
    return {r.rule.name: r.deleted for r in found}


# ---------------------------------------------------------------- the rules


def test_every_domain_registers_its_rule_with_a_period(app_context):
    names = [rule.name for rule in retention.rules()]
    assert names == ["casting-signups", "audience-events", "resolved-flags"]
    for rule in retention.rules():
        assert str(rule.data)
        assert str(rule.period)


def test_identified_events_go_after_13_months_and_partner_figures_stay(
    app_context, db, seeded, clock
):
    hotspot = db.session.scalars(
        sa.select(Hotspot).join(Offer).where(Hotspot.kind == "product").order_by(Hotspot.id)
    ).first()
    assert hotspot is not None
    assert hotspot.offer is not None
    partner_id = hotspot.offer.partner_id
    # Three visitors who consented; their events are then aged: 14 months, 12 months, today.
    for days_ago, visitor in ((425, "a" * 24), (365, "b" * 24), (0, "c" * 24)):
        assert attribution.record_click(db.session, hotspot, visitor)
        assert attribution.record_impression(db.session, hotspot, visitor)
        db.session.execute(
            sa.update(HotspotEvent)
            .where(HotspotEvent.visitor == visitor)
            .values(at=clock.now - days_ago * DAY)
        )
    db.session.commit()
    before = attribution.stats_for_partner(db.session, partner_id)
    assert attribution.totals(before)[:2] == (3, 3)

    assert results(run_rules(db.session, clock.now, ["audience-events"])) == {"audience-events": 2}

    kept = db.session.scalars(sa.select(HotspotEvent.visitor).order_by(HotspotEvent.id)).all()
    assert kept == ["b" * 24, "b" * 24, "c" * 24, "c" * 24]
    after = attribution.stats_for_partner(db.session, partner_id)
    assert after == before, "partner figures read the anonymous daily totals, kept"
    # The boundary: an event exactly 390 days old stays until the next day.
    clock.advance(days=25)
    assert results(run_rules(db.session, clock.now, ["audience-events"])) == {"audience-events": 0}
    clock.advance(days=1)
    assert results(run_rules(db.session, clock.now, ["audience-events"])) == {"audience-events": 2}


def test_resolved_flags_go_a_year_after_the_decision(app_context, db, seeded, clock, make_user):
    tips = db.session.scalars(sa.select(Tip).order_by(Tip.id).limit(3)).all()
    flagger = make_user(role="resident")
    db.session.execute(sa.delete(TipFlag))
    for tip, resolved in zip(
        tips, (clock.now - 366 * DAY, clock.now - 300 * DAY, None), strict=True
    ):
        db.session.add(
            TipFlag(
                tip_id=tip.id,
                user_id=flagger.id,
                reason="spam",
                note="Publicité déguisée",
                created_at=clock.now - 400 * DAY,
                resolved_at=resolved,
            )
        )
    db.session.commit()

    assert results(run_rules(db.session, clock.now, ["resolved-flags"])) == {"resolved-flags": 1}

    left = db.session.execute(sa.select(TipFlag.tip_id, TipFlag.resolved_at)).all()
    assert sorted(tip_id for tip_id, _ in left) == sorted(t.id for t in tips[1:])
    assert count(db, TipFlag, TipFlag.resolved_at.is_(None)) == 1, "open flags are never purged"


def test_casting_sign_ups_go_once_the_filming_is_over(app_context, db, seeded, clock, make_user):
    people = [make_user(role="resident").id for _ in range(2)]
    db.session.execute(sa.delete(CastingSignup))
    season = db.session.scalar(sa.select(Season).where(Season.number == 2))
    today = casting.paris_today(clock.now)
    calls = [
        CastingCall(
            season=season,
            territory="Niort et le Marais poitevin",
            title=title,
            signup_until=clock.now + DAY,
            filming_starts_on=today + 10 * DAY,
            filming_ends_on=today + 20 * DAY,
        )
        for title in ("Marché de Niort", "Barques à Coulon")
    ]
    db.session.add_all(calls)
    db.session.flush()
    for call, person in zip(calls, people, strict=True):
        casting.sign_up(db.session, call, db.session.get(User, person), SIGNUP, clock.now)
    db.session.commit()
    assert results(run_rules(db.session, clock.now, ["casting-signups"])) == {"casting-signups": 0}

    calls[0].filming_starts_on = today - 20 * DAY
    calls[0].filming_ends_on = today - DAY
    db.session.commit()

    assert results(run_rules(db.session, clock.now, ["casting-signups"])) == {"casting-signups": 1}
    assert db.session.scalars(sa.select(CastingSignup.call_id)).all() == [calls[1].id]


def test_a_failing_rule_does_not_stop_the_others(app_context, db, clock, monkeypatch):
    def broken(session: Any, now: dt.datetime) -> int:
        raise RuntimeError("disk on fire")

    rule = RetentionRule("broken", "x", "y", broken)
    monkeypatch.setitem(retention._RULES, "broken", rule)
    found = run_rules(db.session, clock.now)
    assert [r.rule.name for r in found][-1] == "broken"
    assert found[-1].error == "RuntimeError: disk on fire"
    assert all(r.error is None for r in found[:-1])


# ---------------------------------------------------------------- the schedule


def test_two_schedulers_run_once_per_period(app: Flask, clock: Clock):
    """Two processes' schedulers (threads here, same counters store) wake up together."""
    runs: list[dt.datetime] = []
    lock = threading.Lock()

    def job() -> str:
        with lock:
            runs.append(clock.now)
        return "ran"

    schedulers = [RetentionScheduler(app, job=job) for _ in range(2)]
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def wake(scheduler: RetentionScheduler) -> None:
        barrier.wait()
        answers.append(scheduler.tick())

    threads = [threading.Thread(target=wake, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(answers, key=str) == [None, "ran"]
    # Later the same day: nothing; the next day: one run again.
    clock.advance(hours=1)
    assert [s.tick() for s in schedulers] == [None, None]
    clock.advance(days=1)
    assert sorted((s.tick() for s in schedulers), key=str) == [None, "ran"]
    assert len(runs) == 2


def test_the_scheduler_thread_runs_the_rules(app: Flask, db, clock: Clock):
    ran = threading.Event()
    seen: list[Any] = []

    def job() -> Any:
        seen.append(retention.run_retention())
        ran.set()

    scheduler = RetentionScheduler(app, check_every=0.05, job=job)
    scheduler.start()
    try:
        assert ran.wait(10)
    finally:
        scheduler.stop()
    assert len(seen) == 1, "once in the period, however often the thread wakes up"
    assert [r.rule.name for r in seen[0]] == [r.name for r in retention.rules()]


def test_no_scheduler_unless_configured(app: Flask):
    assert app.config["RETENTION_SCHEDULE"] is False
    assert retention.start_scheduler(app) is None


# ---------------------------------------------------------------- command line and pages


def test_retention_commands_list_and_run(runner, db, clock):
    listed = runner.invoke("retention", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        "casting-signups",
        "audience-events",
        "resolved-flags",
    ]
    assert "13 mois" in lines[1]

    ran = runner.invoke("retention", "run")
    assert ran.exit_code == 0, ran.output
    assert ran.output.splitlines() == [
        "casting-signups: 0 deleted",
        "audience-events: 0 deleted",
        "resolved-flags: 0 deleted",
    ]
    one = runner.invoke("retention", "run", "--rule", "audience-events")
    assert one.output == "audience-events: 0 deleted\n"
    unknown = runner.invoke("retention", "run", "--rule", "logs")
    assert unknown.exit_code != 0
    assert "unknown rule logs" in unknown.output


def test_the_privacy_pages_show_the_retention_periods(client, auth, make_user):
    for rule_text in ("Durée de conservation", "13 mois ; les totaux anonymes", "1 an après"):
        assert rule_text in client.get("/confidentialite/mesure-d-audience").get_data(as_text=True)
    user = make_user()
    auth.login(user.email)
    html = client.get("/compte/donnees").get_data(as_text=True)
    assert "Durée de conservation" in html
    assert "jusqu&#39;à la fin du tournage" in html or "jusqu'à la fin du tournage" in html
