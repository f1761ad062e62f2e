"""The benchmark command: builds national-size databases, serves tracker and a bare Flask app
with gunicorn (gunicorn.conf.py, the production settings), loads both with wrk from
127.0.0.1, and prints the results table as Markdown. See benchmarks/README.md.

    python benchmarks/run.py                                  # the full matrix
    python benchmarks/run.py --sizes 10000 --databases sqlite # one cell
    python benchmarks/run.py --report --readme                # table of every result so far,
                                                              # written into the README

Each (database, size) result is kept as JSON in the work folder, so a matrix can be measured
in parts and reported together. Generated databases are kept too (--reuse measures them again
without generating). Only addresses on this machine are ever loaded; every run is bounded in
duration. wrk comes from Debian (apt-get install wrk); the command installs it when it runs
as root and it is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "benchmark-secret-key-not-for-production"  # noqa: S105 - local benchmark only
SIGNATURE_KEY = "benchmark-signature-key-not-for-production"  # noqa: S105 - local only
AUDIT_KEY = "benchmark-audit-key-not-for-production"  # noqa: S105 - local benchmark only
TRACKER_PORT = 18081
BARE_PORT = 18082
README = ROOT / "benchmarks" / "README.md"
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"
SAMPLE_PRESCRIBERS = 25
SAMPLE_PER_PRESCRIBER = 40
SAMPLE_AUTHORIZATIONS = 1000
TARGET_RATIO = 0.5
TARGET_P50_GROWTH = 1.25
TARGET_DECISIONS = 50_000
# tests/perf/test_query_counts.py: the budgets, the same on SQLite and PostgreSQL.
BUDGETS = {"eligibility": 3, "lookup": 6, "dispense": 8, "worklist": 12, "patient page": 12}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- databases ----------------------------------------------------------------------------------


def database_url(kind: str, size: int, work: Path, pg_admin: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{work / f'tracker-{size}.sqlite3'}"
    base, _, _ = pg_admin.rpartition("/")
    return f"{base}/tracker_bench_{size}"


def _pg_admin(pg_admin: str, sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(pg_admin.replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def reset_database(kind: str, url: str, size: int, pg_admin: str) -> None:
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    _pg_admin(pg_admin, f'DROP DATABASE IF EXISTS "tracker_bench_{size}" WITH (FORCE)')
    _pg_admin(pg_admin, f'CREATE DATABASE "tracker_bench_{size}"')


def environment(url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    # Production wants its own keys for e-signatures and the audit chain, apart from the
    # session secret; a benchmark's are fixed, so a kept database verifies in a later run.
    env.update(TRACKER_DATABASE_URL=url, TRACKER_INSTANCE_PATH=str(instance),
               TRACKER_SECRET_KEY=SECRET, TRACKER_SIGNATURE_KEY=SIGNATURE_KEY,
               TRACKER_AUDIT_KEY=AUDIT_KEY, TRACKER_ENV="production",
               PYTHONPATH=str(ROOT))
    return env


def tracker_command(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "tracker.cli", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"tracker {' '.join(argv)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def build(kind: str, size: int, url: str, env: dict[str, str], pg_admin: str, seed: int,
          instance: Path) -> tuple[float, float]:
    """A fresh database with the small demo and `size` generated patients; the seconds the
    generation took (schema and small demo excluded), wall clock and the command's CPU."""
    reset_database(kind, url, size, pg_admin)
    shutil.rmtree(instance, ignore_errors=True)
    tracker_command(env, "db", "upgrade")
    tracker_command(env, "demo")
    log(f"{kind}: generating {size:,} patients")
    began = time.perf_counter()
    cpu_before = _children_cpu()
    out = tracker_command(env, "demo", "--patients", str(size), "--seed", str(seed))
    seconds = time.perf_counter() - began
    cpu = _children_cpu() - cpu_before
    log(f"{kind}: generated in {seconds:,.0f} s ({cpu:,.0f} s of CPU in the command)\n"
        f"{out.strip()}")
    if kind == "postgresql":
        # Fresh statistics for the planner, as autovacuum would gather them after a big load.
        _analyze(url)
    return seconds, cpu


