"""Vote storm: real Socket.IO clients voting at once against `experts serve` and a bare server.

Usage: python bench/vote_storm.py [--clients 1000] [--mode single|kill|both] [--quick]

- single: one `experts serve` (embedded default: SQLite, no Redis) and, in the same run, a
  bare Flask-SocketIO server counting in memory (bench/_storm_bare.py). N asyncio clients
  (python-socketio) connect, join the poll, then vote together; 10 % replay their key
  (expect 200, same receipt), 5 % try a second vote (expect 409). Figures: connect time,
  votes/s (201 acks / first send to last 201 ack), ack latency, and last-tally latency (last
  201 ack to the moment the last client saw a tally whose total is the number of 201s).
  Goals: votes/s ≥ 0.5 × bare, last-tally ≤ 1.5 × bare's, no lost or double vote (read back
  from the database and GET /api/v1/polls/{id}).
- kill: PostgreSQL + Redis, two `experts serve` processes sharing the clients half/half; one
  is killed -9 once half the votes are acknowledged; its clients reconnect to the survivor and
  send their un-acked steps again with the SAME key. Every acknowledged vote must be in the
  database, and the tally pushed to the clients must equal it (before and at close).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.live import REPO_ROOT, LiveEnvironment, free_port, live_environment

POSTGRES_URL = "postgresql+psycopg://localhost/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECT_BATCH = 200  # connections in flight at once (no SYN flood)

SETUP = r"""
import datetime as dt, hashlib, json, secrets, sys, uuid
import sqlalchemy as sa
from core.app import create_app
from core.clock import now
from core.db import db
from core.accounts.models import ApiToken, Role, User
from core.accounts.services import TOKEN_PREFIX
from series.votes import services
from series.votes.models import PollScope

app = create_app()
with app.app_context():
    tag, at = uuid.uuid4().hex[:6], now()
    rows = [{"email": f"storm-{tag}-{i}@example.org", "display_name": f"Votant {i}",
             "role": Role.VIEWER} for i in range(N)]
    rows.append({"email": f"storm-{tag}-editor@example.org", "display_name": "Rédaction",
                 "role": Role.EDITOR})
    db.session.execute(sa.insert(User), rows)  # bulk: no password hashing for 5000 accounts
    ids = dict(db.session.execute(
        sa.select(User.email, User.id).where(User.email.like(f"storm-{tag}-%"))).all())
    tokens = {r["email"]: TOKEN_PREFIX + secrets.token_urlsafe(32) for r in rows}
    db.session.execute(sa.insert(ApiToken), [
        {"user_id": ids[e], "token_hash": hashlib.sha256(t.encode()).hexdigest(),
         "prefix": t[:12], "label": "storm"} for e, t in tokens.items()])
    poll = services.create_poll(
        db.session, question="Qui a fait le coup ?", options=["Le jardinier", "La comtesse",
        "Le notaire"], scope=PollScope.SITE, opens_at=at - dt.timedelta(seconds=1),
        closes_at=at + dt.timedelta(hours=1))
    db.session.commit()
    print(json.dumps({"poll": poll.id, "options": [o.id for o in poll.options],
                      "voters": [[ids[r["email"]], tokens[r["email"]]] for r in rows[:-1]],
                      "editor": tokens[rows[-1]["email"]]}))
"""

BALLOTS = r"""
import json
import sqlalchemy as sa
from core.app import create_app
from core.db import db
from series.votes.models import Ballot

with create_app().app_context():
    rows = db.session.execute(sa.select(Ballot.user_id, sa.func.count()).where(
        Ballot.poll_id == POLL).group_by(Ballot.user_id)).all()
    print(json.dumps([[u, n] for u, n in rows]))
