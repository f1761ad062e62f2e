"""Program reports counted ahead and served instantly (docs/reports.md "Stored reports").

The nightly job (`tracker reports refresh`) counts the periods people open, each on one
consistent snapshot of the data, and stores the whole report with the audit trail's last event
id of that snapshot (its watermark). The page, its CSV files and the API serve a stored report
only when it is exactly what was asked: the same period and rule set, counted as of the same
program date (several measures are as of today). Since every write of the app appends an audit
event, "no event after the watermark" means the data is what was counted; otherwise the page
says how many events came after it and offers a live count."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select

from tracker.models import AuditEvent, StoredReport
from tracker.services.audit import chain_pending_events, record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, ValidationFailed
from tracker.services.queries.program_report import (
    Period,
    Report,
    choose_period,
    count_report,
    require_reader,
)
from tracker.services.queries.report_json import (
    UnreadableReport,
    report_from_json,
    report_to_json,
)

REFRESHED = "report.refreshed"
# Events after a watermark are counted up to here (one short index range, whatever the trail's
# length); beyond it the page says "more than".
CHANGES_COUNTED_UP_TO = 1000


@dataclass(frozen=True)
class Counted:
    """A report counted on one snapshot, with that snapshot's last audit event id."""

    report: Report
    watermark: int
    counted_at: datetime
    milliseconds: int


@dataclass(frozen=True)
class Served:
    """The report a reader gets: the stored one, or one counted live just now."""

    report: Report
    stored: bool
    counted_at: datetime
    # Stored only: audit events after its watermark (the refresh's own aside), counted up to
    # CHANGES_COUNTED_UP_TO + 1.
    changes_since: int | None = None

    @property
    def changes_beyond_count(self) -> bool:
        return (self.changes_since or 0) > CHANGES_COUNTED_UP_TO


def require_system(ctx: Context) -> None:
    if ctx.actor.user_id is not None:
        raise Forbidden("Stored reports are counted by the server's nightly job "
                        "(`tracker reports refresh`).")


def refresh_periods(ctx: Context) -> list[Period]:
    """The periods people open: the page's default period for every rule set, and for each
    rule set in force during it (clipped to its days, as the page clips it)."""
    periods = [choose_period(ctx, None, None)]
    for policy in ctx.rule_sets:
        try:
            periods.append(choose_period(ctx, None, None, policy.id))
        except ValidationFailed as exc:
            if set(exc.errors) != {"rule_set"}:
                raise
            # Not in force during the default period: nobody opens it there.
    return periods


def last_event_id(ctx: Context) -> int:
    """The audit trail's last event id as the transaction sees it (0: no event yet)."""
    return int(ctx.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))) or 0)


def count_for_storage(ctx: Context, period: Period) -> Counted:
    """Count `period` for storage. The caller runs this in a transaction that reads one
    snapshot (tracker.db.Database.transaction(snapshot=True)), so the watermark read first and
    every measure after it see the same data."""
    require_system(ctx)
    counted_at = ctx.now()
    started = time.perf_counter()
    watermark = last_event_id(ctx)
    report = count_report(ctx, period)
    return Counted(report, watermark, counted_at,
                   round((time.perf_counter() - started) * 1000))


def store(ctx: Context, counted: Counted) -> StoredReport:
    """Keep `counted` as the stored report of its period and rule set, replacing the one
    before; audited. The audit event is appended first: from then until the commit, the
    chain's lock (PostgreSQL) or the write transaction (SQLite) lets one refresh at a time
    replace a period's row (the unique constraint cannot: "every rule set" is NULL)."""
    require_system(ctx)
    p = counted.report.period
    record_event(ctx, REFRESHED, "stored_report", period_key(p), new={
        "from": p.first, "to": p.last, "rule_set": p.rule_set, "as_of": counted.report.as_of,
        "counted_at": counted.counted_at, "watermark": counted.watermark,
        "milliseconds": counted.milliseconds})
    chain_pending_events(ctx.session)
    ctx.session.execute(delete(StoredReport).where(_same_period(p))
                        .execution_options(synchronize_session=False))
    row = StoredReport(first_day=p.first, last_day=p.last, rule_set=p.rule_set,
                       as_of=counted.report.as_of, counted_at=counted.counted_at,
                       watermark=counted.watermark, milliseconds=counted.milliseconds,
                       report=report_to_json(counted.report))
    ctx.session.add(row)
    ctx.session.flush()
    return row


def period_key(period: Period) -> str:
    """How the audit trail names a stored report: its days and rule set."""
    key = f"{period.first.isoformat()}..{period.last.isoformat()}"
    return f"{key} {period.rule_set}" if period.rule_set else key


def serve(ctx: Context, period: Period, live: bool = False) -> Served:
    """The report of `period` for a reader: the stored one when it was counted for exactly
    this period and rule set as of today (and `live` is not asked), else counted now."""
    require_reader(ctx)
    if not live:
        row = ctx.session.execute(
            select(StoredReport.report, StoredReport.counted_at, StoredReport.watermark)
            .where(_same_period(period), StoredReport.as_of == ctx.today())).first()
        if row is not None:
            try:
                report = report_from_json(row.report)
            except UnreadableReport:
                report = None  # another layout (an older release): counted live below
            if report is not None and report.period == period:
                return Served(report, True, row.counted_at,
                              changes_since(ctx, row.watermark))
    return Served(count_report(ctx, period), False, ctx.now())


def changes_since(ctx: Context, watermark: int) -> int:
    """Audit events after `watermark`, other than the refreshes' own (which change no
    number), up to CHANGES_COUNTED_UP_TO + 1: one range of the primary key."""
    after = (select(AuditEvent.id)
             .where(AuditEvent.id > watermark, AuditEvent.action != REFRESHED)
             .limit(CHANGES_COUNTED_UP_TO + 1).subquery())
    return int(ctx.session.scalar(select(func.count()).select_from(after)) or 0)


def _same_period(period: Period) -> ColumnElement[bool]:
    rule_set = StoredReport.rule_set.is_(None) if period.rule_set is None else \
        StoredReport.rule_set == period.rule_set
    return and_(StoredReport.first_day == period.first, StoredReport.last_day == period.last,
                rule_set)
