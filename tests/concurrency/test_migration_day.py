"""Migration day (issue: bring patients in mid-course): a clinic imports its patients with
`tracker import`, in a process of its own, while the API keeps serving the counters and the
prescribers. Every pharmacy lookup and eligibility check made meanwhile answers as before the
import (no error, no other answer), the prescriber's writes go through between the import's
batches (on SQLite the write lock is free between them), and the import completes.

A database of the test's own (a SQLite file, or PostgreSQL with TRACKER_TEST_DATABASE_URL).
The default size keeps the suite quick; CI runs it once more with the issue's 10,000 patients:
TRACKER_MIGRATION_DAY_PATIENTS=10000 (see the README, "Tests")."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess  # nosec B404 - runs this project's own command line
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import TODAY, Clock, app_config, eastern_noon
from tracker import create_app
from tracker.db import Database
from tracker.keyring import Keyring
from tracker.models import ImportedPatient
from tracker.services import authorizations as authorization_service
from tracker.services import pharmacies as pharmacy_service
from tracker.services import tokens as token_service
from tracker.services.context import Actor, Context

pytestmark = pytest.mark.concurrency

PATIENTS = int(os.environ.get("TRACKER_MIGRATION_DAY_PATIENTS", "200"))
# The command's own batch size at the size; small batches at the suite's, so that even a
# short import has several of them.
BATCH = 250 if PATIENTS >= 10_000 else 25
ROOT = Path(__file__).resolve().parents[2]
SIGNATURE_KEY = "test-signature-key"


def _generator() -> Any:
    """The benchmark's generator of patients with a year of history (one source for both)."""
    spec = importlib.util.spec_from_file_location("import_bench",
                                                  ROOT / "benchmarks" / "import_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Clinic:
    app: Flask
    url: str
    prescriber_email: str
    prescriber_token: str
    pharmacist_token: str
    eligible_rx: int  # a prescription the eligibility check is asked about
    open_number: str  # an open authorization the counter looks up
    born: str
    patient_id: int  # the prescriber records counseling for them meanwhile


@pytest.fixture
def clinic(fresh_database: str, tmp_path: Path) -> Iterator[Clinic]:
    """A prescriber with a patient ready to dispense and another ready for a first fill, a
    pharmacist, their API tokens, and the pharmacy the import file names; all committed."""
    clock = Clock(eastern_noon(TODAY))
    setup = Database(fresh_database)
    with setup.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(SIGNATURE_KEY.encode()), clock=clock)
        doc_user = builders.prescriber(ctx)
        doc = builders.as_user(ctx, doc_user)
        waiting = builders.ready_for_first_fill(doc)
        rx = builders.prescription(doc, waiting.id)
        auth = authorization_service.authorize(doc, rx.id, signature=SIGNED)
        other = builders.ready_for_first_fill(doc, first="Robin")
        eligible = builders.prescription(doc, other.id)
        scribed = builders.patient(doc, first="Kai")
        pharmacist = builders.pharmacist(ctx, builders.pharmacy(ctx))
        opened = date.today() - timedelta(days=500)
        pharmacy_service.create_pharmacy(ctx, "Migrating Pharmacy", _generator().NCPDP,
                                         opened, opened)
        clinic_values = (doc_user.email, token_service.create_token(ctx, doc_user, "ehr"),
                         token_service.create_token(ctx, pharmacist, "counter"), eligible.id,
                         auth.number, waiting.date_of_birth.isoformat(), scribed.id)
    setup.engine.dispose()
    app = create_app(app_config(fresh_database, tmp_path / "instance", CLOCK=clock,
                                SIGNATURE_KEY=SIGNATURE_KEY))
    try:
        yield Clinic(app, fresh_database, *clinic_values)
    finally:
        app.extensions["tracker.db"].engine.dispose()


@dataclass
class Traffic:
    """What the API answered while the import ran."""

    answers: int = 0
    wrong: list[str] = field(default_factory=list)
    writes: int = 0
    # Imported patients seen committed when each write of the prescriber went through.
    imported_at_writes: list[int] = field(default_factory=list)


