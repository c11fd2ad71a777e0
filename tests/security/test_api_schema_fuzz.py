"""Every operation of the OpenAPI document, fuzzed by Schemathesis as every kind of caller.

The world is the authorisation matrix's (tests/security/world.py): the seeded demo, one account
per actor of tests/security/policy.py with its session and API token, and the resources the
policy names. For each operation and each actor, Hypothesis generates a few requests from the
document, valid ones and invalid ones (negative mode), with path parameters that reach the
world's resources or whatever was generated. Every answer must be no server error, with a
documented status code and content type, and a body matching the documented schema.

Like the matrix, each request runs inside a savepoint rolled back right after it, so every
request meets the same world whatever the order. Generation is derandomised (the same requests
on every run) and bounded: EXAMPLES per operation, actor and mode, no shrinking.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.extensions import limiter
from series.votes import tally
from tests.security.policy import ACTORS, ANONYMOUS
from tests.security.world import World, build_world

#: Requests generated per operation, actor and generation mode (valid, invalid).
EXAMPLES = 4
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Path parameters that reach the world's resources (names of its resources, or literals);
#: the generated ones mostly reach nothing.
KNOWN_PATHS: dict[str, tuple[str | int, ...]] = {
    "episode_id": ("released_episode", "unreleased_episode"),
    "hotspot_id": ("released_hotspot", "unreleased_hotspot"),
    "job_id": ("ingest_job",),
    "poll_id": ("open_poll", "closed_poll", "unreleased_poll"),
    "tip_id": ("published_tip", "pending_tip"),
    "upload_id": ("editors_upload",),
    "number": (1,),
}

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Shrinking would replay a failing request many times; the report shows the first one.
    phases=[Phase.explicit, Phase.generate],
    # Schemathesis strategies are slow to draw and discard invalid combinations (a negative
    # case that serialises into a valid one): expected, not a badly written strategy.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    report_multiple_bugs=False,
)


@dataclass
class Run:
    """What the fuzzing made and found."""

    requests: int = 0
    #: Requests made per operation and actor.
    made: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Failure text -> operation and actors that met it.
    failures: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: Server exceptions logged by core.errors during the current request.
    logged: list[logging.LogRecord] = field(default_factory=list)

    def fail(self, operation: str, actor: str, text: str) -> None:
        self.failures.setdefault((operation, text), []).append(actor)

    def report(self) -> str:
        lines = [f"{len(self.failures)} answers outside the OpenAPI document:"]
        for (operation, text), actors in self.failures.items():
            lines.append(f"--- {operation} as {', '.join(actors)}")
            lines.append(text if len(text) < 3000 else text[:3000] + " […]")
        return "\n".join(lines)


class _Collect(logging.Handler):
    def __init__(self, run: Run) -> None:
        super().__init__(logging.ERROR)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.logged.append(record)


@contextmanager
def collecting_server_errors(run: Run) -> Iterator[None]:
    """Keep the exceptions behind the app's 500 answers (core.errors logs them)."""
    handler = _Collect(run)
    logger = logging.getLogger("core.errors")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def where(error: BaseException) -> str:
    """An exception and the project's frames it went through (the last few)."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if "/site-packages/" not in frame.filename and "/tests/" not in frame.filename
    ]
    lines = "".join(f"\n    {f.filename}:{f.lineno} in {f.name}" for f in frames[-3:])
    return f"{type(error).__name__}: {error}{lines}"


def _known(operation: APIOperation, world: World) -> list[dict[str, Any]]:
    """Every combination of known path parameters of the operation (none: an empty list)."""
    names = [parameter.name for parameter in operation.path_parameters]
    if not names or any(name not in KNOWN_PATHS for name in names):
        return []
    combinations: list[dict[str, Any]] = [{}]
    for name in names:
        values = [world.resources[v] if isinstance(v, str) else v for v in KNOWN_PATHS[name]]
        combinations = [dict(c, **{name: value}) for c in combinations for value in values]
    return combinations


def cases(operation: APIOperation, mode: GenerationMode, world: World) -> st.SearchStrategy[Case]:
    """Generated requests, two thirds of them on known path parameters when there are some."""
    generated = operation.as_strategy(generation_mode=mode)
    known = _known(operation, world)
    if not known:
        return generated
    reaching = st.sampled_from(known).flatmap(
        lambda params: operation.as_strategy(generation_mode=mode, path_parameters=params)
    )
    return st.one_of(reaching, reaching, generated)


def credentials(
    app: Flask, world: World, actor: str, method: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies: a visitor keeps its session (and CSRF token), accounts their token."""
    caller = world.actors[actor]
    if actor == ANONYMOUS or caller.api_token is None:
        headers = {"X-CSRFToken": caller.csrf_token} if method in UNSAFE else {}
        return headers, {app.config["SESSION_COOKIE_NAME"]: caller.session_cookie}
    return {"Authorization": f"Bearer {caller.api_token}"}, {}


