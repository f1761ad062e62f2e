"""Configuration: defaults, overridden by TRACKER_* environment variables, then by the mapping
given to create_app (tests)."""

from __future__ import annotations

import os
import secrets
from datetime import date
from math import ceil
from pathlib import Path
from typing import Any

from tracker.domain.policy import DEFAULT_2026_EFFECTIVE
from tracker.keyring import DEFAULT_KEY_ID, DEVELOPMENT_AUDIT_KEY, Keyring


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


def _count(name: str, value: str) -> int:
    if not value.strip().isdigit():
        raise ConfigError(f"{name} must be a whole number (0 or more), not {value!r}")
    return int(value)


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TRACKER_PROGRAM_TIMEZONE: unknown time zone {value!r}") from exc
    return value


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "tracker.sqlite3")


MIN_KEY_BYTES = 32


def _parse_keys(name: str, value: str) -> dict[str, bytes]:
    """`id:key,id:key` (ids are short names such as 2026a; keys have no comma)."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        key_id, sep, key = item.partition(":")
        if not sep or not key_id or not key or len(key_id) > 32:
            raise ConfigError(f"{name} is a list of id:key separated by commas "
                              f"(ids of at most 32 characters)")
        keys[key_id] = key.encode()
    return keys


def _keyring(config: dict[str, Any], prefix: str, development_key: bytes) -> Keyring:
    """The ring named by <prefix>_KEYS (older keys, for verifying) and <prefix>_KEY with
    <prefix>_KEY_ID (the current key, which signs). Production must be given its keys."""
    name = f"TRACKER_{prefix}"
    keys = _parse_keys(f"{name}_KEYS", config[f"{prefix}_KEYS"] or "")
    current_id = config[f"{prefix}_KEY_ID"] or DEFAULT_KEY_ID
    current = config[f"{prefix}_KEY"]
    if current:
        if keys.get(current_id, current.encode()) != current.encode():
            raise ConfigError(f"{name}_KEYS gives key id {current_id!r} another key than "
                              f"{name}_KEY")
        keys[current_id] = current.encode()
    if not keys:
        if config["ENV"] == "production":
            raise ConfigError(f"{name}_KEY must be set when TRACKER_ENV=production")
        keys[current_id] = development_key
    if current_id not in keys:
        raise ConfigError(f"{name}_KEY_ID {current_id!r} names no key of {name}_KEYS")
    if config["ENV"] == "production":
        if len(keys[current_id]) < MIN_KEY_BYTES:
            raise ConfigError(f"{name}_KEY must be at least {MIN_KEY_BYTES} bytes "
                              f"long in production")
        if keys[current_id] == config["SECRET_KEY"].encode():
            raise ConfigError(f"{name}_KEY must differ from TRACKER_SECRET_KEY")
    return Keyring(current_id, keys)


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
        # An API client retries a write with the same Idempotency-Key within this many hours;
        # `tracker maintenance purge` removes older answers.
        "IDEMPOTENCY_RETENTION_HOURS": _positive(
            "TRACKER_IDEMPOTENCY_RETENTION_HOURS",
            env.get("TRACKER_IDEMPOTENCY_RETENTION_HOURS", "72")),
        # A file uploaded on the import page waits this many hours for its confirmation;
        # `tracker maintenance purge` removes it afterwards (it holds patients' data).
        "IMPORT_UPLOAD_RETENTION_HOURS": _positive(
            "TRACKER_IMPORT_UPLOAD_RETENTION_HOURS",
            env.get("TRACKER_IMPORT_UPLOAD_RETENTION_HOURS", "24")),
        "SIGNATURE_KEY": env.get("TRACKER_SIGNATURE_KEY"),
        "SIGNATURE_KEY_ID": env.get("TRACKER_SIGNATURE_KEY_ID"),
        "SIGNATURE_KEYS": env.get("TRACKER_SIGNATURE_KEYS"),
        "AUDIT_KEY": env.get("TRACKER_AUDIT_KEY"),
        "AUDIT_KEY_ID": env.get("TRACKER_AUDIT_KEY_ID"),
        "AUDIT_KEYS": env.get("TRACKER_AUDIT_KEYS"),
        # PostgreSQL: the login role the app runs as (tracker db upgrade grants it its rights).
        "APP_DB_ROLE": env.get("TRACKER_APP_DB_ROLE") or None,
        "AUDIT_UNKEYED_EVENTS": _count("TRACKER_AUDIT_UNKEYED_EVENTS",
                                       env.get("TRACKER_AUDIT_UNKEYED_EVENTS", "0")),
        "ARGON2_FAST": False,
        "DB_POOL_SIZE": int(env.get("TRACKER_DB_POOL_SIZE", "5")),
        # SQLite: how long a write waits for another writer before the request answers 503.
        "DB_BUSY_TIMEOUT_SECONDS": _positive("TRACKER_DB_BUSY_TIMEOUT_SECONDS",
                                             env.get("TRACKER_DB_BUSY_TIMEOUT_SECONDS", "30")),
        # PostgreSQL: how long opening a connection may take before the request answers 503.
        # Whole seconds (libpq reads 0 as "wait for ever"): a fraction is rounded up.
        "DB_CONNECT_TIMEOUT_SECONDS": ceil(_positive(
            "TRACKER_DB_CONNECT_TIMEOUT_SECONDS",
            env.get("TRACKER_DB_CONNECT_TIMEOUT_SECONDS", "5"))),
        # The Retry-After of a 503 answered while the database cannot be reached.
        "DB_RETRY_AFTER_SECONDS": ceil(_positive(
            "TRACKER_DB_RETRY_AFTER_SECONDS", env.get("TRACKER_DB_RETRY_AFTER_SECONDS", "5"))),
        # No form or JSON body is larger; Flask reads none bigger (413) when this is set.
        "MAX_CONTENT_LENGTH": int(_positive("TRACKER_MAX_CONTENT_LENGTH",
                                            env.get("TRACKER_MAX_CONTENT_LENGTH", "1048576"))),
        # Browser-based EHR apps allowed to call the FHIR and CDS Hooks endpoints directly:
        # exact origins, comma-separated (https://ehr.example.org); none by default.
        # Reminder emails (`tracker notify run`): the SMTP server (smtp://user:pass@host:port,
        # smtps:// for TLS, ?starttls=1), the sender, the address the app is reached at (links
        # in the care team's digest) and how many times a notice is tried before giving up.
        "SMTP_URL": env.get("TRACKER_SMTP_URL") or None,
        "MAIL_FROM": env.get("TRACKER_MAIL_FROM") or None,
        "BASE_URL": (env.get("TRACKER_BASE_URL") or "").strip().rstrip("/") or None,
        "NOTIFY_MAX_ATTEMPTS": int(_positive("TRACKER_NOTIFY_MAX_ATTEMPTS",
                                             env.get("TRACKER_NOTIFY_MAX_ATTEMPTS", "8"))),
        "CORS_ORIGINS": tuple(o.strip().rstrip("/") for o in
                              env.get("TRACKER_CORS_ORIGINS", "").split(",") if o.strip()),
    }
    secret = overrides.pop("SECRET_KEY", None) or env.get("TRACKER_SECRET_KEY")
    config.update(overrides)
    effective = overrides.get("POLICY_2026_EFFECTIVE")
    if isinstance(effective, str):
        config["POLICY_2026_EFFECTIVE"] = _date("POLICY_2026_EFFECTIVE", effective)
    config["SECRET_KEY"] = secret or _secret_key(instance_path, config["ENV"])
    if config["ENV"] == "production" and len(config["SECRET_KEY"].encode()) < MIN_KEY_BYTES:
        raise ConfigError(f"TRACKER_SECRET_KEY must be at least {MIN_KEY_BYTES} "
                          f"bytes long in production")
    # The signature key binds e-signatures to their content, the audit key chains the audit
    # trail; both live outside the database, so whoever can write to it cannot forge either.
    config["SIGNATURE_KEYRING"] = _keyring(config, "SIGNATURE",
                                           ("sig:" + config["SECRET_KEY"]).encode())
    config["AUDIT_KEYRING"] = _keyring(config, "AUDIT", DEVELOPMENT_AUDIT_KEY)
    if config["ENV"] == "production" and (config["AUDIT_KEYRING"].current
                                          == config["SIGNATURE_KEYRING"].current):
        raise ConfigError("TRACKER_AUDIT_KEY must differ from TRACKER_SIGNATURE_KEY")
    return config
