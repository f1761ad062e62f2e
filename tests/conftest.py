"""Test fixtures shared by every layer.

The schema is built by running the migrations. Each test runs inside a transaction that is
rolled back at the end; the app's sessions join it through SAVEPOINTs, so a request's commit
stays inside the test. Tests that need real commits (threads, servers) use `fresh_database`.

`pytest` runs on SQLite; with TRACKER_TEST_DATABASE_URL set to a PostgreSQL URL the same suite
runs there (its public schema is dropped and rebuilt first: point it at a test database only).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from tracker import create_app
from tracker.db import Database, make_engine
from tracker.keyring import Keyring
from tracker.migrate import upgrade
from tracker.services.audit import chain_pending_events
from tracker.services.context import Actor, Context

PG_URL = os.environ.get("TRACKER_TEST_DATABASE_URL")
EASTERN = ZoneInfo("America/New_York")
TODAY = date(2026, 12, 15)  # the program date tests run on, unless they set their own


def eastern_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), EASTERN).astimezone(UTC)


class Clock:
    """A settable clock: tests move time instead of waiting for it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set_day(self, day: date) -> None:
        self.now = eastern_noon(day)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    """A connection to the server's `postgres` database, for CREATE and DROP DATABASE."""
    return create_engine(
        _pg_admin_url(url).replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )


@contextmanager
def _worker_database(url: str, worker: str) -> Iterator[str]:
    """The database of one of pytest-xdist's worker processes: the given database's name with
    the worker's (`test_gw0`), created for the run and dropped after it, so that workers never
    reset each other's schema."""
    name = f"{make_url(url).database}_{worker}"
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if PG_URL and worker:
        with _worker_database(PG_URL, worker) as url:
            upgrade(url)
            yield url
        return
    if PG_URL:
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    upgrade(url)
    yield url


def app_config(url: str, instance: Path, **extra: object) -> dict[str, object]:
    return {
        "DATABASE_URL": url,
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SIGNATURE_KEY": "test-signature-key",
        "ARGON2_FAST": True,
        "INSTANCE_PATH": str(instance),
        **extra,
    }


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock(eastern_noon(TODAY))


@pytest.fixture(autouse=True)
def _reset_clock(request: pytest.FixtureRequest) -> None:
    if "clock" in request.fixturenames:
        request.getfixturevalue("clock").set_day(TODAY)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory,
        clock: Clock) -> Iterator[Flask]:
    app = create_app(app_config(database_url, tmp_path_factory.mktemp("instance"), CLOCK=clock))
    yield app
    app.extensions["tracker.db"].engine.dispose()


@pytest.fixture
def connection(app: Flask) -> Iterator[Connection]:
    """The test's outer transaction; everything the test and its requests write is undone."""
    database: Database = app.extensions["tracker.db"]
    original = database.sessions
    conn = database.engine.connect()
    outer = conn.begin()
    database.bind_to(conn)
    try:
        yield conn
    finally:
        database.sessions = original
        outer.rollback()
        conn.close()


@pytest.fixture
def db(app: Flask, connection: Connection) -> Iterator[Session]:
    """The test's own session. What a test writes with it stands for work committed before its
    requests: its audit events, which a commit would append, are appended before each request
    (the app's sessions share the connection, not this session's queue)."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)

    def append_events(_sender: Flask, **_extra: object) -> None:
        chain_pending_events(session)

    request_started.connect(append_events, app)
    yield session
    request_started.disconnect(append_events, app)
    session.close()


@pytest.fixture
def ctx(db: Session, clock: Clock) -> Context:
    """A service context acting as the system; builders switch the actor as needed."""
    return Context(session=db, actor=Actor.system("test"),
                   signature_keys=Keyring.single(b"test-signature-key"), clock=clock)


@pytest.fixture
def client(app: Flask, connection: Connection) -> FlaskClient:
    return app.test_client()


def _pg_admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, migrated, with real commits; dropped afterwards."""
    if PG_URL:
        name = "tracker_t_" + uuid.uuid4().hex[:10]
        admin = _admin_engine(PG_URL)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        try:
            upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
    else:
        url = "sqlite:///" + str(tmp_path / "fresh.sqlite3")
        upgrade(url)
        yield url


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on a page (tests keep CSRF on and send it)."""
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, email: str, password: str) -> None:
    """Sign in through the login form, CSRF token included."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def take_screen_back(client: FlaskClient, password: str) -> None:
    """End the comprehension hand-over: the clinic re-enters the signed-in user's password."""
    page = client.get("/handover/end").get_data(as_text=True)
    response = client.post("/handover/end", data={"password": password,
                                                  "csrf_token": csrf_token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def post_form(client: FlaskClient, url: str, data: dict[str, object], page_url: str | None = None,
              **kw: object):  # type: ignore[no-untyped-def]
    """Open the page with the form (page_url, default url), then submit it with its token."""
    page = client.get(page_url or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token(page)}, **kw)  # type: ignore[arg-type]


def shown_again(client: FlaskClient, response, page_path: str):  # type: ignore[no-untyped-def]
    """A form that was not accepted (Post/Redirect/Get): the POST answers 303 to the page that
    shows the form (`page_path`, where * stands for a part made up when sent), whose GET
    (returned) shows it again with what was typed and why."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert fnmatchcase(urlsplit(location).path, page_path), location
    again = client.get(location)
    assert again.status_code == 200, again.get_data(as_text=True)[:2000]
    return again


@pytest.fixture
def api(app: Flask, connection: Connection):  # type: ignore[no-untyped-def]
    """Call the JSON API with a user's bearer token: api(user).post(path, json=...)."""
    from tracker.services.tokens import create_token

    class _Api:
        def __init__(self, token: str) -> None:
            self.client = app.test_client()
            self.headers = {"Authorization": "Bearer " + token}

        def __getattr__(self, method: str):  # type: ignore[no-untyped-def]
            call = getattr(self.client, method)

            def send(path: str, **kw: object):  # type: ignore[no-untyped-def]
                headers = {**self.headers, **kw.pop("headers", {})}  # type: ignore[dict-item]
                return call("/api/v1" + path, headers=headers, **kw)

            return send

    def for_user(ctx: Context, user: object) -> _Api:
        return _Api(create_token(ctx, user))  # type: ignore[arg-type]

    return for_user


class QueryCounter:
    """Counts the SQL statements sent on a connection (savepoint bookkeeping excluded)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn, _cursor, statement: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(connection: Connection):  # type: ignore[no-untyped-def]
    """`with count_queries() as q: ...; q.count` — statements sent inside the block."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():  # type: ignore[no-untyped-def]
        counter = QueryCounter()
        event.listen(connection, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(connection, "before_cursor_execute", counter)

    return counting
