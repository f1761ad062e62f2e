"""How long the program report takes on a big database, measure by measure.

Point it at a database filled by the bulk generator (tracker/bulkdemo.py), for example 100,000
patients on SQLite:

    export TRACKER_DATABASE_URL=sqlite:////tmp/bench/report.sqlite3
    .venv/bin/tracker db upgrade && .venv/bin/tracker demo
    .venv/bin/tracker demo --patients 100000 --seed 2026
    .venv/bin/python benchmarks/report_bench.py [--runs 3] [--from D] [--to D] [--explain]

(PostgreSQL: the same with TRACKER_DATABASE_URL=postgresql://...; `--patients 1000000` for
the national size.) It reports the fastest and the median of `--runs` runs, for the whole
report and for each of its statements, over the last twelve months and over the two years the
generator spreads its patients over. It asserts nothing: performance is measured, never tested
as a time. `--explain` then prints each statement's plan over the first period (SQLite's
EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN ANALYZE, which runs the statement again).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from collections import Counter

    from sqlalchemy import func, select

    from tracker.cli import _context
    from tracker.models import Patient, Role
    from tracker.services.context import Actor
    from tracker.services.queries.program_report import MEASURES, Report, choose_period

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--from", dest="first", type=date.fromisoformat)
    parser.add_argument("--to", dest="last", type=date.fromisoformat)
    parser.add_argument("--explain", action="store_true",
                        help="print each statement's query plan over the first period")
    args = parser.parse_args()
    with _context(writes=False) as cli_ctx:
        ctx = cli_ctx
        ctx.actor = Actor(user_id=None, role=Role.AUDITOR, name="report benchmark")
        patients = ctx.session.scalar(select(func.count()).select_from(Patient)) or 0
        dialect = ctx.session.get_bind().dialect.name
        print(f"{dialect}, {patients:,} patients")
        today = ctx.today()
        periods = [choose_period(ctx, args.first, args.last)] if args.first or args.last else [
            choose_period(ctx, None, None),
            choose_period(ctx, today - timedelta(days=730), today)]
        for period in periods:
            totals: list[float] = []
            cpu: list[float] = []  # this process's: the whole work on SQLite, little on PostgreSQL
            steps: dict[str, list[float]] = {m.__name__.strip("_"): [] for m in MEASURES}
            for _ in range(args.runs):
                report = Report(period=period, as_of=today)
                report.monthly = {m: Counter() for m in period.months()}
                started, cpu_started = time.perf_counter(), time.process_time()
                for measure in MEASURES:
                    t = time.perf_counter()
                    measure(ctx, report)
                    steps[measure.__name__.strip("_")].append(time.perf_counter() - t)
                totals.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            print(f"\nperiod {period.first} .. {period.last} ({period.days} days): "
                  f"{report.dispenses:,} dispenses, {report.authorizations['issued']:,} "
                  f"authorizations")
            print(f"  whole report: best {min(totals):.2f} s, median "
                  f"{statistics.median(totals):.2f} s over {args.runs} runs; CPU of this "
                  f"process best {min(cpu):.2f} s")
            for name, times in steps.items():
                print(f"  {name:<24} best {min(times):7.2f} s  median "
                      f"{statistics.median(times):7.2f} s")
        if args.explain:
            explain(ctx, periods[0])


def explain(ctx: Any, period: Any) -> None:
    """Each statement of one report over `period`, with the plan the database chose for it."""
    from sqlalchemy import event

    from tracker.services.queries.program_report import build_report

    connection = ctx.session.connection()
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", keep)
    try:
        build_report(ctx, period)
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    sqlite = connection.dialect.name == "sqlite"
    cursor = connection.connection.dbapi_connection.cursor()
    for number, (statement, parameters) in enumerate(sent, 1):
        print(f"\nstatement {number}: {' '.join(statement.split())[:160]}…")
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) ")
                       + statement, parameters)
        for row in cursor.fetchall():
            print("   ", f"{row[1]:>4} {row[3]}" if sqlite else row[0])


if __name__ == "__main__":
    main()
