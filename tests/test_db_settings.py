"""The connection settings of tracker/db.py are the ones every connection really runs with:
SQLite's pragmas read back from a new connection, psycopg's prepared-statement threshold as
handed to the driver and as the connection holds it (benchmarks/db_settings_bench.py measures
what they are worth)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.test_app import _connect_parameters
from tracker import db
from tracker.db import make_engine

# PRAGMA reads answer numbers where the settings may be written as names.
_READ_BACK = {"temp_store": {"DEFAULT": 0, "FILE": 1, "MEMORY": 2}}


def _expected(name: str, value: str) -> object:
    if name in _READ_BACK:
        return _READ_BACK[name][value.upper()]
    return int(value)


def test_every_sqlite_connection_gets_the_settings(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'settings.sqlite3'}", busy_timeout=7)
    try:
        with engine.connect() as conn:
            def read(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert read("journal_mode") == "wal"
            assert read("synchronous") == 1  # NORMAL
            assert read("foreign_keys") == 1
            assert read("busy_timeout") == 7000
            for name, value in db.SQLITE_TUNING.items():
                assert read(name) == _expected(name, value), name
    finally:
        engine.dispose()


def test_changed_sqlite_tuning_reaches_new_connections(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # What the benchmark varies is what the connections get.
    monkeypatch.setattr(db, "SQLITE_TUNING", {"cache_size": "-4096", "temp_store": "MEMORY"})
    engine = make_engine(f"sqlite:///{tmp_path / 'tuned.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -4096
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2
    finally:
        engine.dispose()


def test_psycopg_gets_the_prepared_statement_threshold() -> None:
    params = _connect_parameters("postgresql://tracker@db.invalid/tracker")
    assert params["prepare_threshold"] == db.PG_PREPARE_THRESHOLD


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TRACKER_TEST_DATABASE_URL)")
def test_postgresql_connections_hold_the_threshold() -> None:
    assert PG_URL is not None
    engine = make_engine(PG_URL)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw.prepare_threshold == db.PG_PREPARE_THRESHOLD  # type: ignore[union-attr]
    finally:
        engine.dispose()
