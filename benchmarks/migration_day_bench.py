"""Migration day: every active patient re-categorized through the API in one run, while
pharmacies keep looking up and dispensing at full rate. See benchmarks/README.md.

    python benchmarks/migration_day_bench.py --database-url sqlite:////tmp/md/10k.sqlite3 \\
        --generate 10000
    python benchmarks/migration_day_bench.py --database-url postgresql://.../bulk_md_100k

`--generate N` first builds the database (schema, the small demo, N generated patients with
`tracker demo --patients N --seed 2026`; a PostgreSQL database must exist and is emptied);
without it the database is used as it is, and it must have been generated with this script's
environment (its signature key). The run changes the database: generate it again for another.

What is sent, against gunicorn with gunicorn.conf.py on 127.0.0.1 (the production settings):

- **re-categorization**: `PATCH /api/v1/patients/{id}` with the other category, for every active
  patient (registered, course not ended), each with its own prescriber's API token, by
  `--prescriber-threads` clients;
- **pharmacies**: `--pharmacy-threads` clients, each in a loop until the re-categorization is
  done: a lookup (`GET /api/v1/authorizations/{number}?date_of_birth=D`) of one of
  `--lookups` open authorizations (cycled; at most half of them), and every other turn one
  more authorization of the rest looked up and dispensed
  (`POST /api/v1/prescriptions/{id}/dispense`, with an Idempotency-Key), until they run out.
  Each client uses its own pharmacist's token.

Before the run every open authorization used is looked up once (the answer before). An answer
during the run is a **wrong refusal** when it refuses for a reason the re-categorization cannot
cause: anything but a Decision (a 404, a 429, an error), an unmet reason other than
`PRESCRIBER_ACTION_REQUIRED` that was not there before, or `PRESCRIBER_ACTION_REQUIRED` (a new
category wants a new acknowledgment, RULES.md §4) for a patient whose re-categorization had not
been sent yet when the answer arrived. A dispense refused for the same reasons counts the same
way. 5xx answers and connection errors are counted apart. It asserts nothing: it measures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import run  # noqa: E402  - the benchmark command's helpers (environment, gunicorn, samples)

PORT = 18083
FOLDED = "PRESCRIBER_ACTION_REQUIRED"  # every clinical reason, as pharmacy staff see it
OTHER = {"can_get_pregnant": "cannot_get_pregnant", "cannot_get_pregnant": "can_get_pregnant"}


# --- the database and what is sent ---------------------------------------------------------------


def generate(url: str, env: dict[str, str], instance: Path, patients: int) -> float:
    """Schema, small demo and `patients` generated patients; the generation's wall seconds."""
    import shutil

    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        _empty_postgres(url)
    shutil.rmtree(instance, ignore_errors=True)
    run.tracker_command(env, "db", "upgrade")
    run.tracker_command(env, "demo")
    began = time.perf_counter()
    run.tracker_command(env, "demo", "--patients", str(patients), "--seed", "2026")
    seconds = time.perf_counter() - began
    if not url.startswith("sqlite"):
        run._analyze(url)
    return seconds


def _empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from tracker.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@dataclass
class Plan:
    """What the clients send: (patient, new category, token) and the pharmacy's work."""

    patches: list[tuple[int, str, str]]
    lookups: list[dict[str, Any]]  # cycled: number, born, patient
    dispenses: list[dict[str, Any]]  # each once: number, born, patient, rx, quantity, supply
    counter_tokens: list[str]


