"""Configuration from the environment (CONTRACT.md)."""

from __future__ import annotations

import pytest

from core.config import ConfigError, load_config


def test_embedded_default_is_sqlite_in_the_instance_folder(tmp_path):
    config = load_config({"EXPERTS_INSTANCE_PATH": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'experts.sqlite3'}"
    assert config["REDIS_URL"] is None
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["MEDIA_ROOT"] == str(tmp_path / "media")
    assert config["EXPERTS_ENV"] == "development"


def test_secret_key_is_generated_once_for_local_use(tmp_path):
    first = load_config({"EXPERTS_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"EXPERTS_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second
    assert len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_needs_a_secret_key_and_uses_secure_cookies(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is required"):
        load_config({"EXPERTS_ENV": "production", "EXPERTS_INSTANCE_PATH": str(tmp_path)})
    config = load_config({"EXPERTS_ENV": "production", "SECRET_KEY": "s" * 50})
    assert config["SESSION_COOKIE_SECURE"] is True


def test_at_scale_settings_come_from_database_and_redis_urls(tmp_path):
    config = load_config(
        {
            "EXPERTS_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgresql://db.example/experts",
            "REDIS_URL": "redis://cache.example:6379/2",
            "MEDIA_ROOT": "/srv/media",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db.example/experts"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache.example:6379/2"
    assert config["MEDIA_ROOT"] == "/srv/media"


def test_oidc_providers_are_read_by_name(tmp_path):
    config = load_config(
        {
            "EXPERTS_INSTANCE_PATH": str(tmp_path),
            "OIDC_PROVIDERS": "franceconnect, Keycloak",
            "OIDC_FRANCECONNECT_ISSUER": "https://fc.example",
            "OIDC_FRANCECONNECT_CLIENT_ID": "a",
            "OIDC_FRANCECONNECT_CLIENT_SECRET": "b",
            "OIDC_KEYCLOAK_ISSUER": "https://kc.example/realms/x/",
            "OIDC_KEYCLOAK_CLIENT_ID": "c",
            "OIDC_KEYCLOAK_CLIENT_SECRET": "d",
        }
    )
    names = [p.name for p in config["OIDC_PROVIDERS"]]
    assert names == ["franceconnect", "keycloak"]
    assert config["OIDC_PROVIDERS"][1].metadata_url == (
        "https://kc.example/realms/x/.well-known/openid-configuration"
    )


def test_an_incomplete_oidc_provider_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="OIDC_BROKEN_CLIENT_SECRET"):
        load_config(
            {
                "EXPERTS_INSTANCE_PATH": str(tmp_path),
                "OIDC_PROVIDERS": "broken",
                "OIDC_BROKEN_ISSUER": "https://x",
                "OIDC_BROKEN_CLIENT_ID": "y",
            }
        )


def test_an_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="EXPERTS_ENV"):
        load_config({"EXPERTS_ENV": "staging", "EXPERTS_INSTANCE_PATH": str(tmp_path)})