def fuzz(
    app: Flask,
    connection: Any,
    world: World,
    run: Run,
    operation: APIOperation,
    actor: str,
    mode: GenerationMode,
) -> None:
    """Generated requests to one operation as one actor; raises at the first failing one."""

    @SETTINGS
    @given(case=cases(operation, mode, world))
    def one(case: Case) -> None:
        headers, cookies = credentials(app, world, actor, case.method.upper())
        # The WSGI transport reads bodies as sent: ask for them uncompressed (gzip is tested in
        # tests/core/test_delivery.py).
        headers["Accept-Encoding"] = "identity"
        run.requests += 1
        run.made[operation.label, actor] += 1
        run.logged.clear()
        savepoint = connection.begin_nested()
        try:
            response = case.call(headers=headers, cookies=cookies)
        finally:
            savepoint.rollback()
            world.repair()
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as error:
            for record in run.logged:
                if record.exc_info and record.exc_info[1] is not None:
                    error.add_note(f"Server exception: {where(record.exc_info[1])}")
            raise

    one()


def _text(error: BaseException) -> str:
    """The failure, its notes, and what it groups (Hypothesis wraps a flaky failure)."""
    lines = [f"{type(error).__name__}: {error}", *getattr(error, "__notes__", [])]
    if isinstance(error, BaseExceptionGroup) and not isinstance(error, FailureGroup):
        lines += [_text(inner) for inner in error.exceptions]
    return "\n".join(lines)


def test_every_operation_answers_as_documented(
    app: Flask,
    db: Any,
    make_user: Any,
    make_token: Any,
    pilot: dict[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Opening a poll starts a thread that pushes its final tally when it closes, seconds
    # later: it would query the test's one connection from another thread, in the middle of
    # other requests, for a poll whose opening was rolled back long before.
    monkeypatch.setattr(tally, "watch_close", lambda poll: None)
    world = build_world(app, db, make_user, make_token, pilot)
    with app.app_context():
        connection = db.session.get_bind()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    run = Run()
    started = time.perf_counter()
    with collecting_server_errors(run):
        for operation in operations:
            for actor in ACTORS:
                for mode in MODES:
                    # Rate limits are counted outside the savepoints: each pair starts afresh.
                    with app.app_context():
                        limiter.reset()
                    try:
                        fuzz(app, connection, world, run, operation, actor, mode)
                    except Unsatisfiable:
                        # Nothing of the operation can be made invalid (no parameter, no body).
                        assert mode == GenerationMode.NEGATIVE, operation.label
                    except FailureGroup as error:
                        run.fail(operation.label, actor, _text(error))
                    except Exception as error:  # a server exception the transport re-raised
                        run.fail(operation.label, actor, where(error) + "\n" + _text(error))
    elapsed = time.perf_counter() - started
    print(
        f"schema fuzz: {len(operations)} operations x {len(ACTORS)} actors,"
        f" {run.requests} requests in {elapsed:.1f} s"
    )
    assert len(operations) >= 40
    # Every operation was called by every actor (an operation without parameters nor body
    # has a single request to make: Hypothesis stops there).
    assert set(run.made) == {(o.label, actor) for o in operations for actor in ACTORS}
    assert run.requests >= len(run.made) * EXAMPLES
    if run.failures:
        pytest.fail(run.report(), pytrace=False)
