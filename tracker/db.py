"""Database plumbing: the declarative base, a UTC datetime type, the engine with SQLite's
settings, and the one session per request.

Services flush; the request (or CLI command) commits once. Rollback is the default."""

from __future__ import annotations

import contextvars
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# The largest value an id or a count column holds (PostgreSQL integer): ids in URLs and bodies
# beyond it name nothing that can exist.
INT_MAX = 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the Python side on every database: SQLite keeps naive values, so
    values are normalised to UTC going in and tagged as UTC coming out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    return datetime.now(UTC)


# Whether the transaction about to begin will write. SQLite takes its write lock at the first
# write of a deferred transaction, which fails with "database is locked" when another writer
# went first; BEGIN IMMEDIATE takes it up front so concurrent writers queue (busy_timeout).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)


@contextmanager
def write_intent(writes: bool) -> Iterator[None]:
    token = _write_intent.set(writes)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(writes: bool) -> contextvars.Token[bool]:
    return _write_intent.set(writes)


def reset_write_intent(token: contextvars.Token[bool]) -> None:
    _write_intent.reset(token)


# SQLite's per-connection settings beyond WAL and synchronous=NORMAL. None is set: measured
# by benchmarks/db_settings_bench.py at 100,000 patients (benchmarks/README.md), a 64 MiB page
# cache, a 1 GiB mmap_size, temp_store=MEMORY and all three together gave no gain beyond the
# noise (best of 4 rounds: eligibility 2.8 ms of CPU a request without them, 3.1-3.4 ms with;
# lookup 4.9 ms without, 5.5-5.6 ms with): the pages a request reads are few and stay in the
# operating system's cache, and a bigger page cache per connection costs memory in every
# connection of every process. The benchmark takes a dict here, to measure them again.
SQLITE_TUNING: dict[str, str] = {}

