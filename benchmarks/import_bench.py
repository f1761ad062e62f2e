"""How fast `tracker import` brings in patients with a year of history.

    .venv/bin/python benchmarks/import_bench.py [--patients 10000] [--database-url URL]

Writes a JSON Lines file of N patients (half who can get pregnant: screening, the 30-day wait
and twelve monthly fills with their counseling, contraception, comprehension and tests; half
who cannot: twelve monthly visits and fills), imports it into a new database (a SQLite file
under a temporary directory, or the empty PostgreSQL database given) and prints the time of
the validation-and-write run, then of a second, idempotent run of the same file."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ANSWERS = {"birth-defects": True, "two-methods": True, "month-before-after": True,
           "negative-test-each-month": True, "share-ok": False, "blood-donation": False,
           "stop-if-pregnant": True, "breastfeeding-ok": False}
METHODS = ["combined_pill", "male_condom"]
NCPDP = "7000001"


def _day(d: date) -> str:
    return d.isoformat()


def patient_line(n: int, today: date) -> dict[str, object]:
    start = today - timedelta(days=400 + n % 20)
    can = n % 2 == 0
    line: dict[str, object] = {
        "external_id": f"BENCH-{n}", "first_name": "Sam", "last_name": f"Bench{n}",
        "date_of_birth": _day(date(1990, 1, 1) + timedelta(days=n % 3000)),
        "category": "can_get_pregnant" if can else "cannot_get_pregnant",
        "acknowledgments": [{"signed_on": _day(start), "patient_signature": f"Sam Bench{n}"}],
    }
    counseling, tests, contraception, comprehension, fills = [], [], [], [], []
    if can:
        tests.append({"collected_on": _day(start), "result": "negative", "setting": "lab"})
        visit = start + timedelta(days=30)
    else:
        visit = start
    started = start - timedelta(days=31)
    for _ in range(12):
        counseling.append({"counseled_on": _day(visit)})
        if can:
            contraception.append({"recorded_on": _day(visit), "started_on": _day(started),
                                  "methods": METHODS, "abstinence": False})
            tests.append({"collected_on": _day(visit), "result": "negative", "setting": "lab"})
            comprehension.append({"completed_on": _day(visit), "answers": ANSWERS,
                                  "contraception_methods": METHODS, "abstinence": False})
        dispensed = visit + timedelta(days=1)
        fills.append({"written_on": _day(visit), "days_supply": 30, "quantity": 60,
                      "authorized_on": _day(visit), "dispensed_on": _day(dispensed),
                      "pharmacy_ncpdp": NCPDP})
        visit = dispensed + timedelta(days=29)
    line.update(counseling=counseling, pregnancy_tests=tests, contraception=contraception,
                comprehension=comprehension, fills=fills)
    return line


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds of this process, or of its finished children (the checking workers)."""
    used = resource.getrusage(who)
    return used.ru_utime + used.ru_stime


def _peak_mb() -> float:
    """The largest resident size of this process so far. (Not the workers': Linux counts a
    spawned child's size when it was forked from this process, before it started afresh.)"""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--workers", type=int, help="tracker import --workers (default: cores)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tracker-import-bench-"))
    os.environ["TRACKER_DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'bench.db'}"
    os.environ.setdefault("TRACKER_INSTANCE_PATH", str(work / "instance"))
    os.environ.setdefault("TRACKER_SECRET_KEY", "import-benchmark")
    from tracker.cli import main as tracker

    today = date.today()
    source = work / "patients.jsonl"
    with source.open("w") as out:
        for n in range(args.patients):
            out.write(json.dumps(patient_line(n, today)) + "\n")
    for argv in (["db", "upgrade"],
                 ["users", "create", "--role", "prescriber", "--email", "bench@example.test",
                  "--name", "Bench Doc", "--npi", "1234567893", "--password-stdin"],
                 ["pharmacies", "create", "--name", "Bench Pharmacy", "--ncpdp", NCPDP,
                  "--activated-on", _day(today - timedelta(days=300)),
                  "--trained-on", _day(today - timedelta(days=300))]):
        if argv[-1] == "--password-stdin":
            sys.stdin = open(os.devnull)  # noqa: SIM115 - an empty password line is refused
            argv = argv[:-1]
        if tracker(argv) != 0:
            return 1
    size = source.stat().st_size
    print(f"{args.patients:,} patients, {size / 1e6:,.1f} MB of JSON Lines", file=sys.stderr)
    for run in ("first import", "same file again"):
        began = time.monotonic()
        cpu, workers_cpu = _cpu(), _cpu(resource.RUSAGE_CHILDREN)
        saved = sys.stdout
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the id lines are not the point
        try:
            workers = ["--workers", str(args.workers)] if args.workers else []
            code = tracker(["import", "--prescriber", "bench@example.test", *workers,
                            str(source)])
        finally:
            sys.stdout.close()
            sys.stdout = saved
        took = time.monotonic() - began
        print(f"{run}: exit {code}, {took:,.1f} s, {args.patients / took:,.0f} patients/s, "
              f"{_cpu() - cpu:,.1f} s of CPU in the command and "
              f"{_cpu(resource.RUSAGE_CHILDREN) - workers_cpu:,.1f} s in its workers, "
              f"peak memory {_peak_mb():,.0f} MB in the command, "
              f"load average {os.getloadavg()[0]:.1f}")
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