def _children_cpu() -> float:
    """CPU seconds used by finished child processes (user and system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _analyze(url: str) -> None:
    from sqlalchemy import text

    from tracker.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


# --- what the load generator asks for -----------------------------------------------------------


@contextmanager
def app_for(env: dict[str, str]) -> Iterator[Any]:
    """The tracker app of this database, in this process (tokens, samples, statement counts)."""
    saved = dict(os.environ)
    os.environ.update(env)
    from tracker import create_app

    app = create_app()
    try:
        yield app
    finally:
        app.extensions["tracker.db"].engine.dispose()
        os.environ.clear()
        os.environ.update(saved)


def _context(app: Any, session: Any) -> Any:
    from tracker.services.context import Actor, Context

    return Context(session=session, actor=Actor.system("benchmark"),
                   program_timezone=app.config["PROGRAM_TIMEZONE"],
                   policy_2026_effective=app.config["POLICY_2026_EFFECTIVE"],
                   signature_keys=app.config["SIGNATURE_KEYRING"],
                   audit_keys=app.config["AUDIT_KEYRING"])


def samples(app: Any, seed: int) -> dict[str, Any]:
    """Random prescriptions of a few prescribers (with their tokens) and random open
    authorizations with their patients' birth dates (with a pharmacist's token)."""
    from sqlalchemy import select

    from tracker.models import Authorization, Patient, Prescription, Role, User
    from tracker.services.tokens import create_token

    rng = random.Random(seed)  # noqa: S311 - choosing a sample, not a secret
    database = app.extensions["tracker.db"]
    with database.transaction() as session:
        ctx = _context(app, session)
        prescribers = session.scalars(select(User).where(User.role == Role.PRESCRIBER.value,
                                                         User.active.is_(True))).all()
        chosen = rng.sample(list(prescribers), min(SAMPLE_PRESCRIBERS, len(prescribers)))
        eligibility: list[tuple[str, str]] = []
        for user in chosen:
            ids = session.scalars(select(Prescription.id)
                                  .where(Prescription.prescriber_id == user.id)).all()
            if not ids:
                continue
            token = create_token(ctx, user, label="benchmark")
            for rx in rng.sample(list(ids), min(SAMPLE_PER_PRESCRIBER, len(ids))):
                eligibility.append((f"/api/v1/prescriptions/{rx}/eligibility", token))
        open_auths = session.execute(
            select(Authorization.number, Patient.date_of_birth)
            .join(Patient, Patient.id == Authorization.patient_id)
            .where(Authorization.state == "open")).all()
        picked = rng.sample(list(open_auths), min(SAMPLE_AUTHORIZATIONS, len(open_auths)))
        staff = session.scalars(select(User).where(User.role == Role.PHARMACIST.value,
                                                   User.active.is_(True))
                                .order_by(User.id.desc()).limit(1)).one()
        counter_token = create_token(ctx, staff, label="benchmark")
        lookup = [(f"/api/v1/authorizations/{number}?date_of_birth={born.isoformat()}",
                   counter_token) for number, born in picked]
    rng.shuffle(eligibility)
    return {"eligibility": eligibility, "lookup": lookup,
            "bare": [("/bare", counter_token)] * 10}


# --- SQL statements per request and query plans ------------------------------------------------


def _counting(app: Any) -> tuple[list[tuple[str, Any]], Callable[[], None]]:
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []
    engine = app.extensions["tracker.db"].engine

    def listen(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO",
                                                      "BEGIN", "COMMIT", "ROLLBACK")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listen)


def _count_request(app: Any, send: Callable[[], Any]) -> tuple[int, list[tuple[str, Any]]]:
    send()  # the first request may record a token's or a session's use of the minute
    seen, stop = _counting(app)
    try:
        response = send()
    finally:
        stop()
    if response.status_code != 200:
        raise SystemExit(f"statement count: request answered {response.status_code}: "
                         f"{response.get_data(as_text=True)[:300]}")
    return len(seen), list(seen)


def statements_and_plans(app: Any, instance: Path, sample: dict[str, Any]) -> dict[str, Any]:
    """Statements per request for the five requests of the issue, and the query plan of every
    statement of the eligibility check, the lookup, the worklist and the patient page."""
    from sqlalchemy import select

    from tracker.models import Authorization, Patient, Prescription, Role, User
    from tracker.services.tokens import create_token

    counts: dict[str, int] = {}
    captured: dict[str, list[tuple[str, Any]]] = {}
    https = {"base_url": "https://localhost"}
    client = app.test_client()
    path, token = sample["eligibility"][0]
    auth = {"Authorization": "Bearer " + token}
    counts["eligibility"], captured["eligibility"] = _count_request(
        app, lambda: client.get(path, headers=auth, **https))
    path, token = sample["lookup"][0]
    auth = {"Authorization": "Bearer " + token}
    counts["lookup"], captured["lookup"] = _count_request(
        app, lambda: client.get(path, headers=auth, **https))
    # A dispense: an open authorization still in its window, at an active pharmacy.
    database = app.extensions["tracker.db"]
    with database.transaction() as session:
        ctx = _context(app, session)
        today = ctx.today()
        row = session.execute(
            select(Authorization.number, Prescription.id, Prescription.quantity,
                   Prescription.days_supply, Patient.date_of_birth)
            .join(Prescription, Prescription.id == Authorization.prescription_id)
            .join(Patient, Patient.id == Prescription.patient_id)
            .where(Authorization.state == "open", Authorization.do_not_dispense_after >= today)
            .order_by(Authorization.id.desc()).limit(1)).one()
        staff = session.scalars(select(User).where(User.role == Role.PHARMACIST.value)
                                .order_by(User.id.desc()).limit(1)).one()
        counter = create_token(ctx, staff, label="benchmark")
    number, rx_id, quantity, supply, born = row
    # The counter looks the authorization up first (the token's use is recorded then).
    client.get(f"/api/v1/authorizations/{number}?date_of_birth={born.isoformat()}",
               headers={"Authorization": "Bearer " + counter}, **https)
    seen, stop = _counting(app)
    try:
        answer = client.post(f"/api/v1/prescriptions/{rx_id}/dispense",
                             headers={"Authorization": "Bearer " + counter},
                             json={"authorization_number": number, "quantity": quantity,
                                   "days_supply": supply, "medication_guide_given": True},
                             **https)
    finally:
        stop()
    counts["dispense"] = len(seen) if answer.status_code == 201 else -1
    # The prescriber's pages, signed in as the small demo's first prescriber.
    logins = (instance / "demo-logins.txt").read_text().split("\n")
    email, password = next(line.split()[1:3] for line in logins if line.startswith("prescriber"))
    page = client.get("/login", **https).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert csrf, "no CSRF token on the login page"
    # Over HTTPS, CSRF protection also wants a same-origin Referer, as a browser sends it.
    signed_in = client.post("/login", data={"email": email, "password": password,
                                            "csrf_token": csrf.group(1)},
                            headers={"Referer": "https://localhost/login"}, **https)
    assert signed_in.status_code == 302, "the demo prescriber could not sign in"
    counts["worklist"], captured["worklist"] = _count_request(
        app, lambda: client.get("/worklist", **https))
    with database.transaction(writes=False) as session:
        doc = session.scalars(select(User).where(User.email == email)).one()
        patient_id = session.scalars(select(Patient.id).where(Patient.prescriber_id == doc.id)
                                     .order_by(Patient.id.desc()).limit(1)).one()
    counts["patient page"], captured["patient page"] = _count_request(
        app, lambda: client.get(f"/patients/{patient_id}", **https))
    return {"statements": counts, "plans": _plans(app, captured),
            "cpu_ms": cpu_per_request(app, sample)}


def cpu_per_request(app: Any, sample: dict[str, Any], n: int = 300) -> dict[str, float]:
    """CPU milliseconds per request in this process (Flask's test client, no HTTP, app logging
    off): the app's own work, apart from the network, the load generator and other processes.
    The database server's work is not included on PostgreSQL (another process)."""
    import logging

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bare_app import create_app as bare_app

    logger = logging.getLogger("tracker")
    level = logger.level
    logger.setLevel(logging.WARNING)
    https = {"base_url": "https://localhost"}
    out: dict[str, float] = {}
    try:
        for name in ("eligibility", "lookup"):
            client = app.test_client()
            requests = sample[name][:n]
            for path, token in requests[:20]:  # warm: tokens' use recorded, caches filled
                client.get(path, headers={"Authorization": "Bearer " + token}, **https)
            began = time.process_time()
            for path, token in requests:
                client.get(path, headers={"Authorization": "Bearer " + token}, **https)
            out[name] = (time.process_time() - began) / len(requests) * 1000
        bare = bare_app().test_client()
        for _ in range(100):
            bare.get("/bare")
        began = time.process_time()
        for _ in range(n * 10):
            bare.get("/bare")
        out["bare"] = (time.process_time() - began) / (n * 10) * 1000
    finally:
        logger.setLevel(level)
    return out


