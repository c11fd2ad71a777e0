"""`experts votes …`: retention of casting sign-ups (run daily by cron or a timer)."""

from __future__ import annotations

import click


@click.group("votes")
def votes_cli() -> None:
    """Polls and casting calls."""


@votes_cli.command("purge-casting")
def purge_casting() -> None:
    """Delete the sign-ups of casting calls whose season is filmed (retention)."""
    from core.clock import now
    from core.commands import _app
    from core.db import db
    from series.votes.casting import purge_filmed_signups

    app = _app()
    with app.app_context():
        count = purge_filmed_signups(db.session, now())
        db.session.commit()
    click.echo(f"{count} casting sign-up(s) deleted")
