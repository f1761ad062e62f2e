"""`tracker tokens create`: the server operator's way to bootstrap the first integrations. Its
help says so, and the audit trail records the command line as the token's creator."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.test_cli import env, run  # noqa: F401 - the fixture is used by name
from tracker.db import Database
from tracker.models import AuditEvent


def test_help_says_it_is_for_bootstrapping(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tokens", "create", "--help")
    out = " ".join(out.split())
    assert code == 0
    assert "bootstrapping the first integrations" in out
    assert "account page" in out and "re-entering their password" in out


def test_the_audit_trail_names_the_command_line_as_creator(
    env: str, capsys: pytest.CaptureFixture[str]  # noqa: F811 - the fixture
) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "users", "create", "--role", "prescriber", "--email", "doc@example.test",
               "--name", "Doc Smoke", "--npi", "1234567893")[0] == 0
    code, out, _ = run(capsys, "tokens", "create", "doc@example.test")
    assert code == 0
    db = Database(env)
    with db.transaction(writes=False) as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "token.created"))
        assert event.actor_id is None
        assert json.loads(event.new_values or "{}")["created_by"] == "system: tracker-cli"
        assert out.strip() not in (event.new_values or "")
    db.engine.dispose()
