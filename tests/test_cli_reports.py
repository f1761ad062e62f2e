"""`tracker reports refresh`: the nightly job that stores the program reports people open. Each
is counted on one snapshot of the data (a write committed meanwhile is neither counted nor
before its watermark), stored, audited, and then served equal to the live count."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select, text

from tests.conftest import PG_URL
from tests.test_cli import env, run  # noqa: F401 - the fixture is used by name
from tracker import cli
from tracker.db import Database
from tracker.models import AuditEvent, Role, StoredReport, User
from tracker.services.context import Actor, Context
from tracker.services.pharmacies import create_pharmacy
from tracker.services.queries import program_report
from tracker.services.queries.program_report import Period, build_report
from tracker.services.stored_reports import REFRESHED, refresh_periods, serve


def as_auditor(ctx: Context) -> Context:
    auditor = ctx.session.scalars(select(User).where(User.role == Role.AUDITOR)).first()
    assert auditor is not None
    return dataclasses.replace(ctx, actor=Actor(user_id=auditor.id, role=Role.AUDITOR,
                                                name=auditor.name))


def stored_rows(url: str) -> tuple[int, int]:
    """(stored reports, refresh events) in the database."""
    db = Database(url)
    with db.transaction(writes=False) as s:
        rows = s.scalar(select(func.count()).select_from(StoredReport)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == REFRESHED)) or 0
    db.engine.dispose()
    return rows, events


def test_the_periods_people_open_are_stored_audited_and_served_as_counted_live(
        env: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811 - the fixture
    assert run(capsys, "demo")[0] == 0
    code, out, err = run(capsys, "reports", "refresh")
    assert code == 0, err
    with cli._context(writes=False) as ctx:
        periods = refresh_periods(ctx)
        reader = as_auditor(ctx)
        for period in periods:
            served = serve(reader, period)
            assert served.stored and served.changes_since == 0
            assert served.report == build_report(reader, period)
    assert len(periods) >= 2 and periods[0].rule_set is None
    lines = out.strip().splitlines()
    assert len(lines) == len(periods)
    for line, period in zip(lines, periods, strict=True):
        assert line.startswith(f"{period.rule_set or 'every rule set'}, "
                               f"{period.first.isoformat()} to {period.last.isoformat()}, as of ")
        assert " counted in " in line and line.endswith("; stored")
    assert stored_rows(env) == (len(periods), len(periods))
    # Again: each period's row is replaced, the trail still verifies.
    assert run(capsys, "reports", "refresh")[0] == 0
    assert stored_rows(env) == (len(periods), 2 * len(periods))
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and "intact" in out
    db = Database(env)
    with db.transaction(writes=False) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == REFRESHED)
                          .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.actor_id is None and event.actor_role is None
        values = json.loads(event.new_values or "{}")
        assert set(values) == {"from", "to", "rule_set", "as_of", "counted_at", "watermark",
                               "milliseconds"}
    db.engine.dispose()


def test_one_period_with_options(env: str,  # noqa: F811 - the fixture
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "reports", "refresh", "--from", "2026-11-01", "--to",
                         "2026-11-30", "--rule-set", "ipledge-2026")
    assert code == 0, err
    assert out.startswith("ipledge-2026, 2026-11-15 to 2026-11-30, as of ")
    assert stored_rows(env) == (1, 1)
    with cli._context(writes=False) as ctx:
        row = ctx.session.scalars(select(StoredReport)).one()
        assert (row.first_day.isoformat(), row.last_day.isoformat(), row.rule_set) == (
            "2026-11-15", "2026-11-30", "ipledge-2026")
        assert row.as_of == ctx.today()


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "soon"], "--from must be a date YYYY-MM-DD"),
    (["--to", "2999-01-01"], "--to: The period ends today"),
    (["--from", "2026-11-10", "--to", "2026-11-01"], "--from: The period starts on or before"),
    (["--from", "2010-01-01", "--to", "2026-11-01"], "--from: The period starts on 2021-12-13"),
    (["--rule-set", "ipledge-1999"], "--rule-set: Choose one of ipledge-2021"),
    (["--rule-set", " "], "--rule-set names a rule set"),
    (["--from", "2026-01-01", "--to", "2026-06-30", "--rule-set", "ipledge-2021"],
     "--rule-set: The rule set ipledge-2021 was not in force in the period."),
    (["--every"], "No such option"),
])
def test_bad_options_are_one_line_non_zero_and_store_nothing(
        env: str, capsys: pytest.CaptureFixture[str],  # noqa: F811 - the fixture
        argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "reports", "refresh", *argv)
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert stored_rows(env) == (0, 0)


def test_each_report_is_counted_on_one_snapshot(
        env: str, capsys: pytest.CaptureFixture[str],  # noqa: F811 - the fixture
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pharmacy created and committed while the first report is being counted: that report
    holds neither the pharmacy nor its audit event, and says one change came after it; the
    reports counted afterwards hold it."""
    assert run(capsys, "users", "create", "--role", "auditor", "--email", "aud@example.test",
               "--name", "Aud Itor")[0] == 0
    measures = program_report.MEASURES
    created: list[int] = []

    def first_measure_then_a_write(ctx: Context, report: program_report.Report) -> None:
        measures[0](ctx, report)
        if not created:
            with cli._context() as other:  # another connection, committed here
                created.append(create_pharmacy(other, "Night Owl Pharmacy", "7654321").id)

    monkeypatch.setattr(program_report, "MEASURES", (first_measure_then_a_write,) + measures[1:])
    assert run(capsys, "reports", "refresh")[0] == 0
    monkeypatch.setattr(program_report, "MEASURES", measures)
    with cli._context(writes=False) as ctx:
        reader = as_auditor(ctx)
        created_event = ctx.session.scalar(select(AuditEvent.id).where(
            AuditEvent.action == "pharmacy.created"))
        rows = ctx.session.scalars(select(StoredReport).order_by(StoredReport.id)).all()
        first = rows[0]
        assert first.rule_set is None and first.watermark < (created_event or 0)
        served = serve(reader, Period(first.first_day, first.last_day))
        assert served.stored and served.changes_since == 1
        assert created[0] not in {p.id for p in served.report.pharmacies}
        assert served.report.pharmacies == []  # none existed before
        for row in rows[1:]:
            later = serve(reader, Period(row.first_day, row.last_day, row.rule_set))
            assert later.stored and later.changes_since == 0
            assert [p.id for p in later.report.pharmacies] == created
    live = serve(reader, Period(first.first_day, first.last_day), live=True)
    assert [p.id for p in live.report.pharmacies] == created