def _plans(app: Any, captured: dict[str, list[tuple[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    engine = app.extensions["tracker.db"].engine
    postgres = engine.dialect.name == "postgresql"
    plans: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for request, statements in captured.items():
            plans[request] = []
            for statement, parameters in statements:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
                cursor = raw.cursor()
                try:
                    cursor.execute(prefix + statement, parameters)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
                lines = [r[0] for r in rows] if postgres else [r[-1] for r in rows]
                full_scans = [line for line in lines if _full_scan(line, postgres)
                              and not _reads_from_one_end(statement, line, lines)]
                plans[request].append({"statement": " ".join(statement.split())[:2000],
                                       "plan": lines, "full_scans": full_scans})
        conn.rollback()
    return plans


SEQ_SCAN_COST = 1000.0  # PostgreSQL cost units: about 1,000 pages (8 MB) of table


def _full_scan(line: str, postgres: bool) -> bool:
    """A plan step that reads a whole table of some size. PostgreSQL rightly scans a table of a
    few pages (a handful of API tokens, of sessions) rather than use its index, so a scan
    counts only above SEQ_SCAN_COST; SQLite scans only when no index applies."""
    if postgres:
        match = re.search(r"Seq Scan on .*\(cost=[\d.]+\.\.([\d.]+)", line)
        return bool(match) and float(match.group(1)) > SEQ_SCAN_COST
    text = line.strip()
    # "SCAN (subquery-1)" reads a subquery's own result, "SCAN CONSTANT ROW" no table.
    return (text.startswith("SCAN ") and " USING " not in text
            and "CONSTANT ROW" not in text and "subquery" not in text)


def _reads_from_one_end(statement: str, line: str, lines: list[str]) -> bool:
    """SQLite's "SCAN t" for `ORDER BY t.id [DESC] LIMIT n` without a temporary b-tree walks the
    table's rowid b-tree from one end and stops after n rows (the audit chain's head, the
    newest event): a bounded read, not a scan of the table."""
    match = re.search(r"ORDER BY (\w+)\.id(?: DESC| ASC)? LIMIT", " ".join(statement.split()))
    return (match is not None and line.strip() == f"SCAN {match.group(1)}"
            and not any("TEMP B-TREE" in other for other in lines))


# --- load ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk (Debian package)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed: sudo apt-get install wrk")
    return found


@contextmanager
def served(app_spec: str, port: int, env: dict[str, str], logs: Path,
           health: str) -> Iterator[None]:
    """gunicorn with gunicorn.conf.py on 127.0.0.1:port until the block ends."""
    logs.mkdir(parents=True, exist_ok=True)
    name = app_spec.split(":")[0].replace(".", "-")
    env = dict(env, TRACKER_BIND=f"127.0.0.1:{port}",
               TRACKER_ACCESS_LOG=str(logs / f"{name}-access.log"),
               TRACKER_ERROR_LOG=str(logs / f"{name}-error.log"))
    with open(logs / f"{name}-app.log", "ab") as app_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app_spec],
            cwd=ROOT, env=env, stdout=app_log, stderr=app_log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{health}",  # noqa: S310
                                                timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn for {app_spec} did not start; see {logs}")
                time.sleep(0.2)
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _lua(requests: list[tuple[str, str]], path: Path) -> Path:
    entries = ",\n".join(f"  {{{json.dumps(p)}, {json.dumps(t)}}}" for p, t in requests)
    path.write_text(
        "-- generated by benchmarks/run.py: cycle through these requests\n"
        f"local requests = {{\n{entries}\n}}\n"
        "local n = 0\n"
        "function init(args)\n"
        "  n = tonumber(args[1] or '0') or 0\n"
        "end\n"
        "function request()\n"
        "  n = n % #requests + 1\n"
        "  local r = requests[n]\n"
        "  return wrk.format('GET', r[1], {['Authorization'] = 'Bearer ' .. r[2]})\n"
        "end\n")
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"cannot read a latency from {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(wrk: str, port: int, script: Path, seconds: int, connections: int,
            threads: int) -> dict[str, Any]:
    done = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60)
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    percentiles = {m.group(1): _ms(m.group(2))
                   for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    return {"rps": rate, "requests": total, "p50_ms": percentiles["50"],
            "p99_ms": percentiles["99"], "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0}


def measure_http(wrk: str, env: dict[str, str], sample: dict[str, Any], work: Path,
                 seconds: int, connections: int, threads: int) -> dict[str, Any]:
    scripts = {name: _lua(requests, work / f"{name}.lua") for name, requests in sample.items()}
    logs = work / "logs"
    bare_env = {k: v for k, v in env.items() if not k.startswith("TRACKER_")}
    results: dict[str, Any] = {}
    with served("tracker:create_app()", TRACKER_PORT, env, logs, "/healthz"), \
            served("benchmarks.bare_app:create_app()", BARE_PORT, bare_env, logs, "/bare"):
        # Bare before and after the tracker's endpoints, the same load each time; the ratio
        # uses their mean, so a drift of the machine during the run shows in both.
        plan = [("bare", BARE_PORT), ("eligibility", TRACKER_PORT), ("lookup", TRACKER_PORT),
                ("bare_after", BARE_PORT)]
        for name, port in plan:
            script = scripts["bare" if name.startswith("bare") else name]
            # Warm-up: the bare endpoint needs little; the tracker's endpoints one pass over
            # their samples at least, so that the measured run does not read cold pages.
            run_wrk(wrk, port, script, 3 if name.startswith("bare") else 8, connections,
                    threads)
            log(f"  {name}: {seconds} s, {connections} connections")
            before = os.getloadavg()[0]
            results[name] = run_wrk(wrk, port, script, seconds, connections, threads)
            # The machine's load around the run: other work on it shows here.
            results[name]["load_before"] = before
            results[name]["load_after"] = os.getloadavg()[0]
            log(f"  {name}: {results[name]['rps']:,.0f} req/s, p50 "
                f"{results[name]['p50_ms']:.2f} ms, p99 {results[name]['p99_ms']:.2f} ms")
    return results


# --- the rules engine ----------------------------------------------------------------------------


def engine_rate(seconds: float) -> dict[str, Any]:
    """Decisions per second of the pure engine (the case of benchmarks/engine_bench.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from engine_bench import twelve_month_case

    from tracker.domain.policy import IPLEDGE_2026
    from tracker.domain.rules import evaluate

    case, on = twelve_month_case(date(2025, 12, 1))
    assert evaluate(case, on, IPLEDGE_2026).dispensable
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        began = time.perf_counter()
        for _ in range(10_000):
            evaluate(case, on, IPLEDGE_2026)
        best = max(best, 10_000 / (time.perf_counter() - began))
    return {"decisions_per_second": best, "history": {
        "dispenses": len(case.patient.dispenses), "tests": len(case.patient.pregnancy_tests),
        "counseling": len(case.patient.counseling)}}


# --- the report ----------------------------------------------------------------------------------


def _fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def report(work: Path) -> str:
    results = [json.loads(p.read_text()) for p in sorted((work / "results").glob("*.json"))]
    engine_file = work / "engine.json"
    engine = json.loads(engine_file.read_text()) if engine_file.exists() else None
    order = {"sqlite": 0, "postgresql": 1}
    results.sort(key=lambda r: (order.get(r["database"], 9), r["patients"]))
    lines: list[str] = []
    if results:
        first = results[0]
        lines.append(f"Measured on {first['machine']}, {first['cpus']} cores, "
                     f"on {first['date']} (see the notes below the tables).")
        lines.append("")
        lines.append("| database | patients | generated in | bare req/s | eligibility req/s "
                     "(× bare) | lookup req/s (× bare) | p50 / p99 bare | "
                     "p50 / p99 eligibility | p50 / p99 lookup | errors | load |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            h = r["http"]
            bare = (h["bare"]["rps"] + h["bare_after"]["rps"]) / 2
            bare_p50 = (h["bare"]["p50_ms"] + h["bare_after"]["p50_ms"]) / 2
            bare_p99 = (h["bare"]["p99_ms"] + h["bare_after"]["p99_ms"]) / 2
            e, k = h["eligibility"], h["lookup"]
            errors = sum(x["non_2xx"] + x["socket_errors"] for x in h.values())
            generated = r.get("generation_seconds")
            cpu = r.get("generation_cpu_seconds")
            took = "" if generated is None else f"{generated / 60:.1f} min"
            if cpu is not None:
                took += f" ({cpu / 60:.1f} min CPU)"
            lines.append(
                f"| {r['database']} | {r['patients']:,} | "
                f"{took} | "
                f"{_fmt_rate(bare)} | {_fmt_rate(e['rps'])} ({e['rps'] / bare:.2f}) | "
                f"{_fmt_rate(k['rps'])} ({k['rps'] / bare:.2f}) | "
                f"{bare_p50:.1f} / {bare_p99:.1f} ms | {e['p50_ms']:.1f} / {e['p99_ms']:.1f} ms | "
                f"{k['p50_ms']:.1f} / {k['p99_ms']:.1f} ms | {errors} | {_load(h)} |")
        lines.append("")
        lines.append("p50 growth with the database (p50 at the largest size / p50 at the "
                     f"smallest; target ≤ {TARGET_P50_GROWTH}):")
        lines.append("")
        for kind in ("sqlite", "postgresql"):
            mine = [r for r in results if r["database"] == kind]
            if len(mine) >= 2:
                small, large = mine[0], mine[-1]
                parts = []
                for name in ("eligibility", "lookup"):
                    growth = large["http"][name]["p50_ms"] / small["http"][name]["p50_ms"]
                    parts.append(f"{name} {growth:.2f}")
                lines.append(f"- {kind}, {small['patients']:,} → {large['patients']:,} "
                             f"patients: " + ", ".join(parts))
        lines.append("")
        lines.append("SQL statements per request (budget in brackets, the same on both "
                     "databases):")
        lines.append("")
        lines.append("| database | patients | " + " | ".join(
            f"{name} (≤ {budget})" for name, budget in BUDGETS.items()) + " |")
        lines.append("|---|---:|" + "---:|" * len(BUDGETS))
        for r in results:
            counts = r["statements"]
            lines.append(f"| {r['database']} | {r['patients']:,} | " + " | ".join(
                str(counts.get(name, "")) for name in BUDGETS) + " |")
        lines.append("")
        lines.append("CPU per request in the app's process (test client, no HTTP; on PostgreSQL "
                     "without the server's share):")
        lines.append("")
        lines.append("| database | patients | bare | eligibility | lookup |")
        lines.append("|---|---:|---:|---:|---:|")
        for r in results:
            cpu = r.get("cpu_ms")
            if cpu:
                lines.append(f"| {r['database']} | {r['patients']:,} | {cpu['bare']:.2f} ms | "
                             f"{cpu['eligibility']:.2f} ms | {cpu['lookup']:.2f} ms |")
        lines.append("")
        scans = []
        for r in results:
            postgres = r["database"] == "postgresql"
            for request, plans in r["plans"].items():
                for plan in plans:
                    found = [line.strip() for line in plan["plan"]
                             if _full_scan(line, postgres)
                             and not _reads_from_one_end(plan["statement"], line, plan["plan"])]
                    if found:
                        statement = plan["statement"]
                        # The table and the condition tell which statement it is.
                        shown = statement[statement.find(" FROM ") + 1:][:140]
                        scans.append(f"{r['database']} {r['patients']:,} {request}: "
                                     f"`{shown}…` → {'; '.join(found)}")
        lines.append("Query plans of every statement of the eligibility check, the lookup, "
                     "the worklist and the patient page: "
                     + ("every statement uses an index." if not scans
                        else "full table scans found:"))
        lines.extend(f"- {scan}" for scan in scans)
    if engine:
        lines.append("")
        lines.append(f"Rules engine: {engine['decisions_per_second']:,.0f} decisions per second "
                     f"(a patient with a 12-month history, later fill; target ≥ "
                     f"{TARGET_DECISIONS:,}), measured on {engine['date']}.")
    return "\n".join(lines)


def _load(http: dict[str, Any]) -> str:
    """The highest 1-minute load average seen around the runs (2.0 = two busy cores)."""
    loads = [x.get(key) for x in http.values() for key in ("load_before", "load_after")]
    seen = [value for value in loads if value is not None]
    return f"{max(seen):.1f}" if seen else ""


def write_readme(table: str) -> None:
    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README} has no {BEGIN} ... {END} markers")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def _machine() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--work", default=Path(tempfile.gettempdir()) / "tracker-bench",
                        type=Path, help="databases, logs and results (several GB at 1M)")
    parser.add_argument("--pg-admin", default=os.environ.get(
        "TRACKER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reuse", action="store_true",
                        help="measure databases generated by an earlier run again")
    parser.add_argument("--engine-seconds", type=float, default=5.0)
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the results kept so far")
    parser.add_argument("--readme", action="store_true",
                        help="also write the table into benchmarks/README.md")
    args = parser.parse_args()
    work: Path = args.work
    (work / "results").mkdir(parents=True, exist_ok=True)
    if not args.report:
        wrk = ensure_wrk()
        log(f"rules engine: {args.engine_seconds} s")
        engine = engine_rate(args.engine_seconds)
        engine["date"] = date.today().isoformat()
        (work / "engine.json").write_text(json.dumps(engine, indent=2))
        for kind in args.databases.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                url = database_url(kind, size, work, args.pg_admin)
                instance = work / f"instance-{kind}-{size}"
                env = environment(url, instance)
                marker = work / f"built-{kind}-{size}.json"
                if args.reuse and marker.exists():
                    built = json.loads(marker.read_text())
                else:
                    marker.unlink(missing_ok=True)
                    wall, cpu = build(kind, size, url, env, args.pg_admin, args.seed, instance)
                    built = {"generation_seconds": wall, "generation_cpu_seconds": cpu}
                    marker.write_text(json.dumps(built))
                with app_for(env) as app:
                    sample = samples(app, args.seed)
                log(f"{kind} {size:,}: HTTP load")
                http = measure_http(wrk, env, sample, work, args.duration, args.connections,
                                    args.threads)
                with app_for(env) as app:
                    counted = statements_and_plans(app, instance, sample)
                result = {
                    "database": kind, "patients": size, **built,
                    "http": http, **counted, "date": date.today().isoformat(),
                    "machine": _machine(), "cpus": os.cpu_count(),
                    "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "settings": {"duration_s": args.duration, "connections": args.connections,
                                 "wrk_threads": args.threads},
                }
                (work / "results" / f"{kind}-{size}.json").write_text(
                    json.dumps(result, indent=2, default=str))
                log(f"{kind} {size:,}: statements {counted['statements']}")
    table = report(work)
    print(table)
    if args.readme:
        write_readme(table)


if __name__ == "__main__":
    main()