def plan(app: Any, lookups: int, pharmacists: int, seed: int) -> Plan:
    """Tokens for every prescriber with active patients and for a few pharmacists of active
    pharmacies; the active patients; the open authorizations still in their window."""
    from sqlalchemy import select

    from tracker.domain.facts import PharmacyFacts
    from tracker.domain.policy import pharmacy_problems
    from tracker.models import (
        Authorization,
        CourseEnd,
        Patient,
        Pharmacy,
        Prescription,
        Role,
        User,
    )
    from tracker.services.tokens import create_token

    rng = random.Random(seed)  # noqa: S311 - choosing a sample, not a secret
    with app.extensions["tracker.db"].transaction() as session:
        ctx = run._context(app, session)
        today = ctx.today()
        ended = select(CourseEnd.patient_id)
        active = session.execute(
            select(Patient.id, Patient.category, Patient.prescriber_id)
            .join(User, User.id == Patient.prescriber_id)
            .where(User.active.is_(True), Patient.id.not_in(ended))
            .order_by(Patient.id)).all()
        tokens: dict[int, str] = {}
        for doc in sorted({row.prescriber_id for row in active}):
            tokens[doc] = create_token(ctx, session.get(User, doc), label="migration-day")
        patches = [(row.id, OTHER[str(getattr(row.category, "value", row.category))],
                    tokens[row.prescriber_id]) for row in active]
        rng.shuffle(patches)
        staff = session.execute(
            select(User, Pharmacy.activated_on, Pharmacy.trained_on)
            .join(Pharmacy, Pharmacy.id == User.pharmacy_id)
            .where(User.role == Role.PHARMACIST.value, User.active.is_(True))
            .order_by(User.id)).all()
        policy = ctx.policy(today)
        usable = [user for user, activated, trained in staff
                  if not pharmacy_problems(PharmacyFacts(activated, trained), today, policy)]
        counters = [create_token(ctx, user, label="migration-day")
                    for user in rng.sample(usable, min(pharmacists, len(usable)))]
        rows = session.execute(
            select(Authorization.number, Authorization.patient_id, Patient.date_of_birth,
                   Prescription.id, Prescription.quantity, Prescription.days_supply)
            .join(Patient, Patient.id == Authorization.patient_id)
            .join(Prescription, Prescription.id == Authorization.prescription_id)
            .where(Authorization.state == "open",
                   (Authorization.do_not_dispense_after.is_(None))
                   | (Authorization.do_not_dispense_after >= today))).all()
    auths = [{"number": r[0], "patient": r[1], "born": r[2].isoformat(), "rx": r[3],
              "quantity": r[4], "supply": r[5]} for r in rows]
    rng.shuffle(auths)
    # At most half are looked up again and again; the others are there to be dispensed.
    cycled = max(1, min(lookups, len(auths) // 2))
    return Plan(patches, auths[:cycled], auths[cycled:], counters)


# --- the clients ----------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection; reconnects when the server closed it."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": "Bearer " + token}
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, float, float]:
        """(status, JSON answer or None, sent at, answered at); status 0: no answer."""
        data = None if body is None else json.dumps(body).encode()
        all_headers = dict(self.headers, **(headers or {}))
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            began = time.time()
            try:
                self.conn.request(method, path, body=data, headers=all_headers)
                answer = self.conn.getresponse()
                raw = answer.read()
            except (OSError, http.client.HTTPException):
                # A keep-alive connection closed by the server (max_requests): once more on a
                # new one. PATCH is safe to resend (the second answers 422 "already"), a
                # dispense carries an Idempotency-Key.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, None, began, time.time()
                continue
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return answer.status, parsed, began, time.time()
        raise AssertionError("unreachable")


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    lookup_ms: list[float] = field(default_factory=list)
    dispense_ms: list[float] = field(default_factory=list)
    patch_ms: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    explained: Counter[str] = field(default_factory=Counter)
    patched_at: dict[int, float] = field(default_factory=dict)  # patient -> PATCH sent at

    def status(self, kind: str, status: int) -> None:
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1


def _codes(answer: Any) -> set[str]:
    """The unmet reason codes of a lookup's Decision or of a 409."""
    if not isinstance(answer, dict):
        return set()
    unmet = answer.get("decision", answer).get("unmet") or []
    return {reason.get("code", "") for reason in unmet}


def baseline(port: int, token: str, auths: list[dict[str, Any]], threads: int) -> None:
    """Each authorization's answer before the run, kept in the authorization's dict."""
    queue = list(auths)
    lock = threading.Lock()

    def work() -> None:
        client = Client(port, token)
        while True:
            with lock:
                if not queue:
                    return
                auth = queue.pop()
            status, answer, _, _ = client.send(
                "GET", f"/api/v1/authorizations/{auth['number']}?date_of_birth={auth['born']}")
            auth["before_status"] = status
            auth["before_ok"] = status == 200 and bool(answer["decision"]["dispensable"])
            auth["before_codes"] = _codes(answer) if status == 200 else set()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _judge(tally: Tally, kind: str, auth: dict[str, Any], status: int, answer: Any,
           answered: float) -> None:
    """Whether a refusal is one the re-categorization explains (see the module's doc)."""
    if status == 201 or (status == 200 and answer["decision"]["dispensable"]):
        return
    if status >= 500 or status == 0:
        return  # counted among the errors
    if status not in (200, 409):
        tally.wrong.append(f"{kind} {auth['number']}: {status} {str(answer)[:200]}")
        return
    codes = _codes(answer)
    new = codes - auth["before_codes"]
    if new - {FOLDED}:
        tally.wrong.append(f"{kind} {auth['number']}: new reasons {sorted(new)}")
        return
    if FOLDED in new:
        with tally.lock:
            sent = tally.patched_at.get(auth["patient"])
        if sent is None or sent > answered:
            tally.wrong.append(f"{kind} {auth['number']}: {FOLDED} before the patient's "
                               "re-categorization was sent")
            return
        with tally.lock:
            tally.explained[kind] += 1


def recategorize(port: int, patches: list[tuple[int, str, str]], threads: int,
                 tally: Tally) -> float:
    """Every PATCH, by `threads` clients; the seconds it took."""
    queue = list(reversed(patches))
    lock = threading.Lock()

    def work() -> None:
        clients: dict[str, Client] = {}
        while True:
            with lock:
                if not queue:
                    return
                patient, category, token = queue.pop()
            client = clients.setdefault(token, Client(port, token))
            with tally.lock:
                tally.patched_at[patient] = time.time()
            status, answer, began, done = client.send(
                "PATCH", f"/api/v1/patients/{patient}", {"category": category})
            if status == 422 and "already" in json.dumps(answer):
                status = 200  # a resend after a dropped connection: the first one did it
            tally.status("patch", status)
            with tally.lock:
                tally.patch_ms.append((done - began) * 1000)
                if status != 200 and 0 < status < 500:  # errors are counted apart
                    tally.wrong.append(f"patch {patient}: {status} {str(answer)[:200]}")

    began = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def pharmacies(port: int, work: Plan, threads: int, tally: Tally,
               stop: threading.Event) -> list[threading.Thread]:
    """Pharmacy clients looking up and dispensing until `stop` is set."""
    to_dispense = [a for a in reversed(work.dispenses) if a["before_ok"]]
    lock = threading.Lock()

    def lookup(client: Client, auth: dict[str, Any]) -> Any:
        status, answer, began, done = client.send(
            "GET", f"/api/v1/authorizations/{auth['number']}?date_of_birth={auth['born']}")
        tally.status("lookup", status)
        with tally.lock:
            tally.lookup_ms.append((done - began) * 1000)
        _judge(tally, "lookup", auth, status, answer, done)
        return status, answer

    def work_loop(index: int) -> None:
        client = Client(port, work.counter_tokens[index % len(work.counter_tokens)])
        turn = index
        while not stop.is_set():
            auth = work.lookups[turn % len(work.lookups)]
            lookup(client, auth)
            turn += threads
            if turn % 2:
                continue
            with lock:
                if not to_dispense:
                    continue
                auth = to_dispense.pop()
            status, answer = lookup(client, auth)
            if status != 200 or not answer["decision"]["dispensable"]:
                continue
            body = {"authorization_number": auth["number"], "quantity": auth["quantity"],
                    "days_supply": auth["supply"], "medication_guide_given": True}
            status, answer, began, done = client.send(
                "POST", f"/api/v1/prescriptions/{auth['rx']}/dispense", body,
                {"Idempotency-Key": str(uuid.uuid4())})
            tally.status("dispense", status)
            with tally.lock:
                tally.dispense_ms.append((done - began) * 1000)
            _judge(tally, "dispense", auth, status, answer, done)

    workers = [threading.Thread(target=work_loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    return workers


# --- the run -------------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--generate", type=int, default=None, metavar="N",
                        help="build the database first with N generated patients")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "tracker-migration")
    parser.add_argument("--prescriber-threads", type=int, default=4)
    parser.add_argument("--pharmacy-threads", type=int, default=8)
    parser.add_argument("--pharmacists", type=int, default=8)
    parser.add_argument("--lookups", type=int, default=1000,
                        help="open authorizations looked up again and again")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    kind = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    instance = args.work / f"instance-{kind}"
    env = run.environment(args.database_url, instance)
    result: dict[str, Any] = {"database": kind, "started": time.strftime("%Y-%m-%d %H:%M"),
                              "load_before": os.getloadavg()[0]}
    if args.generate:
        run.log(f"{kind}: generating {args.generate:,} patients")
        result["generated_s"] = generate(args.database_url, env, instance, args.generate)
    with run.app_for(env) as app:
        work = plan(app, args.lookups, args.pharmacists, args.seed)
    run.log(f"{kind}: {len(work.patches):,} active patients to re-categorize, "
            f"{len(work.lookups):,} authorizations to look up, {len(work.dispenses):,} to "
            f"dispense, {len(work.counter_tokens)} pharmacists")
    tally = Tally()
    with run.served("tracker:create_app()", args.port, env, args.work / f"logs-{kind}",
                    "/healthz"):
        began = time.perf_counter()
        baseline(args.port, work.counter_tokens[0], work.lookups + work.dispenses,
                 args.pharmacy_threads)
        result["baseline_s"] = time.perf_counter() - began
        before = Counter("dispensable" if a["before_ok"] else "refused"
                         for a in work.lookups + work.dispenses)
        run.log(f"{kind}: answers before the run: {dict(before)}")
        stop = threading.Event()
        loads = [os.getloadavg()[0]]
        clients = pharmacies(args.port, work, args.pharmacy_threads, tally, stop)
        seconds = recategorize(args.port, work.patches, args.prescriber_threads, tally)
        stop.set()
        for client in clients:
            client.join()
        loads.append(os.getloadavg()[0])
    errors = sum(n for key, n in tally.statuses.items()
                 if key.split()[1] == "0" or key.split()[1].startswith("5"))
    result.update({
        "patients_recategorized": tally.statuses.get("patch 200", 0),
        "active_patients": len(work.patches),
        "recategorization_s": seconds,
        "patches_per_s": len(work.patches) / seconds if seconds else 0,
        "statuses": dict(tally.statuses),
        "errors_5xx_or_no_answer": errors,
        "wrong_refusals": len(tally.wrong),
        "wrong_examples": tally.wrong[:10],
        "refusals_explained_by_recategorization": dict(tally.explained),
        "lookups": len(tally.lookup_ms),
        "lookup_p50_ms": _percentile(tally.lookup_ms, 0.5),
        "lookup_p99_ms": _percentile(tally.lookup_ms, 0.99),
        "lookups_per_s": len(tally.lookup_ms) / seconds if seconds else 0,
        "dispenses": len(tally.dispense_ms),
        "dispense_p50_ms": _percentile(tally.dispense_ms, 0.5),
        "dispense_p99_ms": _percentile(tally.dispense_ms, 0.99),
        "patch_p50_ms": _percentile(tally.patch_ms, 0.5),
        "patch_p99_ms": _percentile(tally.patch_ms, 0.99),
        "load_during": max(loads),
    })
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.work / f"migration-{kind}-{len(work.patches)}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, indent=2, default=str))
    run.log(f"kept in {out}")


if __name__ == "__main__":
    main()
