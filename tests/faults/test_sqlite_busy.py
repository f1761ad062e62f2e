"""SQLite: a writer that holds the database's write lock longer than the busy timeout makes
other writes wait that long and then answer 503 with Retry-After (never 500), in each entry's
format; the health check (a read) still answers 200; once the lock is released the same writes
succeed. Real server, real commits on a database file of the test's own."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, csrf_token
from tests.faults.harness import BORN, Http, World, cds_client_jwt, served
from tests.fhir.helpers import ETASU, etasu_body
from tracker.models import Dispense, PregnancyTest

pytestmark = [pytest.mark.faults,
              pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")]

RETRY_AFTER = 3


@pytest.fixture
def world(fresh_database: str, tmp_path: Path) -> Iterator[World]:
    with served(fresh_database, tmp_path / "instance", DB_BUSY_TIMEOUT_SECONDS=0.2,
                DB_RETRY_AFTER_SECONDS=RETRY_AFTER) as w:
        yield w


def test_writes_past_the_busy_timeout_answer_503_and_go_through_once_the_lock_is_free(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    browser = world.browser()
    browser.login(world.pharmacist_email)  # before the lock: signing in writes the session
    page = browser.send("GET", "/pharmacy").text
    lookup = {"csrf_token": csrf_token(page), "authorization_number": world.number,
              "date_of_birth": BORN}
    doctor = world.api("prescriber")
    counter = world.api("pharmacist")
    record = f"/api/v1/patients/{world.patient_id}/pregnancy-tests"
    test_body = {"collected_on": "2026-12-14", "result": "negative", "setting": "lab"}
    dispense = f"/api/v1/prescriptions/{world.rx_id}/dispense"
    key = {"Idempotency-Key": "busy-1"}
    tests_before = world.count(PregnancyTest)

    path = make_url(world.url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.INFO, logger="tracker"):
            api_write = doctor.send("POST", record, json_body=test_body)
            api_dispense = counter.send("POST", dispense, json_body=world.dispense_body(),
                                        headers=key)
            form = browser.send("POST", "/pharmacy", form=lookup)
            fhir = counter.send("POST", ETASU, json_body=etasu_body())
            cds = Http(world.base, cds_client_jwt()).send(
                "POST", "/cds-services/rems-order-sign",
                json_body={"hook": "order-sign", "hookInstance": "c0ffee"})
            health = world.browser().send("GET", "/healthz")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    for answer in (api_write, api_dispense):
        assert answer.status == 503, answer.text[:300]
        assert answer.mimetype == "application/problem+json"
        assert answer.headers["retry-after"] == str(RETRY_AFTER)
        assert answer.json()["code"] == "DATABASE_UNAVAILABLE"
    assert form.status == 503 and form.mimetype == "text/html"
    assert "The database cannot be reached for a moment" in form.text
    assert form.headers["retry-after"] == str(RETRY_AFTER)
    for outcome in (fhir, cds):
        assert outcome.status == 503 and outcome.mimetype == "application/fhir+json"
        assert outcome.json()["resourceType"] == "OperationOutcome"
        assert outcome.json()["issue"][0]["code"] == "transient"
        assert outcome.headers["retry-after"] == str(RETRY_AFTER)
    # The health check only reads, which needs no write lock: the database does answer.
    assert health.status == 200
    incidents = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(incidents) == 5 and all(r.exc_info is None for r in incidents)
    assert all("sqlstate=None" in r.getMessage() and "OperationalError" in r.getMessage()
               for r in incidents)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert world.count(PregnancyTest) == tests_before

    # The lock is free: the same requests are served.
    assert doctor.send("POST", record, json_body=test_body).status == 201
    done = counter.send("POST", dispense, json_body=world.dispense_body(), headers=key)
    assert done.status == 201, done.text[:300]
    assert world.count(PregnancyTest) == tests_before + 1
    assert world.count(Dispense) == 1
    assert world.trail_verifies()
