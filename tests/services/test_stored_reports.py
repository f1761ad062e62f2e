"""Stored program reports: the whole report survives storage unchanged, a stored report is
served only when it is exactly the one asked (period, rule set, as of today) and then equals the
report counted live, and changes after it are counted from the audit trail."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import builders as b
from tests.builders import SIGNED
from tests.conftest import TODAY, Clock
from tests.report_history import DEC, build_history, day
from tracker.models import AuditEvent, StoredReport
from tracker.services import authorizations, stored_reports
from tracker.services.context import Context
from tracker.services.errors import Forbidden, Refused
from tracker.services.queries import report_json
from tracker.services.queries.program_report import (
    Period,
    Report,
    build_report,
    choose_period,
)
from tracker.services.queries.report_json import (
    UnreadableReport,
    report_from_json,
    report_to_json,
)
from tracker.services.stored_reports import (
    count_for_storage,
    refresh_periods,
    serve,
    store,
)
from tracker.web.report_tables import TABLES

PERIODS = [Period(DEC, TODAY), Period(day(4), day(6)),
           Period(date(2026, 11, 15), TODAY, "ipledge-2026"),
           Period(date(2026, 1, 1), date(2026, 11, 14), "ipledge-2023")]


@pytest.fixture
def history(ctx: Context, clock: Clock) -> dict[str, Any]:
    return build_history(ctx, clock)


@pytest.fixture
def reader(ctx: Context, history: dict[str, Any]) -> Context:
    return b.as_user(ctx, b.auditor(ctx))


def refresh(ctx: Context, period: Period) -> StoredReport:
    """What `tracker reports refresh` does for one period (`ctx` acts as the system)."""
    return store(ctx, count_for_storage(ctx, period))


def assert_same(served: Report, live: Report) -> None:
    """Equal field by field, of the same types, dicts in the same order; the same tables."""
    assert served == live
    for f in fields(Report):
        mine, theirs = getattr(served, f.name), getattr(live, f.name)
        assert type(mine) is type(theirs), f.name
        if isinstance(theirs, dict):
            assert list(mine) == list(theirs), f.name
    assert served.summary() == live.summary()
    assert list(served.summary()["monthly"]) == list(live.summary()["monthly"])
    for name, make in TABLES.items():
        assert make(served) == make(live), name


def test_the_layout_names_every_field_of_the_report() -> None:
    assert {f.name for f in fields(Report)} == report_json.FIELDS


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_a_report_goes_through_storage_unchanged(ctx: Context, reader: Context,
                                                 period: Period) -> None:
    live = build_report(reader, period)
    again = report_from_json(report_to_json(live))
    assert_same(again, live)


def test_every_kind_of_field_of_the_history_goes_through(reader: Context) -> None:
    """The December history fills each kind of field, so none passes through empty."""
    again = report_from_json(report_to_json(build_report(reader, Period(DEC, TODAY))))
    for counts in (again.test_to_authorization_days, again.authorization_to_dispense_days,
                   again.marking_refusals, again.counter_refusals):
        assert counts and all(isinstance(key, int) for key in counts)
    assert again.refusals and again.monthly["2026-12"]["dispenses"] == 2
    assert again.prescribers[0].issued == 4 and again.pharmacies[0].dispenses == 2


def test_text_of_another_layout_is_not_read() -> None:
    for text in ("not json", "[]", '{"format": 0}',
                 report_to_json(Report(Period(DEC, TODAY), TODAY)).replace('"format":1',
                                                                           '"format":2'),
                 report_to_json(Report(Period(DEC, TODAY), TODAY)).replace('"dispenses":0,', '')):
        with pytest.raises(UnreadableReport):
            report_from_json(text)


@pytest.mark.parametrize("period", PERIODS, ids=str)
def test_a_stored_report_is_served_and_equals_the_live_one(ctx: Context, reader: Context,
                                                           period: Period) -> None:
    refresh(ctx, period)
    served = serve(reader, period)
    assert served.stored and served.changes_since == 0
    assert_same(served.report, build_report(reader, period))
    assert serve(reader, period, live=True).stored is False


def test_a_change_after_the_refresh_is_counted_and_a_live_count_sees_it(
        ctx: Context, reader: Context, history: dict[str, Any], clock: Clock) -> None:
    period = Period(DEC, TODAY)
    refresh(ctx, period)
    before = build_report(reader, period)
    # A marking refused today: a patient enrolled 60 days ago, never counseled.
    d = b.as_user(ctx, history["doc"])
    patient = b.enrolled_patient(d, "cannot_get_pregnant", first="Late", last="Comer")
    rx = b.prescription(d, patient.id)
    with pytest.raises(Refused):
        authorizations.authorize(d, rx.id, signature=SIGNED)
    served = serve(reader, period)
    # The patient's registration, acknowledgment, prescription and the refusal.
    assert served.stored and served.changes_since == 4
    assert_same(served.report, before)  # still the numbers counted at the refresh
    live = serve(reader, period, live=True)
    assert not live.stored and live.changes_since is None
    assert live.report.refusal_events["authorization.refused"] == \
        before.refusal_events["authorization.refused"] + 1
    assert live.report != before
    refresh(ctx, period)
    again = serve(reader, period)
    assert again.stored and again.changes_since == 0
    assert_same(again.report, build_report(reader, period))
    assert ctx.session.scalar(select(func.count()).select_from(StoredReport)) == 1


def test_only_the_period_rule_set_and_day_counted_are_served(
        ctx: Context, reader: Context, clock: Clock) -> None:
    clock.set_day(TODAY - timedelta(days=1))
    refresh(ctx, Period(DEC, day(14)))
    clock.set_day(TODAY)
    assert not serve(reader, Period(DEC, day(14))).stored  # counted as of yesterday
    refresh(ctx, Period(DEC, TODAY))
    assert serve(reader, Period(DEC, TODAY)).stored
    for other in (Period(DEC, day(14)), Period(day(2), TODAY),
                  Period(DEC, TODAY, "ipledge-2026")):
        served = serve(reader, other)
        assert not served.stored and served.report.period == other
    refresh(ctx, Period(DEC, TODAY, "ipledge-2026"))
    assert serve(reader, Period(DEC, TODAY, "ipledge-2026")).stored
    assert serve(reader, Period(DEC, TODAY)).stored


def test_a_stored_report_of_another_layout_is_counted_live(ctx: Context,
                                                           reader: Context) -> None:
    row = refresh(ctx, Period(DEC, TODAY))
    row.report = row.report.replace('"format":1', '"format":0')
    ctx.session.flush()
    served = serve(reader, Period(DEC, TODAY))
    assert not served.stored and served.report == build_report(reader, Period(DEC, TODAY))


def test_the_refresh_is_audited_and_its_own_events_are_no_change(
        ctx: Context, reader: Context) -> None:
    periods = refresh_periods(ctx)
    for period in periods:
        refresh(ctx, period)
    events = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == stored_reports.REFRESHED).order_by(AuditEvent.id)).all()
    assert [e.object_id for e in events] == [
        "2026-01-01..2026-12-15", "2026-01-01..2026-11-14 ipledge-2023",
        "2026-11-15..2026-12-15 ipledge-2026"]
    assert events[0].actor_id is None and '"watermark":' in (events[0].new_values or "")
    for period in periods:
        served = serve(reader, period)
        assert served.stored and served.changes_since == 0


def test_the_default_periods_are_those_the_page_opens(ctx: Context) -> None:
    # ipledge-2021 ended in 2023, before the last twelve months.
    assert refresh_periods(ctx) == [choose_period(ctx, None, None)] + [
        choose_period(ctx, None, None, rule_set) for rule_set in ("ipledge-2023",
                                                                  "ipledge-2026")]
    assert [p.rule_set for p in refresh_periods(ctx)] == [None, "ipledge-2023", "ipledge-2026"]


def test_changes_are_counted_up_to_a_limit(ctx: Context, reader: Context,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored_reports, "CHANGES_COUNTED_UP_TO", 2)
    refresh(ctx, Period(DEC, TODAY))
    served = serve(reader, Period(DEC, TODAY))
    assert served.changes_since == 0 and not served.changes_beyond_count
    for _ in range(5):
        b.pharmacy(ctx)
    served = serve(reader, Period(DEC, TODAY))
    assert served.changes_since == 3 and served.changes_beyond_count


def test_only_the_system_stores_and_only_readers_are_served(
        ctx: Context, history: dict[str, Any], reader: Context) -> None:
    with pytest.raises(Forbidden):
        count_for_storage(b.as_user(ctx, history["admin"]), Period(DEC, TODAY))
    counted = count_for_storage(ctx, Period(DEC, TODAY))
    with pytest.raises(Forbidden):
        store(reader, counted)
    refresh(ctx, Period(DEC, TODAY))
    for user in (history["doc"], b.pharmacist(ctx)):
        with pytest.raises(Forbidden):
            serve(b.as_user(ctx, user), Period(DEC, TODAY))
    with pytest.raises(Forbidden):
        serve(ctx, Period(DEC, TODAY))  # the system stores; it reads no report
    assert serve(b.as_user(ctx, history["admin"]), Period(DEC, TODAY)).stored
