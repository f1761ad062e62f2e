"""Which database errors mean "unavailable for a moment, send it again" (503) and which are
faults of the request or the code (their own answers, or 500)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError, TimeoutError

from tracker.db import database_unavailable, make_engine


def _refusing_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raised(engine_url: str, sql: str = "SELECT 1") -> BaseException:
    engine = make_engine(engine_url, connect_timeout=2)
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    except Exception as exc:  # noqa: BLE001 - the error under test
        return exc
    finally:
        engine.dispose()
    raise AssertionError("no error")


def _wrapped(orig: Exception, kind: type[OperationalError] | type[InternalError]
             = OperationalError) -> BaseException:
    return kind("SELECT 1", {}, orig)


def test_a_refused_postgresql_connection_is_unavailable() -> None:
    exc = _raised(f"postgresql://postgres@127.0.0.1:{_refusing_port()}/tracker")
    assert isinstance(exc, OperationalError)
    assert database_unavailable(exc)


@pytest.mark.parametrize("sqlstate", ["57P01", "57P02", "57P03", "08006", "08001", "53300",
                                      "25006"])
def test_a_server_going_away_or_refusing_is_unavailable(sqlstate: str) -> None:
    error = psycopg.errors.lookup(sqlstate)("server says no")
    kind = InternalError if sqlstate == "25006" else OperationalError
    assert database_unavailable(_wrapped(error, kind))


@pytest.mark.parametrize("sqlstate", ["55P03", "40001", "40P01", "57014", "42P01"])
def test_faults_of_one_transaction_are_not_unavailability(sqlstate: str) -> None:
    # A lock timeout, a serialization failure, a deadlock, a cancelled statement, a missing
    # table: the database is there, and the app answers them itself (or they are bugs).
    assert not database_unavailable(_wrapped(psycopg.errors.lookup(sqlstate)("no")))


def test_a_lost_connection_is_unavailable_whatever_its_error() -> None:
    lost = OperationalError("SELECT 1", {}, psycopg.errors.lookup("42P01")("x"),
                            connection_invalidated=True)
    assert database_unavailable(lost)


def test_sqlite_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    try:
        engine = make_engine(f"sqlite:///{path}", busy_timeout=0.05)
        with pytest.raises(OperationalError) as raised, engine.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        engine.dispose()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert database_unavailable(raised.value)


def test_other_sqlite_errors_are_not_unavailability(tmp_path: Path) -> None:
    assert not database_unavailable(_raised(f"sqlite:///{tmp_path / 'x.sqlite3'}",
                                            "SELECT * FROM no_such_table"))
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE u (x INTEGER UNIQUE)"))
        conn.execute(text("INSERT INTO u VALUES (1)"))
        with pytest.raises(IntegrityError) as raised:
            conn.execute(text("INSERT INTO u VALUES (1)"))
    engine.dispose()
    assert not database_unavailable(raised.value)


def test_a_pool_without_a_free_connection_is_unavailable() -> None:
    assert database_unavailable(TimeoutError("QueuePool limit reached"))


def _raised_while_handling(lost: BaseException, suppress: bool) -> BaseException:
    try:
        try:
            raise lost
        except OperationalError:
            if suppress:
                raise ValueError("an answer of its own") from None
            raise RuntimeError("rolling back failed")  # noqa: B904 - the implicit context
    except (RuntimeError, ValueError) as after:
        return after


def test_an_error_raised_while_handling_a_lost_connection_counts_as_the_loss() -> None:
    lost = _wrapped(psycopg.errors.lookup("57P01")("terminating connection"))
    assert database_unavailable(_raised_while_handling(lost, suppress=False))
    # `raise ... from None` says the earlier error does not explain the new one.
    assert not database_unavailable(_raised_while_handling(lost, suppress=True))
    assert not database_unavailable(ValueError("not a database error"))
