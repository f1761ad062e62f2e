"""The program report costs a fixed number of SQL statements, whatever the number of
patients, prescribers, pharmacies or the length of the period: each measure is one aggregate
statement, its rows per day, prescriber or pharmacy, never per patient."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests import builders as b
from tests.conftest import TODAY, Clock
from tests.report_history import build_history
from tracker.bulkdemo import generate_patients
from tracker.services.audit import chain_pending_events
from tracker.services.context import Context
from tracker.services.queries.program_report import Period, build_report
from tracker.services.stored_reports import count_for_storage, serve, store

# One statement per measure (docs/reports.md): active patients, enrollments, authorizations,
# dispenses, refusals, confirmation test to authorization, comprehension, positive tests,
# prescribers (the people and their counts), pharmacies (the pharmacies and their counts).
REPORT_BUDGET = 12
# The API adds the token's look-up and, once a minute, its last use (measured after a first
# identical request).
SUMMARY_BUDGET = REPORT_BUDGET + 2
# A stored report: its row, and the audit events after its watermark (counted up to a limit).
STORED_BUDGET = 2
STORED_SUMMARY_BUDGET = STORED_BUDGET + 2
PERIODS = [Period(date(2026, 12, 1), TODAY), Period(date(2025, 1, 1), TODAY)]


def _statements(count_queries, run) -> int:  # type: ignore[no-untyped-def]
    with count_queries() as q:
        run()
    return q.count


@pytest.fixture
def reader(ctx: Context, clock: Clock) -> Any:
    build_history(ctx, clock)
    return b.auditor(ctx)


def test_the_report_is_a_fixed_number_of_statements_whatever_the_population(
        ctx: Context, reader: Any, count_queries) -> None:  # type: ignore[no-untyped-def]
    as_reader = b.as_user(ctx, reader)
    counts = []
    for population in ("small", "large"):
        if population == "large":
            generate_patients(ctx, 300, seed=8)
            ctx.session.flush()
        # The history's audit events in the table, as committed work's would be (the report
        # reads the refusals from it, which would append them first, inside the count).
        chain_pending_events(ctx.session)
        for period in PERIODS:
            counts.append(_statements(count_queries, lambda p=period: build_report(as_reader, p)))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= REPORT_BUDGET


def test_the_summary_api_is_a_fixed_number_of_statements(
        ctx: Context, reader: Any, api, count_queries) -> None:  # type: ignore[no-untyped-def]
    client = api(ctx, reader)
    counts = []
    url = "/reports/summary?from=2025-01-01&to=2026-12-15"
    for population in ("small", "large"):
        if population == "large":
            generate_patients(ctx, 300, seed=9)
            ctx.session.flush()
        assert client.get(url).status_code == 200
        counts.append(_statements(count_queries, lambda: client.get(url)))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= SUMMARY_BUDGET


def test_a_stored_report_is_served_in_a_fixed_number_of_statements(
        ctx: Context, reader: Any, count_queries) -> None:  # type: ignore[no-untyped-def]
    as_reader = b.as_user(ctx, reader)
    counts = []
    for population in ("small", "large"):
        if population == "large":
            generate_patients(ctx, 300, seed=10)
            ctx.session.flush()
        for period in PERIODS:
            store(ctx, count_for_storage(ctx, period))
            served: list[bool] = []
            counts.append(_statements(
                count_queries,
                lambda p=period, out=served: out.append(serve(as_reader, p).stored)))
            assert served == [True]
    assert len(set(counts)) == 1, counts
    assert counts[0] <= STORED_BUDGET


def test_the_summary_api_serves_a_stored_report_in_a_fixed_number_of_statements(
        ctx: Context, reader: Any, api, count_queries) -> None:  # type: ignore[no-untyped-def]
    client = api(ctx, reader)
    counts = []
    url = "/reports/summary?from=2025-01-01&to=2026-12-15"
    for population in ("small", "large"):
        if population == "large":
            generate_patients(ctx, 300, seed=11)
            ctx.session.flush()
        store(ctx, count_for_storage(ctx, Period(date(2025, 1, 1), TODAY)))
        assert client.get(url).get_json()["stored"] is True
        counts.append(_statements(count_queries, lambda: client.get(url)))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= STORED_SUMMARY_BUDGET
