"""The application factory and its configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tracker import create_app
from tracker.config import ConfigError

# Keys a production start accepts: 32 bytes or more each, all different.
PRODUCTION_KEYS = {"SECRET_KEY": "s" * 40, "SIGNATURE_KEY": "g" * 32, "AUDIT_KEY": "a" * 32}


def test_factory_defaults_to_development_not_testing(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))
    for name in ("TRACKER_DATABASE_URL", "TRACKER_SECRET_KEY", "TRACKER_ENV"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.testing is False
    assert app.config["ENV"] == "development"
    assert app.config["DATABASE_URL"] == "sqlite:///" + str(tmp_path / "tracker.sqlite3")
    assert app.config["PROGRAM_TIMEZONE"] == "America/New_York"


def test_development_secret_key_is_generated_once(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    monkeypatch.setenv("TRACKER_ENV", "production")
    with pytest.raises(ConfigError, match="TRACKER_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_configuration_comes_from_tracker_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.db"))
    monkeypatch.setenv("TRACKER_PROGRAM_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("TRACKER_POLICY_2026_EFFECTIVE", "2027-01-01")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["DATABASE_URL"].endswith("x.db")
    assert app.config["PROGRAM_TIMEZONE"] == "America/Chicago"
    assert str(app.config["POLICY_2026_EFFECTIVE"]) == "2027-01-01"


def test_database_fault_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:///" + str(tmp_path / "x.db"))
    monkeypatch.setenv("TRACKER_DB_BUSY_TIMEOUT_SECONDS", "0.25")
    monkeypatch.setenv("TRACKER_DB_CONNECT_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("TRACKER_DB_RETRY_AFTER_SECONDS", "12")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    engine = app.extensions["tracker.db"].engine
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    finally:
        engine.dispose()
    assert app.config["DB_CONNECT_TIMEOUT_SECONDS"] == 1  # whole seconds, never 0 (no limit)
    assert app.config["DB_RETRY_AFTER_SECONDS"] == 12


def _connect_parameters(url: str, **kw: Any) -> dict[str, Any]:
    """What the engine would hand to psycopg.connect (caught before any network traffic)."""
    from sqlalchemy import event

    from tracker.db import make_engine

    class Caught(Exception):
        pass

    engine = make_engine(url, **kw)
    seen: dict[str, Any] = {}

    @event.listens_for(engine, "do_connect")
    def _catch(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        seen.update(params)
        raise Caught

    with pytest.raises(Caught):
        engine.connect()
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    return seen


def test_postgresql_connections_give_up_after_the_connect_timeout() -> None:
    assert _connect_parameters("postgresql://tracker@db.invalid/tracker",
                               connect_timeout=3)["connect_timeout"] == 3
    # A connection URL's own value wins.
    assert _connect_parameters("postgresql://tracker@db.invalid/tracker?connect_timeout=9"
                               )["connect_timeout"] == "9"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRACKER_PROGRAM_TIMEZONE", "Mars/Olympus", "time zone"),
        ("TRACKER_POLICY_2026_EFFECTIVE", "soon", "YYYY-MM-DD"),
        ("TRACKER_ENV", "staging", "TRACKER_ENV"),
        ("TRACKER_SESSION_IDLE_MINUTES", "0", "positive"),
        ("TRACKER_SESSION_ABSOLUTE_HOURS", "twelve", "positive"),
        ("TRACKER_DB_BUSY_TIMEOUT_SECONDS", "0", "positive"),
        ("TRACKER_DB_CONNECT_TIMEOUT_SECONDS", "-5", "positive"),
        ("TRACKER_DB_RETRY_AFTER_SECONDS", "soon", "positive"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_login_page_is_served(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Sign in</h1>" in page
    assert 'name="csrf_token"' in page
    assert '<label for="email">Email</label>' in page


def test_home_sends_anonymous_visitors_to_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


def test_health_check_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_check_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "db.sqlite3"
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k",
                      "DATABASE_URL": "sqlite:///" + str(missing)})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}


def test_unknown_page_is_a_generic_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"SECRET_KEY": "s" * 31}, "TRACKER_SECRET_KEY must be at least 32 bytes"),
    ({"SIGNATURE_KEY": None}, "TRACKER_SIGNATURE_KEY must be set"),
    ({"SIGNATURE_KEY": "g" * 31}, "TRACKER_SIGNATURE_KEY must be at least 32 bytes"),
    ({"SIGNATURE_KEY": "s" * 40}, "TRACKER_SIGNATURE_KEY must differ from TRACKER_SECRET_KEY"),
    ({"AUDIT_KEY": None}, "TRACKER_AUDIT_KEY must be set"),
    ({"AUDIT_KEY": "a" * 31}, "TRACKER_AUDIT_KEY must be at least 32 bytes"),
    ({"AUDIT_KEY": "g" * 32}, "TRACKER_AUDIT_KEY must differ from TRACKER_SIGNATURE_KEY"),
])
def test_production_refuses_weak_or_missing_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 overrides: dict[str, object],
                                                 message: str) -> None:
    for name in ("TRACKER_SECRET_KEY", "TRACKER_SIGNATURE_KEY", "TRACKER_AUDIT_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRACKER_ENV", "production")
    with pytest.raises(ConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path), **PRODUCTION_KEYS, **overrides})


def test_production_starts_with_its_own_keys(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_ENV", "production")
    monkeypatch.setenv("TRACKER_AUDIT_KEY", "e" * 32)
    from_environment = {k: v for k, v in PRODUCTION_KEYS.items() if k != "AUDIT_KEY"}
    app = create_app({"INSTANCE_PATH": str(tmp_path), **from_environment,
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "p.db")})
    assert app.config["SIGNATURE_KEYRING"].current == b"g" * 32
    assert app.config["AUDIT_KEYRING"].current == b"e" * 32
    app.extensions["tracker.db"].engine.dispose()


def test_keyrings_hold_old_keys_for_verifying_and_the_current_one_for_signing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_SIGNATURE_KEYS", "2025:old-signature-key, 2026:new-key")
    monkeypatch.setenv("TRACKER_SIGNATURE_KEY_ID", "2026")
    monkeypatch.setenv("TRACKER_AUDIT_KEYS", "1:old:audit:key")
    monkeypatch.setenv("TRACKER_AUDIT_KEY", "new-audit-key")
    monkeypatch.setenv("TRACKER_AUDIT_KEY_ID", "2")
    config = create_app({"INSTANCE_PATH": str(tmp_path)}).config
    signatures, audit = config["SIGNATURE_KEYRING"], config["AUDIT_KEYRING"]
    assert (signatures.current_id, signatures.current) == ("2026", b"new-key")
    assert signatures.key("2025") == b"old-signature-key"
    assert (audit.current_id, audit.current) == ("2", b"new-audit-key")
    assert audit.key("1") == b"old:audit:key" and audit.key("3") is None


@pytest.mark.parametrize(("env", "message"), [
    ({"TRACKER_SIGNATURE_KEYS": "nokey"}, "id:key"),
    ({"TRACKER_SIGNATURE_KEYS": "1:a", "TRACKER_SIGNATURE_KEY_ID": "2"}, "names no key"),
    ({"TRACKER_AUDIT_KEYS": "1:a", "TRACKER_AUDIT_KEY": "b"}, "another key"),
    ({"TRACKER_AUDIT_UNKEYED_EVENTS": "-1"}, "whole number"),
])
def test_bad_keyrings_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path)})