"""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Voter:
    user: int
    token: str
    option: int
    other: int  # the option of a second vote
    replay: bool
    second: bool
    url: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    sio: Any = None
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    tallies: list[tuple[float, int | None]] = field(default_factory=list)
    acks: list[tuple[str, int, float, float, str | None]] = field(default_factory=list)
    reconnects: int = 0


class Lost(Exception):
    """The server went away before answering."""


async def call(voter: Voter, event: str, data: dict[str, Any], timeout: float = 120) -> Any:
    """Emit with an ack; raises Lost if the connection drops first."""
    answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_ack(*args: Any) -> None:
        if not answer.done():
            answer.set_result(args[0] if args else None)

    try:
        await voter.sio.emit(event, data, callback=on_ack)
    except Exception as error:
        raise Lost(str(error)) from error
    gone = asyncio.ensure_future(voter.gone.wait())
    await asyncio.wait({answer, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    if not answer.done():
        raise Lost(f"no ack to {event}")
    return answer.result()


async def connect(voter: Voter, poll: int, limit: asyncio.Semaphore) -> None:
    """Connect, join the poll and wait for its tally."""
    async with limit:
        sio = socketio.AsyncClient(reconnection=False)
        voter.sio, voter.gone = sio, asyncio.Event()
        sio.on("tally", lambda data: voter.tallies.append((time.perf_counter(), data.get("total"))))
        sio.on("disconnect", lambda *args, gone=voter.gone: gone.set())
        for attempt in range(5):
            try:
                await sio.connect(
                    voter.url,
                    auth={"token": voter.token},
                    transports=["websocket"],
                    wait_timeout=60,
                )
                break
            except socketio.exceptions.ConnectionError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        ack = await call(voter, "join", {"poll": poll})
        if not (isinstance(ack, dict) and ack.get("ok")) or not voter.tallies:
            raise RuntimeError(f"join refused or no tally: {ack}")


@dataclass
class Run:
    voters: list[Voter]
    poll: int
    connect_s: float = 0.0
    storm_start: float = 0.0
    on_ack: Callable[[], None] | None = None
    failover: str | None = None  # where clients of a dead server reconnect

    async def connect_all(self) -> None:
        limit, start = asyncio.Semaphore(CONNECT_BATCH), time.perf_counter()
        await asyncio.gather(*(connect(v, self.poll, limit) for v in self.voters))
        self.connect_s = time.perf_counter() - start

    async def vote(self, voter: Voter, go: asyncio.Event) -> None:
        await go.wait()
        steps = [("vote", voter.key, voter.option)]
        steps += [("replay", voter.key, voter.option)] if voter.replay else []
        steps += [("second", str(uuid.uuid4()), voter.other)] if voter.second else []
        for step, key, option in steps:
            while True:
                sent = time.perf_counter()
                try:
                    ack = await call(
                        voter, "vote", {"poll": self.poll, "option": option, "key": key}
                    )
                except Lost:
                    if self.failover is None:
                        raise
                    await voter.sio.disconnect()
                    voter.url, voter.reconnects = self.failover, voter.reconnects + 1
                    await connect(voter, self.poll, asyncio.Semaphore(1))
                    continue
                voter.acks.append(
                    (step, ack.get("status"), sent, time.perf_counter(), ack.get("receipt"))
                )
                if step == "vote" and self.on_ack is not None:
                    self.on_ack()
                break

    async def storm(self) -> None:
        go = asyncio.Event()
        tasks = [asyncio.ensure_future(self.vote(v, go)) for v in self.voters]
        await asyncio.sleep(0.2)  # every task waits on the event
        self.storm_start = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)

    def acks(self, step: str | None = None) -> list[tuple[str, int, float, float, str | None]]:
        return [a for v in self.voters for a in v.acks if step is None or a[0] == step]

    async def wait_tally(self, expected: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(v.tallies and v.tallies[-1][1] == expected for v in self.voters):
                return True
            await asyncio.sleep(0.02)
        return False

    def figures(self) -> dict[str, Any]:
        firsts = self.acks("vote")
        new = [a for a in self.acks() if a[1] == 201]
        last_ack = max(a[3] for a in new)
        latencies = sorted(a[3] - a[2] for a in firsts)
        n = len(new)
        seen = [next((t for t, total in v.tallies if total == n), -1.0) for v in self.voters]
        return {
            "connect_s": self.connect_s,
            "votes_s": n / (last_ack - self.storm_start),
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "tally_ms": 1000 * (max(seen) - last_ack) if min(seen) >= 0 else None,
            "fanout_ms": 1000 * (max(seen) - min(seen)) if min(seen) >= 0 else None,
            "new": n,
            "bad_replays": sum(  # a replay answers 200 with the first receipt
                1
                for v in self.voters
                for a in v.acks
                if a[0] == "replay" and (a[1], a[4]) != (200, v.acks[0][4])
            ),
            "bad_seconds": sum(1 for a in self.acks("second") if a[1] != 409),
            "last_totals": {v.tallies[-1][1] for v in self.voters},
        }

    async def close(self) -> None:
        limit = asyncio.Semaphore(CONNECT_BATCH)

        async def one(voter: Voter) -> None:
            async with limit:
                await voter.sio.disconnect()

        await asyncio.gather(*(one(v) for v in self.voters), return_exceptions=True)


def voters_for(setup: dict[str, Any], urls: list[str], seed: int) -> list[Voter]:
    """The same plan for every server: option, replay (10 %), second vote (5 %)."""
    rng, options, voters = random.Random(seed), setup["options"], []
    for i, (user, token) in enumerate(setup["voters"]):
        url, plan = urls[i % len(urls)], (i % 10 == 3, i % 20 == 7)
        voters.append(Voter(user, token, rng.choice(options), options[i % 2], *plan, url))
    return voters


def ballots(env: LiveEnvironment, poll: int) -> dict[int, int]:
    out = env.experts_python(f"POLL = {poll}\n" + BALLOTS).stdout
    return {int(u): int(n) for u, n in json.loads(out.strip().splitlines()[-1])}


def api_total(url: str, poll: int, token: str) -> Any:
    answer = requests.get(
        f"{url}/api/v1/polls/{poll}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return answer.json().get("total")


def setup_poll(env: LiveEnvironment, clients: int) -> dict[str, Any]:
    progress(f"creating {clients} viewers with tokens and an open poll")
    out = env.experts_python(f"N = {clients}\n" + SETUP).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def start_bare(poll: int, options: list[int]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    script = Path(__file__).with_name("_storm_bare.py")
    args = [sys.executable, str(script), "--port", str(port), "--poll", str(poll)]
    process = subprocess.Popen([*args, "--options", ",".join(map(str, options))], cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("bare server did not start")


async def storm_once(label: str, voters: list[Voter], poll: int) -> Run:
    run = Run(voters, poll)
    progress(f"{label}: connecting {len(voters)} clients")
    await run.connect_all()
    progress(f"{label}: {len(voters)} connected and joined in {run.connect_s:.2f} s; voting")
    await run.storm()
    n = sum(1 for a in run.acks() if a[1] == 201)
    if not await run.wait_tally(n, timeout=15):
        progress(f"{label}: not every client saw the final tally {n}")
    progress(f"{label}: storm done ({n} new votes)")
    await run.close()
    return run


FIGURES = ("connect_s", "votes_s", "p50_ms", "p99_ms", "tally_ms", "fanout_ms")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def count(acks: list[Any]) -> dict[int, int]:
    return dict(sorted(Counter(a[1] for a in acks).items()))


def integrity(db: dict[int, int], acked: set[int]) -> tuple[int, int, int]:
    """Acknowledged votes missing, extra ballots of one account, ballots nobody was told of."""
    return len(acked - set(db)), sum(n - 1 for n in db.values() if n > 1), len(set(db) - acked)


def median(values: list[float | None]) -> float | None:
    present = sorted(v for v in values if v is not None)
    return statistics.median(present) if len(present) == len(values) else None


def single(clients: int, rounds: int) -> bool:
    """`rounds` storms on each server, alternating, each on a fresh poll; medians compared
    (the bare server's figure is noisy: the clients share the machine with the servers)."""
    runs: list[tuple[Run, Run]] = []
    checks: list[tuple[dict[int, int], Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="vote-storm-") as tmp,
        live_environment(Path(tmp), None) as env,
    ):
        progress("starting experts serve (SQLite, no Redis)")
        url = env.serve()
        for round_ in range(1, rounds + 1):
            setup = setup_poll(env, clients)
            poll = setup["poll"]
            ours = asyncio.run(
                storm_once(f"round {round_}: experts serve", voters_for(setup, [url], round_), poll)
            )
            checks.append((ballots(env, poll), api_total(url, poll, setup["voters"][0][1])))
            bare_process, bare_url = start_bare(poll, setup["options"])
            try:
                bare = asyncio.run(
                    storm_once(
                        f"round {round_}: bare server", voters_for(setup, [bare_url], round_), poll
                    )
                )
            finally:
                bare_process.kill()
                bare_process.wait()
            runs.append((ours, bare))
    ours_f = [r[0].figures() for r in runs]
    bare_f = [r[1].figures() for r in runs]
    a = {k: median([f[k] for f in ours_f]) for k in FIGURES}
    b = {k: median([f[k] for f in bare_f]) for k in FIGURES}
    fast = (
        a["votes_s"] is not None and b["votes_s"] is not None and a["votes_s"] >= 0.5 * b["votes_s"]
    )
    mine, theirs = a["tally_ms"], b["tally_ms"]
    tally_ok = mine is not None and theirs is not None and mine <= 1.5 * max(theirs, 1.0)
    rows = [
        ("connect + join, all clients (s)", "connect_s", "", None),
        ("votes/s (201 acks / storm time)", "votes_s", ">= 0.5 x bare", fast),
        ("vote ack latency p50 (ms)", "p50_ms", "", None),
        ("vote ack latency p99 (ms)", "p99_ms", "", None),
        ("last 201 ack -> final tally at all (ms)", "tally_ms", "<= 1.5 x bare", tally_ok),
        ("final tally, first -> last client (ms)", "fanout_ms", "", None),
    ]
    print(f"\n== single: {clients} clients, experts serve (SQLite, no Redis) vs bare server ==")
    print(f"medians of {rounds} rounds (each: a fresh poll, our server then the bare one)")
    print(f"{'figure':40} {'experts':>9} {'bare':>9}  {'goal':14} verdict")
    for name, key, goal, ok in rows:
        mine_s, theirs_s = (f"{x[key]:9.1f}" if x[key] is not None else "   (none)" for x in (a, b))
        print(f"{name:40} {mine_s} {theirs_s}  {goal:14} {'' if ok is None else verdict(ok)}")
    ratios = [f"{o['votes_s'] / r['votes_s']:.2f}" for o, r in zip(ours_f, bare_f, strict=True)]
    print(
        f"votes/s per round: experts {[round(f['votes_s']) for f in ours_f]}, "
        f"bare {[round(f['votes_s']) for f in bare_f]}, ratio {ratios}"
    )
    ok = True
    for (ours, bare), f, (db, total) in zip(runs, ours_f, checks, strict=True):
        lost, double, extra = integrity(db, {v.user for v in ours.voters if v.acks[0][1] == 201})
        print(
            f"acks by status: experts {count(ours.acks())}, bare {count(bare.acks())}; "
            f"replays not 200 with the first receipt: {f['bad_replays']}; "
            f"second votes not 409: {f['bad_seconds']}"
        )
        print(
            f"201 acks: {f['new']}; ballots in the database: {sum(db.values())}; "
            f"GET /polls total: {total}; "
            f"last tally at clients: {sorted(f['last_totals'], key=str)}; "
            f"lost: {lost}, double: {double}, ballots never acknowledged: {extra}"
        )
        ok = ok and lost == double == extra == f["bad_replays"] == f["bad_seconds"] == 0
        ok = ok and f["new"] == sum(db.values()) == total and f["last_totals"] == {f["new"]}
    print(f"zero lost or double votes, tally = ballots everywhere: {verdict(ok)}")
    return ok and fast and bool(tally_ok)


async def kill_storm(env: LiveEnvironment, setup: dict[str, Any], urls: list[str]) -> bool:
    voters, poll, viewer = voters_for(setup, urls, 2), setup["poll"], setup["voters"][0][1]
    run, victim = Run(voters, poll, failover=urls[0]), env.processes[-1]
    killed: dict[str, Any] = {}

    def on_ack() -> None:
        done = len(run.acks("vote"))
        if not killed and done >= len(voters) // 2:
            victim.kill()
            killed["at"] = done
            progress(f"killed -9 the server at {urls[1]} (pid {victim.pid}) after {done} acks")

    run.on_ack = on_ack
    progress(f"kill: connecting {len(voters)} clients to 2 servers")
    await run.connect_all()
    progress(f"kill: connected in {run.connect_s:.2f} s; voting")
    await run.storm()
    storm_s = max(a[3] for a in run.acks()) - run.storm_start
    idle = [v for v in voters if v.gone.is_set()]  # done before the kill: back on the survivor
    for voter in idle:
        voter.url, voter.reconnects = urls[0], voter.reconnects + 1
    await asyncio.gather(*(connect(v, poll, asyncio.Semaphore(CONNECT_BATCH)) for v in idle))
    acked = {v.user for v in voters if v.acks[0][1] in (200, 201)}
    db = await asyncio.to_thread(ballots, env, poll)
    expected = sum(db.values())
    progress(f"kill: {expected} ballots; waiting up to 12 s for that tally at every client")
    live_ok = await run.wait_tally(expected, timeout=12)
    live = sorted({v.tallies[-1][1] for v in voters}, key=str)
    counters = await asyncio.to_thread(api_total, urls[0], poll, viewer)  # open: live counters
    progress("kill: closing the poll (the database corrects the live counters)")
    sent = time.perf_counter()
    closing = await asyncio.to_thread(
        requests.post,
        f"{urls[0]}/api/v1/polls/{poll}/close",
        headers={"Authorization": f"Bearer {setup['editor']}"},
        timeout=30,
    )
    closed_ok = await run.wait_tally(expected, timeout=10)
    closed_ms = 1000 * (max(v.tallies[-1][0] for v in voters) - sent)
    closed = sorted({v.tallies[-1][1] for v in voters}, key=str)
    total = await asyncio.to_thread(api_total, urls[0], poll, viewer)
    await run.close()
    lost, double, extra = integrity(db, acked)
    seconds = sum(1 for a in run.acks("second") if a[1] != 409)
    moved = sum(1 for v in voters if v.reconnects)
    print(
        f"\n== kill: {len(voters)} clients on 2 experts serve (PostgreSQL + Redis), one killed =="
    )
    print(f"killed -9 after {killed.get('at')} acknowledged votes; {moved} clients moved to the")
    print(
        f"survivor (un-acked steps re-sent with the same key); {len(acked) / storm_s:.1f} votes/s"
    )
    print(f"acks by status (all steps): {count(run.acks())}; second votes not 409: {seconds}")
    print(f"acknowledged voters (201/200): {len(acked)}; ballots in the database: {expected}")
    print(f"lost: {lost}, double: {double}, ballots never acknowledged: {extra}")
    print(f"before close: live counters (GET /polls total) {counters}; last tally at clients")
    print(f"  {live}; equal to the ballots at every client: {verdict(live_ok)}")
    print(f"close: HTTP {closing.status_code}; tally pushed {closed} after {closed_ms:.0f} ms;")
    print(f"  GET /polls total {total}; equal to the acknowledged votes at every client: ", end="")
    print(verdict(closed_ok and expected == len(acked)))
    ok = lost == double == extra == seconds == 0 and total == expected == len(acked)
    print(f"every acknowledged vote counted once: {verdict(ok)}")
    return ok and closed_ok


def kill(clients: int) -> bool:
    with (
        tempfile.TemporaryDirectory(prefix="vote-storm-kill-") as tmp,
        live_environment(Path(tmp), REDIS_URL, POSTGRES_URL) as env,
    ):
        progress("starting two experts serve processes (PostgreSQL + Redis)")
        urls = [env.serve(), env.serve()]
        setup = setup_poll(env, clients)
        return asyncio.run(kill_storm(env, setup, urls))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--mode", choices=["single", "kill", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="200 clients, one round")
    parser.add_argument("--rounds", type=int, default=3, help="storms per server (single mode)")
    args = parser.parse_args()
    clients = 200 if args.quick else args.clients
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by the servers
    if hard < 2 * clients + 200:
        progress(f"warning: {hard} file descriptors may be too few for {clients} clients")
    results = []
    if args.mode in ("single", "both"):
        results.append(single(clients, 1 if args.quick else args.rounds))
    if args.mode in ("kill", "both"):
        results.append(kill(clients))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
