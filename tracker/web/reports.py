"""The program report for the REMS sponsor (admins and auditors): a period and a rule set, the
measures of docs/reports.md, charts with their numbers as tables, each table as CSV, and a
print layout for the assessment report. A report stored by the nightly refresh is served when it
is exactly the one asked (tracker.services.stored_reports); `?live=1` counts it again now."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from tracker.http.access import requires
from tracker.http.requests import context
from tracker.models import Role
from tracker.services import stored_reports
from tracker.services.errors import ValidationFailed
from tracker.services.queries.program_report import (
    DELAY_BINS,
    Period,
    Report,
    choose_period,
    require_reader,
)
from tracker.services.text import as_text_cell
from tracker.web import charts, report_tables
from tracker.web.report_tables import TABLES

bp = Blueprint("reports", __name__, url_prefix="/reports")
SHOWN_ROWS = 25  # per-prescriber and per-pharmacy rows on the page; the CSV has them all


def _date_arg(name: str, label: str, errors: dict[str, list[str]]) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = [f"Give the {label} as YYYY-MM-DD."]
        return None


def _period() -> Period:
    """The period of the request's `from`, `to` and `rule_set`, or ValidationFailed."""
    errors: dict[str, list[str]] = {}
    first = _date_arg("from", "first day", errors)
    last = _date_arg("to", "last day", errors)
    if errors:
        raise ValidationFailed(errors)
    return choose_period(context(), first, last, request.args.get("rule_set") or None)


def _live() -> bool:
    """Whether the reader asked for the report counted now ("Count again now")."""
    return request.args.get("live") == "1"


def _charts(r: Report) -> dict[str, Any]:
    months = list(r.monthly)
    series = [charts.Series(name, [r.monthly[m].get(key, 0) for m in months])
              for name, key in (("New enrollments", "enrollments"),
                                ("Authorizations issued", "authorizations"),
                                ("Dispenses", "dispenses"))]
    trend = charts.column_chart(
        "Month by month",
        "New enrollments, authorizations issued and dispenses in each month of the period; "
        "the numbers are in the table below the chart.", months, series)
    reasons = report_tables.refusal_reasons(r).rows
    refusals = charts.bar_chart(
        "Refusals by reason code",
        "How many refusals, at marking and at the counter together, gave each reason; the "
        "numbers are in the table below the chart.",
        [str(row[0]) for row in reasons], [int(row[3] or 0) for row in reasons])
    delay = charts.column_chart(
        "Days from prescription written to dispense",
        "How many dispenses came how many days after their prescription was written; the "
        "numbers are in the table below the chart.",
        [label for label, _, _ in DELAY_BINS],
        [charts.Series("Dispenses", [r.delay_histogram.get(label, 0)
                                     for label, _, _ in DELAY_BINS])], height=240)
    return {"trend": trend, "refusals": refusals, "delay": delay}


@bp.route("", methods=["GET"])
@requires(Role.ADMIN, Role.AUDITOR)
def index() -> ResponseReturnValue:
    ctx = context()
    require_reader(ctx)
    rule_sets = [p.id for p in ctx.rule_sets]
    try:
        period = _period()
    except ValidationFailed as exc:
        return render_template("reports/index.html", errors=exc.errors, report=None,
                               rule_sets=rule_sets, args=request.args), 422
    served = stored_reports.serve(ctx, period, live=_live())
    report = served.report
    tables = {name: make(report) for name, make in TABLES.items()}
    return render_template("reports/index.html", errors={}, report=report, tables=tables,
                           charts=_charts(report), rule_sets=rule_sets, args=request.args,
                           shown_rows=SHOWN_ROWS, served=served,
                           changes_counted_up_to=stored_reports.CHANGES_COUNTED_UP_TO)


@bp.route("/<table>.csv", methods=["GET"])
@requires(Role.ADMIN, Role.AUDITOR)
def export(table: str) -> ResponseReturnValue:
    make = TABLES.get(table)
    if make is None:
        abort(404)
    period = _period()
    found = make(stored_reports.serve(context(), period, live=_live()).report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(found.header)
    writer.writerows([as_text_cell(v) for v in row] for row in found.rows)
    name = f"report-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def register(app: Flask) -> None:
    app.register_blueprint(bp)
