"""CPU per request in the app's own process, in seconds rather than the minutes of run.py: a
small SQLite database built here (`tracker demo` and a few thousand generated patients), the
Flask test client (no HTTP, no server, no load generator), `time.process_time` around a loop
of requests. It prints milliseconds of CPU per request for the bare Flask endpoint
(benchmarks/bare_app.py), the eligibility check, the pharmacy lookup and the dispense, and
each one's ratio to the bare endpoint.

    .venv/bin/python benchmarks/cpu_bench.py                 # builds, measures, removes
    .venv/bin/python benchmarks/cpu_bench.py --profile lookup  # and a cProfile of one kind

The app logs one line per request as in production; the lines go to a null stream so that the
terminal's speed is not measured. CPU time counts this process only; on SQLite the database
engine runs inside it, so its work is included.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bare_app import create_app as bare_app  # noqa: E402
from run import app_for, environment, samples, tracker_command  # noqa: E402

HTTPS = {"base_url": "https://localhost"}  # the production settings want HTTPS
KINDS = ("eligibility", "lookup", "dispense")


def environment_of(work: Path) -> dict[str, str]:
    """The environment that serves the database of the folder `work`."""
    env = environment(f"sqlite:///{work / 'cpu.sqlite3'}", work / "instance")
    # Production settings want their own keys (local benchmark values, not secrets).
    env.setdefault("TRACKER_SIGNATURE_KEY", "cpu-benchmark-signature-key-not-for-production")
    env.setdefault("TRACKER_AUDIT_KEY", "cpu-benchmark-audit-key-not-for-production")
    return env


def build(work: Path, patients: int, seed: int) -> dict[str, str]:
    """A fresh SQLite database with the small demo and `patients` generated patients; the
    environment that serves it."""
    env = environment_of(work)
    tracker_command(env, "db", "upgrade")
    tracker_command(env, "demo")
    tracker_command(env, "demo", "--patients", str(patients), "--seed", str(seed))
    return env


def dispense_requests(app: Any, limit: int) -> list[tuple[str, dict[str, Any], str]]:
    """Open authorizations still in their window, at most `limit`, each with the dispense
    that would fill it and the token of a pharmacist of an active pharmacy."""
    from run import _context
    from sqlalchemy import select

    from tracker.domain.policy import pharmacy_problems
    from tracker.models import Authorization, Pharmacy, Prescription, Role, User
    from tracker.services.facts import pharmacy_facts
    from tracker.services.tokens import create_token

    with app.extensions["tracker.db"].transaction() as session:
        ctx = _context(app, session)
        today = ctx.today()
        staff = next(
            user for user, pharmacy in session.execute(
                select(User, Pharmacy).join(Pharmacy, Pharmacy.id == User.pharmacy_id)
                .where(User.role == Role.PHARMACIST.value, User.active.is_(True))
                .order_by(User.id.desc()))
            if not pharmacy_problems(pharmacy_facts(pharmacy), today, ctx.policy(today)))
        token = create_token(ctx, staff, label="cpu benchmark")
        rows = session.execute(
            select(Authorization.number, Prescription.id, Prescription.quantity,
                   Prescription.days_supply)
            .join(Prescription, Prescription.id == Authorization.prescription_id)
            .where(Authorization.state == "open", Authorization.do_not_dispense_after >= today)
            .order_by(Authorization.id).limit(limit)).all()
    return [(f"/api/v1/prescriptions/{rx}/dispense",
             {"authorization_number": number, "quantity": quantity, "days_supply": supply,
              "medication_guide_given": True}, token)
            for number, rx, quantity, supply in rows]


def _timed(send: Callable[[], Any], times: int) -> tuple[float, Counter[int]]:
    """CPU milliseconds per call of `send`, and the answers' status codes."""
    statuses: Counter[int] = Counter()
    began = time.process_time()
    for _ in range(times):
        status = send().status_code
        statuses[status] += 1
    return (time.process_time() - began) / times * 1000, statuses


def _cycle(items: list[Any]) -> Callable[[], Any]:
    position = [0]

    def following() -> Any:
        item = items[position[0] % len(items)]
        position[0] += 1
        return item

    return following


def senders(app: Any, sample: dict[str, Any], dispenses: int) -> dict[str, Callable[[], Any]]:
    """One function per kind of request that sends the next request of that kind."""
    client = app.test_client()

    def getter(kind: str) -> Callable[[], Any]:
        following = _cycle(sample[kind])

        def send() -> Any:
            path, token = following()
            return client.get(path, headers={"Authorization": "Bearer " + token}, **HTTPS)
        return send

    fills = dispense_requests(app, dispenses)
    following_fill = iter(fills)

    def dispense() -> Any:
        path, body, token = next(following_fill)
        return client.post(path, json=body, headers={"Authorization": "Bearer " + token},
                           **HTTPS)

    bare = bare_app().test_client()
    dispense.available = len(fills)  # type: ignore[attr-defined]
    return {"bare": lambda: bare.get("/bare"), "eligibility": getter("eligibility"),
            "lookup": getter("lookup"), "dispense": dispense}


def measure(send: dict[str, Callable[[], Any]], requests: int,
            dispenses: int) -> dict[str, tuple[float, Counter[int]]]:
    out = {}
    for kind in ("bare", "eligibility", "lookup"):
        for _ in range(20):  # warm: caches filled, the tokens' use of the minute recorded
            send[kind]()
        out[kind] = _timed(send[kind], requests * (5 if kind == "bare" else 1))
    # Each dispense fills an authorization for good: as many as there are, up to `dispenses`
    # (a kept database may have none left).
    fills = min(dispenses, send["dispense"].available)  # type: ignore[attr-defined]
    if fills:
        out["dispense"] = _timed(send["dispense"], fills)
    return out


def quiet_request_log() -> None:
    """The request lines are formatted as in production, then dropped."""
    for handler in logging.getLogger("tracker").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(io.StringIO())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=500, help="per kind (bare: 5 ×)")
    parser.add_argument("--dispenses", type=int, default=150)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--work", type=Path, help="keep the database in this folder and "
                        "measure it again next time (default: a temporary folder, removed); "
                        "dispenses fill authorizations for good, so a kept database has "
                        "fewer left to dispense each time")
    parser.add_argument("--profile", choices=("bare", *KINDS), help="print a cProfile of "
                        "this kind of request (after the measurement)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-cpu-") as folder:
        work = args.work or Path(folder)
        began = time.perf_counter()
        if args.work is not None and (work / "cpu.sqlite3").exists():
            env = environment_of(work)
        else:
            work.mkdir(parents=True, exist_ok=True)
            env = build(work, args.patients, args.seed)
            print(f"built {args.patients:,} patients in {time.perf_counter() - began:.0f} s")
        with app_for(env) as app:
            sample = samples(app, args.seed)
            quiet_request_log()
            send = senders(app, sample, args.dispenses * (2 if args.profile else 1))
            results = measure(send, args.requests, args.dispenses)
            bare = results["bare"][0]
            print(f"{'request':<12} {'CPU ms/request':>15} {'× bare':>8}  answers")
            for kind, (ms, statuses) in results.items():
                answers = ", ".join(f"{n} × {code}" for code, n in sorted(statuses.items()))
                print(f"{kind:<12} {ms:>15.3f} {ms / bare:>8.1f}  {answers}")
            if args.profile:
                profiler = cProfile.Profile()
                times = args.requests
                if args.profile == "dispense":
                    times = send["dispense"].available - results["dispense"][1].total()  # type: ignore[attr-defined]
                profiler.runcall(lambda: [send[args.profile]() for _ in range(times)])
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