def _serve(clinic: Clinic, stop: threading.Event, traffic: Traffic) -> list[threading.Thread]:
    client_of = clinic.app.test_client
    doctor = {"Authorization": f"Bearer {clinic.prescriber_token}"}
    counter = {"Authorization": f"Bearer {clinic.pharmacist_token}"}
    lookup_path = f"/api/v1/authorizations/{clinic.open_number}?date_of_birth={clinic.born}"
    eligibility_path = f"/api/v1/prescriptions/{clinic.eligible_rx}/eligibility"
    expected = {lookup_path: client_of().get(lookup_path, headers=counter).get_json(),
                eligibility_path: client_of().get(eligibility_path, headers=doctor).get_json()}
    assert expected[lookup_path]["decision"]["dispensable"] is True
    assert expected[eligibility_path]["dispensable"] is True
    lock = threading.Lock()

    def look_up(path: str, headers: dict[str, str]) -> None:
        client = client_of()
        while not stop.is_set():
            response = client.get(path, headers=headers)
            with lock:
                traffic.answers += 1
                if response.status_code != 200 or response.get_json() != expected[path]:
                    traffic.wrong.append(f"{path}: {response.status_code} "
                                         f"{response.get_data(as_text=True)[:300]}")

    def write() -> None:
        client = client_of()
        database = Database(clinic.url)
        try:
            while not stop.is_set():
                response = client.post(f"/api/v1/patients/{clinic.patient_id}/counseling",
                                       json={"counseled_on": TODAY.isoformat()},
                                       headers=doctor)
                with database.transaction(writes=False) as session:
                    imported = session.scalar(select(func.count())
                                              .select_from(ImportedPatient)) or 0
                with lock:
                    traffic.writes += 1
                    traffic.imported_at_writes.append(imported)
                    if response.status_code != 201:
                        traffic.wrong.append(f"counseling: {response.status_code} "
                                             f"{response.get_data(as_text=True)[:300]}")
                time.sleep(0.2)
        finally:
            database.engine.dispose()

    threads = [threading.Thread(target=look_up, args=(lookup_path, counter)),
               threading.Thread(target=look_up, args=(eligibility_path, doctor)),
               threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    return threads


def test_the_api_answers_correctly_while_patients_are_imported(
        clinic: Clinic, tmp_path: Path) -> None:
    generator = _generator()
    source = tmp_path / "clinic.jsonl"
    today = date.today()  # the command runs on the real clock
    with source.open("w") as out:
        for n in range(PATIENTS):
            out.write(json.dumps(generator.patient_line(n, today)) + "\n")
    env = {**os.environ, "TRACKER_DATABASE_URL": clinic.url,
           "TRACKER_INSTANCE_PATH": str(tmp_path / "cli-instance"),
           "TRACKER_SECRET_KEY": "migration-day", "TRACKER_SIGNATURE_KEY": SIGNATURE_KEY}
    env.pop("TRACKER_ENV", None)
    stop = threading.Event()
    traffic = Traffic()
    threads = _serve(clinic, stop, traffic)
    try:
        done = subprocess.run(  # nosec B603 - this interpreter and the project's own module
            [sys.executable, "-m", "tracker.cli", "import", "--prescriber",
             clinic.prescriber_email, "--batch-size", str(BATCH), str(source)],
            env=env, capture_output=True, text=True, timeout=3600, check=False)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"imported {PATIENTS} new patient(s)" in done.stderr
    assert len(done.stdout.splitlines()) == PATIENTS
    assert not traffic.wrong, traffic.wrong[:5]
    assert traffic.answers >= 20
    # Writes went through while the import was half done: between its batches.
    assert any(0 < seen < PATIENTS for seen in traffic.imported_at_writes), \
        traffic.imported_at_writes
    verify = subprocess.run(  # nosec B603
        [sys.executable, "-m", "tracker.cli", "audit", "verify"], env=env,
        capture_output=True, text=True, timeout=600, check=False)
    assert verify.returncode == 0, verify.stdout[-1000:] + verify.stderr[-1000:]