# psycopg 3: how many times a statement runs on a connection before it is prepared on the
# server (None: never; 0: at the first use). Kept at psycopg's 5, stated so it is not lost:
# the eligibility check's statements (a nine-arm UNION ALL among them) are then planned once
# per connection; without prepared statements it took 54-66 ms a request (wall, test client,
# 10,000 patients, a loaded machine) against 42-54 ms with them in the same rounds; the
# lookup, whose time is mostly its audit write, showed no difference beyond the noise, and
# preparing at the first use gained nothing more (benchmarks/README.md).
PG_PREPARE_THRESHOLD: int | None = 5


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own implicit
        # transactions would defer the write lock and break SAVEPOINT handling).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        for name, value in SQLITE_TUNING.items():
            cursor.execute(f"PRAGMA {name} = {value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


@contextmanager
def sqlite_bulk_journal(engine: Engine) -> Iterator[bool]:
    """SQLite: run one very large write transaction (the demo generator's gigabytes) with a
    rollback journal instead of the write-ahead log, then put the file back in WAL mode.

    In WAL mode every page of such a transaction is written twice, to the log and then by the
    checkpoint into the file, and the log's index grows with it; with a rollback journal the new
    pages go straight into the file, and only the pages that existed before are copied to the
    journal, so a crash or a rollback still leaves the database as it was (synchronous stays
    NORMAL). Switching needs the file to itself: when another connection is open the mode stays
    WAL and the load is only slower. Yields whether the switch was made. The pool hands the
    same connection back to the caller's transaction; one opened afterwards would take WAL again
    (the connect event), which is correct, only slower."""
    if engine.dialect.name != "sqlite":
        yield False
        return
    switched = _journal_mode(engine, "TRUNCATE") == "truncate"
    try:
        yield switched
    finally:
        if switched:
            _journal_mode(engine, "WAL")


def _journal_mode(engine: Engine, mode: str) -> str:
    raw = engine.raw_connection()
    try:
        # Outside any transaction (isolation_level None): SQLite refuses the change in one.
        try:
            row = raw.driver_connection.execute(  # type: ignore[union-attr]
                f"PRAGMA journal_mode = {mode}").fetchone()
        except sqlite3.OperationalError:
            return ""  # locked by another connection: the mode is unchanged
        return str(row[0]).lower() if row else ""
    finally:
        raw.close()


def create_private_file(path: str) -> None:
    """Create an empty file only its owner can read (0600) unless it exists: SQLite would
    create it with the umask's mode, readable by every local user on most systems."""
    import os

    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        return  # a missing folder is the connection's error to report, not ours to create
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # created in between by another process; its mode is that process's choice


BUSY_TIMEOUT_SECONDS = 30.0  # SQLite: how long a write waits for another writer's lock
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL: how long opening a connection may take


def make_engine(url: str, pool_size: int = 5, busy_timeout: float = BUSY_TIMEOUT_SECONDS,
                connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        # SQLite gives the -wal and -shm files the database file's mode.
        create_private_file(make_url(url).database or "")
        engine = create_engine(url, connect_args={"timeout": busy_timeout,
                                                  "check_same_thread": False})
        _configure_sqlite(engine, busy_timeout)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # A server that does not answer (a network drop, a failover in progress) fails the request
    # after connect_timeout instead of holding it; a connection URL's own value wins. Pooled
    # connections are pinged before use, so those a restart or pg_terminate_backend killed
    # are replaced without the request noticing.
    connect_args: dict[str, Any] = {"prepare_threshold": PG_PREPARE_THRESHOLD}
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = connect_timeout
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         connect_args=connect_args)


# PostgreSQL SQLSTATEs that mean the server is going away, not there yet, or refusing
# connections (a restart, a failover, pg_terminate_backend, too many clients), and the
# read-only error of a former primary that became a standby. Class 08 (connection
# exception) is matched by its prefix.
_UNAVAILABLE_SQLSTATES = frozenset({
    "57P01",  # admin_shutdown
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now
    "53300",  # too_many_connections
    "25006",  # read_only_sql_transaction
})


def database_unavailable(exc: BaseException) -> bool:
    """Whether the error means the database cannot be reached or used for a moment (the
    request may be sent again later), rather than a fault of the request or of the code: a
    lost or refused connection, a server shutting down or starting up, a pool with no free
    connection, or SQLite's write lock held past the busy timeout. Causes count too, so an
    error raised while handling a lost connection is classified by that loss."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if _unavailable_here(current):
            return True
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__)
        seen += 1
    return False


def _unavailable_here(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):
        return True  # every pooled connection is busy or being reconnected
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        # "database is locked": another writer kept the lock past the busy timeout.
        return getattr(orig, "sqlite_errorname", "").startswith("SQLITE_BUSY") or (
            "database is locked" in str(orig))
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError
                      | sa_exc.InternalError):
        return False
    if not _is_psycopg_error(orig):
        return False
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None:
        # psycopg gives no SQLSTATE when there is no server to give one: refused,
        # reset or closed connections.
        return not isinstance(exc, sa_exc.InternalError)
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def _is_psycopg_error(error: BaseException | None) -> bool:
    try:
        import psycopg  # the PostgreSQL driver; imported only once PostgreSQL is in use
    except ImportError:  # pragma: no cover - a dependency of tracker
        return False
    return isinstance(error, psycopg.Error)


class Database:
    """The engine and session factory of one app. Tests may bind the factory to a connection
    whose outer transaction they roll back (see tests/conftest.py)."""

    def __init__(self, url: str, pool_size: int = 5,
                 busy_timeout: float = BUSY_TIMEOUT_SECONDS,
                 connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size, busy_timeout, connect_timeout)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    def bind_to(self, connection: Any) -> None:
        self.sessions = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )

    def session(self) -> Session:
        return self.sessions()

    @contextmanager
    def transaction(self, writes: bool = True, snapshot: bool = False) -> Iterator[Session]:
        """One unit of work outside a request (CLI): commit on success, roll back otherwise.
        `snapshot`: every statement reads the same consistent snapshot of the data, and none
        writes (PostgreSQL: REPEATABLE READ, READ ONLY, taken at the first statement; SQLite's
        read transaction already is one in WAL mode)."""
        if snapshot and writes:
            raise ValueError("a snapshot transaction only reads")
        token = _write_intent.set(writes)
        session = self.sessions()
        try:
            if snapshot and self.engine.dialect.name == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                                      "postgresql_readonly": True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            _write_intent.reset(token)
