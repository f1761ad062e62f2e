"""Configuration: defaults, overridden by TRACKER_* environment variables, then by the mapping
given to create_app (tests)."""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from tracker.domain.policy import DEFAULT_2026_EFFECTIVE


class ConfigError(RuntimeError):
    """The configuration cannot work; the app refuses to start."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from exc


def _positive(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ConfigError(f"{name} must be a positive number, not {value!r}")
    return number


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TRACKER_PROGRAM_TIMEZONE: unknown time zone {value!r}") from exc
    return value


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "tracker.sqlite3")


def _secret_key(instance_path: str, env: str) -> str:
    """Development generates a key once into the instance folder; production must be given one,
    since a generated key on one of several machines would log everybody out elsewhere."""
    if env == "production":
        raise ConfigError("TRACKER_SECRET_KEY must be set when TRACKER_ENV=production")
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping. Keys are the TRACKER_* names without the prefix."""
    env = os.environ
    overrides = dict(overrides or {})
    tracker_env = overrides.get("ENV") or env.get("TRACKER_ENV", "development")
    if tracker_env not in {"development", "production", "testing"}:
        raise ConfigError("TRACKER_ENV must be development, production or testing")
    config: dict[str, Any] = {
        "ENV": tracker_env,
        "TESTING": False,
        "DATABASE_URL": env.get("TRACKER_DATABASE_URL") or default_database_url(instance_path),
        "PROGRAM_TIMEZONE": _zone(env.get("TRACKER_PROGRAM_TIMEZONE", "America/New_York")),
        "POLICY_2026_EFFECTIVE": _date(
            "TRACKER_POLICY_2026_EFFECTIVE",
            env.get("TRACKER_POLICY_2026_EFFECTIVE", DEFAULT_2026_EFFECTIVE.isoformat()),
        ),
        "SESSION_IDLE_MINUTES": _positive("TRACKER_SESSION_IDLE_MINUTES",
                                          env.get("TRACKER_SESSION_IDLE_MINUTES", "15")),
        "SESSION_ABSOLUTE_HOURS": _positive("TRACKER_SESSION_ABSOLUTE_HOURS",
                                            env.get("TRACKER_SESSION_ABSOLUTE_HOURS", "12")),
        "SIGNATURE_KEY": env.get("TRACKER_SIGNATURE_KEY"),
        "ARGON2_FAST": False,
        "DB_POOL_SIZE": int(env.get("TRACKER_DB_POOL_SIZE", "5")),
        # No form or JSON body is larger; Flask reads none bigger (413) when this is set.
        "MAX_CONTENT_LENGTH": int(_positive("TRACKER_MAX_CONTENT_LENGTH",
                                            env.get("TRACKER_MAX_CONTENT_LENGTH", "1048576"))),
    }
    secret = overrides.pop("SECRET_KEY", None) or env.get("TRACKER_SECRET_KEY")
    config.update(overrides)
    effective = overrides.get("POLICY_2026_EFFECTIVE")
    if isinstance(effective, str):
        config["POLICY_2026_EFFECTIVE"] = _date("POLICY_2026_EFFECTIVE", effective)
    config["SECRET_KEY"] = secret or _secret_key(instance_path, config["ENV"])
    if not config["SIGNATURE_KEY"]:
        # The signature key binds e-signatures to their content; it lives outside the database.
        config["SIGNATURE_KEY"] = "sig:" + config["SECRET_KEY"]
    return config
