"""The migrations are the schema: no drift, and they go down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from tracker.db import make_engine
from tracker.migrate import alembic_config, downgrade, upgrade
from tracker.models import Base


def test_every_model_is_created_by_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert set(Base.metadata.tables) <= tables


def test_alembic_check_finds_no_drift(database_url: str) -> None:
    command.check(alembic_config(database_url))


def test_upgrade_downgrade_upgrade(fresh_database: str) -> None:
    downgrade(fresh_database, "base")
    engine = make_engine(fresh_database)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(fresh_database)
    engine = make_engine(fresh_database)
    with engine.connect() as conn:
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    engine.dispose()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET action = 'tampered'",
    "DELETE FROM audit_events",
])
def test_audit_trail_refuses_update_and_delete(fresh_database: str, statement: str) -> None:
    engine = make_engine(fresh_database)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO audit_events (occurred_at, action, object_type, prev_hash, hash) "
            "VALUES (CURRENT_TIMESTAMP, 'test', 'test', :p, :h)"
        ), {"p": "0" * 64, "h": "1" * 64})
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_events")).scalar_one() == "test"
    engine.dispose()


def test_a_cds_client_keeps_its_prescriber_across_56d46fd93ba7(fresh_database: str) -> None:
    """One prescriber per client becomes a list of prescribers, and back."""
    downgrade(fresh_database, "7a2f4c9d1b36")
    engine = make_engine(fresh_database)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, email, name, role, active, must_change_password, npi, "
            "home_testing_permitted, created_at) VALUES (41, 'doc@example.test', 'Doc', "
            "'prescriber', true, false, '1234567893', false, CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO cds_clients (id, issuer, public_key, prescriber_id, created_at) "
            "VALUES (7, 'https://ehr.example.test', 'key', 41, CURRENT_TIMESTAMP)"))
    engine.dispose()
    upgrade(fresh_database, "56d46fd93ba7")
    engine = make_engine(fresh_database)
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT client_id, prescriber_id FROM cds_client_prescribers")).all() == [(7, 41)]
    engine.dispose()
    downgrade(fresh_database, "7a2f4c9d1b36")
    engine = make_engine(fresh_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, prescriber_id FROM cds_clients")).all() == [(7, 41)]
    engine.dispose()
    upgrade(fresh_database)


def test_stored_reports_go_down_and_come_back_with_5b0c7e31d9a4(fresh_database: str) -> None:
    """The stored reports hold nothing that is not counted again: down drops the table, up
    brings it back empty, and its period is unique for a named rule set."""
    engine = make_engine(fresh_database)
    row = ("INSERT INTO stored_reports (first_day, last_day, rule_set, as_of, counted_at, "
           "watermark, milliseconds, report) VALUES ('2026-01-01', '2026-12-01', "
           "'ipledge-2026', '2026-12-01', CURRENT_TIMESTAMP, 7, 1200, '{}')")
    with engine.begin() as conn:
        conn.execute(text(row))
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text(row))
    engine.dispose()
    downgrade(fresh_database, "35e7da270ab3")
    engine = make_engine(fresh_database)
    with engine.connect() as conn:
        assert "stored_reports" not in inspect(conn).get_table_names()
    engine.dispose()
    upgrade(fresh_database)
    engine = make_engine(fresh_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stored_reports")).scalar_one() == 0
    engine.dispose()
