"""How long the program report takes on a big database, measure by measure.

Point it at a database filled by the bulk generator (tracker/bulkdemo.py), for example 100,000
patients on SQLite:

    export TRACKER_DATABASE_URL=sqlite:////tmp/bench/report.sqlite3
    .venv/bin/tracker db upgrade && .venv/bin/tracker demo
    .venv/bin/tracker demo --patients 100000 --seed 2026
    .venv/bin/python benchmarks/report_bench.py [--runs 3] [--from D] [--to D] [--explain]
        [--stored]

(PostgreSQL: the same with TRACKER_DATABASE_URL=postgresql://...; `--patients 1000000` for
the national size.) It reports the fastest and the median of `--runs` runs, for the whole
report and for each of its statements, over the last twelve months and over the two years the
generator spreads its patients over. It asserts nothing: performance is measured, never tested
as a time. `--explain` then prints each statement's plan over the first period (SQLite's
EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN ANALYZE, which runs the statement again).

`--stored` then stores each period as `tracker reports refresh` does (the stored report and its
audit event are written to the database) and times serving it: the page `/reports` signed in as
the demo's auditor (instance/demo-logins.txt, written by `tracker demo`) and
`GET /api/v1/reports/summary` with a token made for that auditor (also written), each
`--runs` times, beside the live count above.
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
    parser.add_argument("--stored", action="store_true",
                        help="also store each period and time the page and the API serving it")
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
    if args.stored:
        serve_stored(periods, args.runs)


def serve_stored(periods: list[Any], runs: int) -> None:
    """Store each period as the nightly refresh does, then time the page and the API summary
    serving it (Flask's test client: the app's and the database's work, no HTTP)."""
    import logging
    import re

    from sqlalchemy import select

    from tracker.cli import _app, _context
    from tracker.models import Role, User
    from tracker.services.stored_reports import count_for_storage, store
    from tracker.services.tokens import create_token

    app = _app()
    logging.getLogger("tracker").setLevel(logging.WARNING)  # no request log line per run
    logins = (Path(app.instance_path) / "demo-logins.txt").read_text().splitlines()
    email, password = next(line.split()[1:3] for line in logins if line.startswith("auditor"))
    https = {"base_url": "https://localhost"}
    client = app.test_client()
    page = client.get("/login", **https).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert csrf, "no CSRF token on the login page"
    # Over HTTPS, CSRF protection also wants a same-origin Referer, as a browser sends it.
    signed_in = client.post("/login", data={"email": email, "password": password,
                                            "csrf_token": csrf.group(1)},
                            headers={"Referer": "https://localhost/login"}, **https)
    assert signed_in.status_code == 302, "the demo auditor could not sign in"
    with _context(app=app) as ctx:
        auditor = ctx.session.scalars(select(User).where(
            User.email == email, User.role == Role.AUDITOR)).one()
        token = create_token(ctx, auditor, label="report benchmark")
    bearer = {"Authorization": "Bearer " + token}
    for period in periods:
        with _context(writes=False, snapshot=True, app=app) as ctx:
            counted = count_for_storage(ctx, period)
        with _context(app=app) as ctx:
            store(ctx, counted)
        query = f"from={period.first.isoformat()}&to={period.last.isoformat()}"
        print(f"\nstored {period.first} .. {period.last}: counted in "
              f"{counted.milliseconds / 1000:.2f} s on one snapshot")
        for name, url, headers in (("page /reports", f"/reports?{query}", {}),
                                   ("API summary", f"/api/v1/reports/summary?{query}", bearer)):
            times: list[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = client.get(url, headers=headers, **https)
                times.append(time.perf_counter() - started)
                text = answer.get_data(as_text=True)
                assert answer.status_code == 200, (name, answer.status_code)
                assert "by the nightly refresh" in text or '"stored":true' in text, name
            print(f"  served stored: {name:<14} best {min(times) * 1000:7.1f} ms  median "
                  f"{statistics.median(times) * 1000:7.1f} ms over {runs} runs")


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
