"""`experts episodes …`: ingest a master file from the terminal."""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from pathlib import Path

import click

from series.episodes.models import IngestJob, IngestState


def _bar(job: IngestJob, started: float) -> None:
    """A one-line progress bar with the time left, redrawn in place on stderr."""
    width = 30
    filled = int(job.progress * width)
    eta = "" if job.eta_s is None else f" · {int(job.eta_s) // 60}:{int(job.eta_s) % 60:02d} left"
    line = (
        f"\r{job.state.value:>8} [{'#' * filled}{'.' * (width - filled)}] "
        f"{job.progress * 100:5.1f}%{eta} ({time.monotonic() - started:.0f}s)"
    )
    sys.stderr.write(line.ljust(78))
    sys.stderr.flush()


@click.group("episodes")
def episodes_cli() -> None:
    """Episodes and their media."""


@episodes_cli.command("ingest")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--season", type=int, required=True, help="Season number (1–12).")
@click.option("--number", type=int, required=True, help="Episode number (1–6).")
def ingest(file: Path, season: int, number: int) -> None:
    """Validate, transcode and attach a master file to an episode (progress on stderr)."""
    from core.commands import _app, _require_services
    from core.db import db
    from series.episodes import services
    from series.episodes.media import MediaRejected

    app = _app()
    _require_services(app)
    with app.app_context():
        episode = services.get_episode(db.session, season, number)
        if episode is None:
            raise click.ClickException(f"no episode {number} in season {season}")
        if not file.exists():
            raise click.ClickException(f"not_found: no file at {file}")
        # Work on a staged copy: the job owns it and deletes it; the original stays untouched.
        staged = services.staging_dir() / f"{uuid.uuid4().hex}{file.suffix.lower()}"
        shutil.copyfile(file, staged)
        try:
            job = services.start_ingest(db.session, episode, staged, file.name)
        except MediaRejected as error:
            db.session.rollback()
            raise click.ClickException(f"{error.code}: {error.message_en}") from None
        db.session.commit()
        click.echo(f"job {job.id}: {file.name} → season {season} episode {number}", err=True)
        started = time.monotonic()
        services.run_ingest(job.id, report=lambda j: _bar(j, started))
        sys.stderr.write("\n")
        db.session.refresh(job)
        if job.state is not IngestState.DONE:
            # From the terminal a failure is final: the staged copy goes, the editor retries.
            services.abandon(db.session, job)
            raise click.ClickException(f"{job.error_code}: {job.error_message}")
        media = services.media_of(db.session, episode.id)
        assert media is not None
        rungs = ", ".join(r["name"] for r in media.renditions)
        click.echo(
            f"done in {time.monotonic() - started:.0f}s: {rungs} + mp4 {media.mp4_name}", err=True
        )
