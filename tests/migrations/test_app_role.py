"""PostgreSQL: the app's own login role, granted by `tracker db grant-app-role`, reads and
writes the records, appends to the audit trail, and is refused everything else on it: DELETE,
UPDATE, TRUNCATE and ALTER TABLE ... DISABLE TRIGGER (it does not own the table)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests import builders
from tests.conftest import PG_URL
from tracker.cli import main
from tracker.db import Database, make_engine
from tracker.keyring import DEVELOPMENT_AUDIT_KEYS
from tracker.services import patients
from tracker.services.audit import verify_chain
from tracker.services.context import Actor, Context

pytestmark = pytest.mark.skipif(not PG_URL, reason="roles and grants are PostgreSQL's")


@pytest.fixture
def app_role(fresh_database: str) -> Iterator[tuple[str, str]]:
    """A login role of the test's own; (its name, the URL connecting as it)."""
    role = "tracker_app_" + uuid.uuid4().hex[:8]
    owner = make_engine(fresh_database)
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    url = make_url(fresh_database).set(username=role, password=None)
    try:
        yield role, url.render_as_string(hide_password=False)
    finally:
        with owner.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        owner.dispose()


@pytest.mark.parametrize("statement", [
    "DELETE FROM audit_events",
    "UPDATE audit_events SET action = 'tampered'",
    "TRUNCATE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER USER",
    "DROP TRIGGER audit_events_append_only ON audit_events",
])
def test_app_role_may_append_to_the_audit_trail_and_nothing_more(
        app_role: tuple[str, str], fresh_database: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], statement: str) -> None:
    role, url = app_role
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh_database)
    monkeypatch.setenv("TRACKER_SECRET_KEY", "app-role-test-secret")
    assert main(["db", "grant-app-role", role]) == 0, capsys.readouterr().err
    database = Database(url)
    try:
        with database.transaction() as session:  # the app's work: records and their audit
            ctx = Context(session=session, actor=Actor.system("test"))
            doc = builders.as_user(ctx, builders.prescriber(ctx))
            patients.register_patient(doc, "Alex", "Rivera", date(1995, 4, 2),
                                      "can_get_pregnant")
        with pytest.raises(ProgrammingError, match="permission denied|must be owner"), \
                database.engine.begin() as conn:
            conn.execute(text(statement))
        with database.transaction(writes=False) as session:
            report = verify_chain(session, DEVELOPMENT_AUDIT_KEYS)
            assert report.ok and report.events >= 2
    finally:
        database.engine.dispose()


def test_grant_refuses_a_role_name_that_is_not_plain(
        fresh_database: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh_database)
    monkeypatch.setenv("TRACKER_SECRET_KEY", "app-role-test-secret")
    assert main(["db", "grant-app-role", "app; DROP TABLE users"]) == 1
    assert "not a plain role name" in capsys.readouterr().err
