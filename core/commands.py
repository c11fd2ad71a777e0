"""The `experts` commands (CONTRACT.md)."""

from __future__ import annotations

import sys

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
def serve(host: str, port: int) -> None:
    """Serve HTTP and Socket.IO (gevent, production-grade)."""
    from core.extensions import socketio
    from core.observability import configure_logging

    configure_logging()
    app = _app()
    _require_services(app)
    _check_schema(app)
    _resume_jobs(app)
    click.echo(f"Serving on http://{host}:{port}", err=True)
    socketio.run(app, host=host, port=port, log_output=False, use_reloader=False)


def _resume_jobs(app: Flask) -> None:
    """Jobs a dead process left queued or running are queued again, never stuck silently."""
    from core.clock import now
    from core.db import db as database
    from series.episodes.services import resume_interrupted_jobs

    with app.app_context():
        count = resume_interrupted_jobs(database.session, now())
    if count:
        click.echo(f"{count} interrupted job(s) queued again", err=True)


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
    try:
        run_worker(app, burst=burst)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


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


def _register_domain_commands() -> None:
    from series.episodes.cli import episodes_cli
    from series.votes.cli import votes_cli

    cli.add_command(episodes_cli)
    cli.add_command(votes_cli)


_register_domain_commands()
