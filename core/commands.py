"""The `experts` commands (CONTRACT.md)."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import click
from flask import Flask

from core.config import ConfigError


def _app() -> Flask:
    """The current app when one is active (tests), else a new one from the environment."""
    from flask import current_app, has_app_context

    from core.app import create_app

    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _require_services(app: Flask) -> None:
    """Stop with a one-line reason when a configured service does not answer."""
    from core.observability import check_services

    with app.app_context():
        problems = check_services()
    if problems:
        raise click.ClickException("; ".join(problems))


@click.group(help="Les Experts de Nouvelle-Aquitaine — platform commands.")
def cli() -> None:
    pass


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes, on ports PORT, PORT+1, … (more than one needs REDIS_URL).",
)
@click.option(
    "--job-workers",
    default=0,
    show_default=True,
    type=click.IntRange(0, 64),
    help="Also run this many `experts worker` processes (needs REDIS_URL).",
)
def serve(host: str, port: int, workers: int, job_workers: int) -> None:
    """Serve HTTP and Socket.IO (gevent, production-grade)."""
    from core.extensions import socketio
    from core.observability import configure_logging

    if workers > 1 or job_workers:
        _serve_cluster(host, port, workers, job_workers)
        return
    configure_logging()
    app = _app()
    _require_services(app)
    _check_schema(app)
    _resume_jobs(app)
    _start_retention(app)
    if app.config["SERVED_BY_HEADER"]:
        app.config["SERVED_BY"] = f"{socket.gethostname()}:{port}"
    click.echo(f"Serving on http://{host}:{port}", err=True)
    socketio.run(app, host=host, port=port, log_output=False, use_reloader=False)


def _serve_cluster(host: str, port: int, workers: int, job_workers: int) -> None:
    """Several server processes (and job workers) watched by this one (core/deploy.py).

    Each child checks the services and the schema as it starts and stops with the reason;
    this process only reads the configuration, so the children start without waiting.
    """
    from flask import current_app, has_app_context

    from core.config import load_config
    from core.deploy import cluster, supervise
    from core.observability import configure_logging

    try:
        config = current_app.config if has_app_context() else load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not config["REDIS_URL"]:
        raise click.ClickException(
            "--workers above 1 and --job-workers need REDIS_URL: the processes share Socket.IO "
            "rooms, live counters, rate limits and the job queue through Redis"
        )
    configure_logging()
    ports = f"{port}" if workers == 1 else f"{port} to {port + workers - 1}"
    click.echo(
        f"Serving on http://{host}:{ports} ({workers} server processes, {job_workers} job workers)",
        err=True,
    )
    reason = supervise(cluster(host, port, workers, job_workers))
    if reason:
        raise click.ClickException(reason)


def _resume_jobs(app: Flask) -> None:
    """Jobs a dead process left queued or running are queued again, never stuck silently."""
    from core.clock import now
    from core.db import db as database
    from series.episodes.services import resume_interrupted_jobs

    with app.app_context():
        count = resume_interrupted_jobs(database.session, now())
    if count:
        click.echo(f"{count} interrupted job(s) queued again", err=True)


def _start_retention(app: Flask) -> None:
    """The daily retention run, in a thread of this process (one run per day in all)."""
    from core.retention import start_scheduler

    if start_scheduler(app) is not None:
        click.echo("retention rules scheduled (daily)", err=True)


def _check_schema(app: Flask) -> None:
    from core.migrate import pending_migrations

    with app.app_context():
        pending = pending_migrations()
    if pending:
        raise click.ClickException(
            f"the database is {len(pending)} migration(s) behind: run `experts db upgrade`"
        )


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst: bool) -> None:
    """Run background jobs from Redis (needs REDIS_URL)."""
    from core.jobs import run_worker
    from core.observability import configure_logging

    configure_logging()
    app = _app()
    _require_services(app)
    if app.config["REDIS_URL"]:
        _resume_jobs(app)
        if not burst:  # a burst worker may exit in the middle of the day's run
            _start_retention(app)
    try:
        run_worker(app, burst=burst)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


@cli.command("nginx-config")
@click.option("--port", default=5000, show_default=True, type=int, help="First server's port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--upstream-host", default="127.0.0.1", show_default=True)
@click.option("--listen", default="80", show_default=True, help="nginx's `listen` value.")
@click.option("--server-name", default="_", show_default=True)
def nginx_config(
    port: int, workers: int, upstream_host: str, listen: str, server_name: str
) -> None:
    """Print the nginx configuration for `experts serve --workers N` (deploy/nginx/)."""
    from core.deploy import DEFAULT_ACCEL_PREFIX, render_nginx_config

    app = _app()
    accel = app.config["MEDIA_ACCEL_PREFIX"] or DEFAULT_ACCEL_PREFIX
    missing = [
        setting
        for setting, absent in (
            ("REDIS_URL=redis://…", workers > 1 and not app.config["REDIS_URL"]),
            ("TRUST_PROXY=1", not app.config["TRUST_PROXY"]),
            (f"MEDIA_ACCEL_PREFIX={accel}", not app.config["MEDIA_ACCEL_PREFIX"]),
        )
        if absent
    ]
    if missing:
        click.echo(f"the servers behind it also need {', '.join(missing)}", err=True)
    click.echo(
        render_nginx_config(
            servers=[f"{upstream_host}:{port + i}" for i in range(workers)],
            listen=listen,
            server_name=server_name,
            static_root=Path(app.static_folder or "static"),
            media_root=Path(app.config["MEDIA_ROOT"]).resolve(),
            accel_prefix=accel,
        ),
        nl=False,
    )


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations."""
    from core.migrate import upgrade

    app = _app()
    _require_services(app)
    with app.app_context():
        upgrade(revision)
    click.echo("database up to date", err=True)


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from the difference between models and database."""
    from core.migrate import revision

    app = _app()
    with app.app_context():
        path = revision(message)
    click.echo(path)


@cli.group()
def seed() -> None:
    """Demo content."""


@seed.command("demo")
@click.option("--no-media", is_flag=True, help="Skip the generated demo videos.")
def seed_demo(no_media: bool) -> None:
    """Load the demo content; running it twice changes nothing."""
    from core.seed import seed_demo as run

    app = _app()
    _require_services(app)
    with app.app_context():
        summary = run(media=not no_media)
    for line in summary:
        click.echo(line, err=True)


@cli.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["viewer", "resident", "partner", "moderator", "editor", "admin"]),
    default="viewer",
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--name", default=None, help="Display name.")
def users_create(email: str, role: str, password_stdin: bool, name: str | None) -> None:
    """Create an account."""
    from core.accounts.models import Role
    from core.accounts.services import create_user
    from core.db import db as database
    from core.errors import ApiError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    app = _app()
    with app.app_context():
        try:
            user = create_user(
                database.session, email, password, display_name=name, role=Role(role)
            )
            database.session.commit()
        except ApiError as error:
            raise click.ClickException(str(error.message)) from None
        click.echo(f"created {user.email} ({user.role.value})", err=True)


@users.command("token")
@click.argument("email")
@click.option("--label", default="cli")
def users_token(email: str, label: str) -> None:
    """Print a new API token for Authorization: Bearer …"""
    from core.accounts.services import get_user_by_email, issue_api_token
    from core.db import db as database

    app = _app()
    with app.app_context():
        user = get_user_by_email(database.session, email)
        if user is None:
            raise click.ClickException(f"no account with e-mail {email}")
        _token, clear = issue_api_token(database.session, user, label)
        database.session.commit()
    click.echo(clear)


@users.command("revoke-tokens")
@click.argument("email")
def users_revoke_tokens(email: str) -> None:
    """Revoke every API token of an account."""
    from core.accounts.services import get_user_by_email, revoke_api_token
    from core.db import db as database

    app = _app()
    with app.app_context():
        user = get_user_by_email(database.session, email)
        if user is None:
            raise click.ClickException(f"no account with e-mail {email}")
        for token in user.tokens:
            revoke_api_token(token)
        database.session.commit()
        click.echo(f"revoked {len(user.tokens)} token(s)", err=True)


class _StderrProgress:
    """Backup progress on stderr: a line per step; percentages redrawn in place on a terminal,
    else a line every quarter."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = ("", -1, 0.0)  # label, percent, when
        self.line_open = False

    def step(self, message: str) -> None:
        if self.line_open:
            sys.stderr.write("\n")
            self.line_open = False
        click.echo(message, err=True)

    def advance(self, label: str, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        last_label, last_percent, when = self.shown
        if self.tty and (time.monotonic() - when > 0.2 or percent == 100):
            sys.stderr.write(f"\r  {label}: {percent:3d}%")
            self.line_open = True
        elif not self.tty and (label != last_label or percent // 25 > last_percent // 25):
            click.echo(f"  {label}: {percent}%", err=True)
        else:
            return
        self.shown = (label, percent, time.monotonic())

    def __enter__(self) -> _StderrProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.line_open:
            sys.stderr.write("\n")


@cli.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Archive file or folder [default: instance/backups/experts-backup-<UTC time>.tar.gz].",
)
def backup(output: Path | None) -> None:
    """Write one archive of the database and the media folder; prints its path."""
    from core import backup as backups
    from core.clock import now

    app = _app()
    started = time.monotonic()
    with app.app_context(), _StderrProgress() as progress:
        moment = now()
        default = backups.default_archive_path(Path(app.instance_path), moment)
        if output is not None and output.is_dir():
            output = output / default.name
        try:
            summary = backups.create_backup(
                backups.Target.from_config(app.config),
                output or default,
                moment=moment,
                progress=progress,
            )
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        progress.step(
            f"{backups.describe(summary.manifest)}; archive {summary.size / 1024**2:.1f} MB "
            f"in {time.monotonic() - started:.1f}s"
        )
    click.echo(summary.path)


@cli.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current data without asking.")
def restore(archive: Path, yes: bool) -> None:
    """Replace the database and the media folder with an archive's (checked first)."""
    from core import backup as backups

    app = _app()
    target = backups.Target.from_config(app.config)
    with app.app_context(), _StderrProgress() as progress:
        try:
            with backups.staged_archive(archive, target, progress) as staged:
                backups.check_restorable(staged, target)
                progress.step(backups.describe(staged.manifest))
                if not yes:
                    click.confirm(
                        "Replace the current database and media folder with this archive "
                        "(stop the server and workers first)?",
                        abort=True,
                        err=True,
                    )
                backups.restore_backup(staged, target, progress)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        progress.step(f"restored {archive}")


@cli.group()
def retention() -> None:
    """How long personal data is kept (the rules also run daily in `serve`)."""


@retention.command("list")
def retention_list() -> None:
    """Print each rule: name, period, data."""
    from core.retention import rules

    app = _app()
    with app.app_context():
        for rule in rules():
            click.echo(f"{rule.name}\t{rule.period}\t{rule.data}")


@retention.command("run")
@click.option("--rule", "names", multiple=True, help="Only this rule (repeatable).")
def retention_run(names: tuple[str, ...]) -> None:
    """Apply the rules now; prints what each one deleted."""
    from core.clock import now
    from core.db import db as database
    from core.retention import rules, run_rules

    app = _app()
    with app.app_context():
        known = {rule.name for rule in rules()}
        unknown = sorted(set(names) - known)
        if unknown:
            raise click.ClickException(
                f"unknown rule {', '.join(unknown)}; rules: {', '.join(sorted(known))}"
            )
        results = run_rules(database.session, now(), names or None)
    for result in results:
        if result.error:
            click.echo(f"{result.rule.name}: failed ({result.error})")
        else:
            click.echo(f"{result.rule.name}: {result.deleted} deleted")
    if any(result.error for result in results):
        raise SystemExit(1)


def _register_domain_commands() -> None:
    from series.episodes.cli import episodes_cli
    from series.votes.cli import votes_cli

    cli.add_command(episodes_cli)
    cli.add_command(votes_cli)


_register_domain_commands()