def test_the_counting_transaction_is_a_read_only_snapshot(env: str) -> None:  # noqa: F811
    database = Database(env)
    try:
        with pytest.raises(ValueError, match="only reads"), \
                database.transaction(writes=True, snapshot=True):
            pass
        if not PG_URL:
            return  # SQLite: test_each_report_is_counted_on_one_snapshot shows its snapshot
        with database.transaction(writes=False, snapshot=True) as s:
            assert s.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
            assert s.execute(text("SHOW transaction_read_only")).scalar() == "on"
        with database.transaction(writes=False) as s:  # the pool's next user: as before
            assert s.execute(text("SHOW transaction_isolation")).scalar() == "read committed"
            assert s.execute(text("SHOW transaction_read_only")).scalar() == "off"
    finally:
        database.engine.dispose()


def test_help_says_it_is_the_nightly_job(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "reports", "refresh", "--help")
    out = " ".join(out.split())
    assert code == 0 and "nightly job" in out and "one consistent snapshot" in out


def test_a_failing_count_is_one_line_and_keeps_the_reports_before_it(
        env: str, capsys: pytest.CaptureFixture[str],  # noqa: F811 - the fixture
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from tracker.services import stored_reports

    counting = stored_reports.count_for_storage
    calls: list[Period] = []

    def second_one_fails(ctx: Context, period: Period):  # type: ignore[no-untyped-def]
        calls.append(period)
        if len(calls) == 2:
            raise OperationalError("SELECT ...", {}, Exception("the server went away"))
        return counting(ctx, period)

    monkeypatch.setattr(stored_reports, "count_for_storage", second_one_fails)
    code, out, err = run(capsys, "reports", "refresh")
    assert code != 0 and len(out.strip().splitlines()) == 1
    assert len(err.strip().splitlines()) == 1
    assert "failed (" in err and "the server went away" in err
    assert "nothing was stored for it (1 report(s) before it were)" in err
    assert stored_rows(env) == (1, 1)
