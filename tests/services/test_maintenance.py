"""`tracker maintenance purge`: what has stopped mattering goes, what is still in use stays."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests import builders
from tests.conftest import Clock
from tracker.models import AuditEvent, IdempotencyRecord, LoginAttempt, LoginSession
from tracker.services.auth import FORGET_AFTER, is_forgotten
from tracker.services.context import Context
from tracker.services.import_uploads import FOLDER, keep, kept_path
from tracker.services.maintenance import PurgeLimits, purge

LIMITS = PurgeLimits(session_idle=timedelta(minutes=15), session_absolute=timedelta(hours=12),
                     idempotency_retention=timedelta(hours=72))


def _session(ctx: Context, name: str, created_ago: timedelta, seen_ago: timedelta,
             ended: bool = False) -> None:
    now = ctx.now()
    ctx.session.add(LoginSession(id_hash=name.ljust(64, "0"), data="{}",
                                 created_at=now - created_ago, last_seen_at=now - seen_ago,
                                 ended_at=now - seen_ago if ended else None))


def _ids(ctx: Context, column) -> set[str]:  # type: ignore[no-untyped-def]
    return set(ctx.session.scalars(select(column)).all())


def test_ended_and_expired_sessions_go_live_ones_stay(ctx: Context) -> None:
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    _session(ctx, "ended", created_ago=hour, seen_ago=minute, ended=True)
    _session(ctx, "idle", created_ago=hour, seen_ago=16 * minute)
    _session(ctx, "tooold", created_ago=12 * hour + minute, seen_ago=minute)
    _session(ctx, "live", created_ago=11 * hour, seen_ago=14 * minute)
    report = purge(ctx, LIMITS)
    assert report.sessions == 3
    assert _ids(ctx, LoginSession.id_hash) == {"live".ljust(64, "0")}


def test_login_counters_go_once_the_throttle_has_forgotten_them(ctx: Context) -> None:
    now = ctx.now()
    long_ago = now - FORGET_AFTER - timedelta(minutes=1)
    rows = [
        # Forgotten: no failure (or wait) for more than FORGET_AFTER.
        LoginAttempt(key="account:old@example.test", failures=2, first_failure_at=long_ago),
        LoginAttempt(key="addr:192.0.2.1", failures=20, first_failure_at=long_ago,
                     locked_until=long_ago),
        # Still read by the back-off: a recent failure, a wait that ended lately, a wait running.
        LoginAttempt(key="account:recent@example.test", failures=3,
                     first_failure_at=now - FORGET_AFTER + timedelta(minutes=1)),
        LoginAttempt(key="account:waited@example.test", failures=6, first_failure_at=long_ago,
                     locked_until=now - timedelta(minutes=1)),
        LoginAttempt(key="account:waiting@example.test", failures=9, first_failure_at=long_ago,
                     locked_until=now + timedelta(minutes=1)),
    ]
    ctx.session.add_all(rows)
    ctx.session.flush()
    # The purge removes exactly what the throttle itself no longer reads.
    forgotten = {row.key for row in rows if is_forgotten(row, now)}
    assert forgotten == {"account:old@example.test", "addr:192.0.2.1"}
    report = purge(ctx, LIMITS)
    assert report.login_attempts == 2
    assert _ids(ctx, LoginAttempt.key) == {row.key for row in rows} - forgotten


def test_idempotency_answers_go_after_the_retention(ctx: Context) -> None:
    user = builders.prescriber(ctx)
    now = ctx.now()
    for key, age in (("expired", timedelta(hours=72, seconds=1)),
                     ("kept", timedelta(hours=71, minutes=59))):
        ctx.session.add(IdempotencyRecord(user_id=user.id, scope="POST /api/v1/x", key=key,
                                          request_hash="0" * 64, status_code=201,
                                          response_body="{}", created_at=now - age))
    ctx.session.flush()
    report = purge(ctx, LIMITS)
    assert report.idempotency_records == 1
    assert _ids(ctx, IdempotencyRecord.key) == {"kept"}


def test_a_purge_is_audited_with_its_counts(ctx: Context, clock: Clock) -> None:
    _session(ctx, "ended", created_ago=timedelta(hours=1), seen_ago=timedelta(minutes=1),
             ended=True)
    purge(ctx, LIMITS)
    event = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "maintenance.purged")).one()
    assert json.loads(event.new_values or "{}") == {
        "sessions": 1, "login_attempts": 0, "idempotency_records": 0, "form_drafts": 0,
        "cds_jwt_ids": 0, "import_uploads": 0}
    assert event.occurred_at == clock.now


def test_import_uploads_never_confirmed_go_after_their_retention(
        ctx: Context, tmp_path: Path) -> None:
    instance = str(tmp_path)
    now = ctx.now().timestamp()
    ages = {"a" * 64: timedelta(hours=24, seconds=1), "b" * 64: timedelta(hours=23, minutes=59),
            "c" * 64: timedelta(days=30)}
    for sha256, age in ages.items():
        keep(instance, sha256, b'{"external_id": "x"}\n')
        os.utime(kept_path(instance, sha256), (now - age.total_seconds(),) * 2)
    other = tmp_path / FOLDER / "notes.txt"  # not an upload: never touched
    other.write_text("kept")
    os.utime(other, (now - 86400 * 30,) * 2)
    report = purge(ctx, LIMITS, instance)
    assert report.import_uploads == 2
    assert sorted(p.name for p in (tmp_path / FOLDER).iterdir()) == [f"{'b' * 64}.jsonl",
                                                                    "notes.txt"]
    shorter = PurgeLimits(LIMITS.session_idle, LIMITS.session_absolute,
                          LIMITS.idempotency_retention, timedelta(hours=1))
    assert purge(ctx, shorter, instance).import_uploads == 1
    assert purge(ctx, LIMITS).import_uploads == 0  # no instance folder given: files stay


def test_without_an_upload_folder_nothing_is_removed(ctx: Context, tmp_path: Path) -> None:
    assert purge(ctx, LIMITS, str(tmp_path / "nowhere")).import_uploads == 0
