"""The `experts` command line (CONTRACT.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from core.accounts.models import ApiToken, Role, User
from series.models import Episode, GuestStar, Season
from tests.support.live import REPO_ROOT, free_port


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_users_create_with_a_password_from_stdin(runner, db, client, auth):
    result = runner.invoke(
        "users",
        "create",
        "Edith@Example.org",
        "--role",
        "editor",
        "--password-stdin",
        input="un secret de plus de dix\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "edith@example.org"))
    assert user.role is Role.EDITOR
    assert auth.login("edith@example.org", "un secret de plus de dix").status_code == 302


def test_users_create_refuses_a_duplicate_and_a_bad_role(runner, make_user):
    make_user("deja@example.org")
    result = runner.invoke("users", "create", "deja@example.org")
    assert result.exit_code != 0
    assert "existe déjà" in result.output
    result = runner.invoke("users", "create", "x@example.org", "--role", "king")
    assert result.exit_code == 2
    assert "king" in result.output


def test_users_token_prints_a_working_bearer_token(runner, client, make_user, db):
    make_user("api@example.org")
    result = runner.invoke("users", "token", "api@example.org")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("xna_")
    assert count(db, ApiToken) == 1
    assert (
        client.get("/api/v1/seasons", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert runner.invoke("users", "revoke-tokens", "api@example.org").exit_code == 0
    assert (
        client.get("/api/v1/seasons", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_users_token_for_an_unknown_account_fails_with_a_reason(runner):
    result = runner.invoke("users", "token", "nobody@example.org")
    assert result.exit_code == 1
    assert "no account" in result.output


def test_seed_demo_is_idempotent(runner, db):
    first = runner.invoke("seed", "demo", "--no-media")
    assert first.exit_code == 0, first.output
    counts = [count(db, m) for m in (User, Season, Episode, GuestStar)]
    assert counts == [8, 12, 6, 6]
    schedule = db.session.execute(sa.select(Episode.id, Episode.publish_at)).all()
    second = runner.invoke("seed", "demo", "--no-media")
    assert second.exit_code == 0
    assert "nothing changed" in second.output
    assert [count(db, m) for m in (User, Season, Episode, GuestStar)] == counts
    assert db.session.execute(sa.select(Episode.id, Episode.publish_at)).all() == schedule


def test_seeded_seasons_cover_the_twelve_departements(runner, db):
    runner.invoke("seed", "demo", "--no-media")
    codes = set(db.session.scalars(sa.select(Season.departement_code)))
    assert codes == {"16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"}
    pilot = db.session.scalar(sa.select(Season).where(Season.number == 1))
    assert (pilot.departement_code, pilot.title) == ("86", "Meurtre au Futuroscope")


def test_db_upgrade_creates_the_schema_then_is_a_no_op(tmp_path):
    env = {"EXPERTS_INSTANCE_PATH": str(tmp_path)}
    first = _experts("db", "upgrade", **env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "experts.sqlite3").exists()
    second = _experts("db", "upgrade", **env)
    assert second.returncode == 0, second.stderr
    assert "database up to date" in second.stderr


def _experts(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=environment,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_stops_with_one_line_when_the_database_is_unreachable(tmp_path):
    result = _experts(
        "serve",
        "--port",
        str(free_port()),
        DATABASE_URL=f"postgresql://127.0.0.1:{free_port()}/nowhere",
        EXPERTS_INSTANCE_PATH=str(tmp_path),
    )
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "database unreachable" in error_lines[0]


def test_serve_stops_with_one_line_when_redis_is_unreachable(tmp_path):
    result = _experts(
        "serve",
        "--port",
        str(free_port()),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        EXPERTS_INSTANCE_PATH=str(tmp_path),
    )
    assert result.returncode == 1
    assert "redis unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _experts(
        "db", "upgrade", EXPERTS_ENV="production", EXPERTS_INSTANCE_PATH=str(tmp_path)
    )
    assert result.returncode == 1
    assert "SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_database_behind_its_migrations(tmp_path):
    result = _experts("serve", "--port", str(free_port()), EXPERTS_INSTANCE_PATH=str(tmp_path))
    assert result.returncode == 1
    assert "experts db upgrade" in result.stderr


def test_seed_demo_with_media_gives_the_pilot_videos_subtitles_and_chapters(
    runner, db, app, tmp_path, monkeypatch
):
    from series.episodes.models import EpisodeMedia, Track

    monkeypatch.setenv("EXPERTS_DEMO_CACHE", str(tmp_path / "cache"))
    result = runner.invoke("seed", "demo")
    assert result.exit_code == 0, result.output
    assert count(db, EpisodeMedia) == 6
    assert count(db, Track) == 18
    media = db.session.scalars(sa.select(EpisodeMedia)).all()
    assert len({m.directory for m in media}) == 6
    for item in media:
        folder = Path(app.config["MEDIA_ROOT"]) / item.directory
        assert (folder / "hls" / "master.m3u8").exists()
        assert (folder / "mp4" / f"{item.mp4_name}.mp4").exists()
    assert [r["name"] for r in media[0].renditions] == ["720p", "480p", "360p"]
    second = runner.invoke("seed", "demo")
    assert "nothing changed" in second.output
    assert count(db, EpisodeMedia) == 6
