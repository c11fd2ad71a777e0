"""Configuration read once from the environment (see CONTRACT.md)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The repository root: the instance folder and static files live beside the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("development", "production", "test")
#: Place search: the offline gazetteer of communes, or the BAN or Nominatim through geopy.
GEOCODERS = ("offline", "ban", "nominatim")
NOMINATIM_URL = "https://nominatim.openstreetmap.org"

#: The passport map's default tiles: OpenStreetMap's standard layer (its usage policy applies).
OSM_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message is one line for the operator."""


@dataclass(frozen=True)
class OidcProviderConfig:
    """One OpenID Connect provider named in OIDC_PROVIDERS."""

    name: str
    issuer: str
    client_id: str
    client_secret: str

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _oidc_providers(env: Mapping[str, str]) -> list[OidcProviderConfig]:
    names = [n.strip() for n in env.get("OIDC_PROVIDERS", "").split(",") if n.strip()]
    providers = []
    for name in names:
        key = name.upper().replace("-", "_")
        missing = [
            f"OIDC_{key}_{part}"
            for part in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET")
            if not env.get(f"OIDC_{key}_{part}")
        ]
        if missing:
            raise ConfigError(f"OIDC provider {name!r} needs {', '.join(missing)}")
        providers.append(
            OidcProviderConfig(
                name=name.lower(),
                issuer=env[f"OIDC_{key}_ISSUER"],
                client_id=env[f"OIDC_{key}_CLIENT_ID"],
                client_secret=env[f"OIDC_{key}_CLIENT_SECRET"],
            )
        )
    return providers


def _secret_key(env: Mapping[str, str], environment: str, instance_path: Path) -> str:
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    if environment == "production":
        raise ConfigError("SECRET_KEY is required when EXPERTS_ENV=production")
    # Local use: generated once so sessions survive a restart.
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def instance_path_from(env: Mapping[str, str]) -> Path:
    """Where local state lives (SQLite file, secret key, outbox, media)."""
    return Path(env.get("EXPERTS_INSTANCE_PATH") or PROJECT_ROOT / "instance")


def _count(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, "0") or "0"
    if not raw.isdigit():
        raise ConfigError(f"{name} must be a whole number (how many proxies), not {raw!r}")
    return int(raw)


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from environment variables."""
    env = os.environ if env is None else env
    environment = env.get("EXPERTS_ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"EXPERTS_ENV must be one of {', '.join(ENVIRONMENTS)}")
    if env.get("GEOCODER", "offline") not in GEOCODERS:
        raise ConfigError(f"GEOCODER must be one of {', '.join(GEOCODERS)}")
    instance_path = instance_path_from(env)
    redis_url = env.get("REDIS_URL") or None
    database_url = normalise_database_url(
        env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'experts.sqlite3'}"
    )
    production = environment == "production"
    smtp_host = env.get("SMTP_HOST") or None
    return {
        "EXPERTS_ENV": environment,
        "TESTING": environment == "test",
        "SECRET_KEY": _secret_key(env, environment, instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        #: Prefix of every Redis key, so several deployments (or test runs) can share one Redis.
        "REDIS_KEY_PREFIX": env.get("REDIS_KEY_PREFIX", "experts:"),
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(instance_path / "media"),
        #: Behind nginx: media bytes are sent by nginx (X-Accel-Redirect) after the app's check.
        "MEDIA_ACCEL_PREFIX": env.get("MEDIA_ACCEL_PREFIX") or None,
        #: Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto/-Host are believed;
        #: 0 (the default) believes none, so a client cannot forge its address.
        "TRUST_PROXY": _count(env, "TRUST_PROXY"),
        #: Name the answering process in an X-Served-By header (checking sticky sessions).
        "SERVED_BY_HEADER": env.get("EXPERTS_SERVED_BY_HEADER", "") in ("1", "true", "yes"),
        "OUTBOX_DIR": env.get("OUTBOX_DIR") or str(instance_path / "outbox"),
        "OIDC_PROVIDERS": _oidc_providers(env),
        "SOCKETIO_ASYNC_MODE": env.get("EXPERTS_ASYNC_MODE", "threading"),
        "SMTP_HOST": smtp_host,
        "SMTP_PORT": int(env.get("SMTP_PORT", "25")),
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": env.get("SMTP_STARTTLS", "") in ("1", "true", "yes"),
        "MAIL_FROM": env.get("MAIL_FROM", "Les Experts de Nouvelle-Aquitaine <no-reply@localhost>"),
        #: The public body that publishes the site (named in the accessibility statement).
        "PUBLISHER_NAME": env.get("PUBLISHER_NAME", "Région Nouvelle-Aquitaine"),
        #: Where visitors write about the site, e.g. to report an accessibility problem.
        "CONTACT_EMAIL": env.get("CONTACT_EMAIL", "contact@experts.example"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("REDIS_KEY_PREFIX", "experts:") + "rl",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;100 per hour"),
        "PASSWORD_RESET_MAX_AGE": 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in core.accounts.auth, token callers exempt
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(64 * 1024 * 1024))),
        #: Largest master an editor may upload (resumable upload, bytes).
        "UPLOAD_MAX_SIZE": int(env.get("UPLOAD_MAX_SIZE", str(8 * 1024**3))),
        "MEDIA_MAX_DURATION": float(env.get("MEDIA_MAX_DURATION", "1200")),
        "MEDIA_MAX_WIDTH": int(env.get("MEDIA_MAX_WIDTH", "4096")),
        "MEDIA_MAX_HEIGHT": int(env.get("MEDIA_MAX_HEIGHT", "2160")),
        #: Map tiles of the passport and the tips maps ({z}/{x}/{y}); empty: no map, lists only.
        "PASSPORT_TILE_URL": env.get("PASSPORT_TILE_URL", OSM_TILE_URL),
        #: Shown on the map (HTML, trusted: it comes from the operator).
        "PASSPORT_TILE_ATTRIBUTION": env.get("PASSPORT_TILE_ATTRIBUTION", OSM_ATTRIBUTION),
        "GEOCODER": env.get("GEOCODER", "offline"),
        "GEOCODER_BAN_URL": env.get("GEOCODER_BAN_URL", "https://api-adresse.data.gouv.fr"),
        "GEOCODER_NOMINATIM_URL": env.get("GEOCODER_NOMINATIM_URL", NOMINATIM_URL),
        #: Nominatim's usage policy wants the application named, with a contact.
        "GEOCODER_USER_AGENT": env.get("GEOCODER_USER_AGENT", "experts-na/0.1"),
        #: Seconds before an online geocoder counts as down (the gazetteer answers instead).
        "GEOCODER_TIMEOUT": float(env.get("GEOCODER_TIMEOUT", "3")),
        #: argon2 cost; tests lower it so the suite stays fast.
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        #: Run the retention rules (core.retention) daily from `serve` and `worker`; off in
        #: tests unless a test asks.
        "RETENTION_SCHEDULE": env.get(
            "RETENTION_SCHEDULE", "0" if environment == "test" else "1"
        ).lower()
        in ("1", "true", "yes"),
        #: Seconds between two retention runs.
        "RETENTION_INTERVAL": float(env.get("RETENTION_INTERVAL", str(24 * 3600))),
        "INSTANCE_PATH": str(instance_path),
    }
