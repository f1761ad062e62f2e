"""Database faults on PostgreSQL, through a real server with real connections and commits on a
database of the test's own: a backend terminated in the middle of each kind of write, and a
restart-like outage. The app answers 503 (never 500) with Retry-After, leaves no partial write,
keeps the audit chain whole, completes a retried write exactly once, and recovers by itself."""

from __future__ import annotations

import logging
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import PG_URL, csrf_token
from tests.faults.harness import (
    BORN,
    Answer,
    Http,
    World,
    cds_client_jwt,
    finished,
    in_background,
    served,
)
from tests.faults.saboteur import Saboteur
from tests.fhir.helpers import ETASU, etasu_body
from tracker.models import Authorization, Dispense, IdempotencyRecord, PregnancyTest, Prescription

pytestmark = [pytest.mark.faults,
              pytest.mark.skipif(not PG_URL, reason="needs TRACKER_TEST_DATABASE_URL "
                                                    "(PostgreSQL)")]

RETRY_AFTER = 2


@pytest.fixture
def world(fresh_database: str, tmp_path: Path) -> Iterator[World]:
    with served(fresh_database, tmp_path / "instance", DB_RETRY_AFTER_SECONDS=RETRY_AFTER,
                DB_POOL_SIZE=10) as w:
        yield w


@pytest.fixture
def saboteur(world: World) -> Iterator[Saboteur]:
    s = Saboteur(world.url)
    try:
        yield s
    finally:
        s.close()


def assert_unavailable_problem(answer: Answer) -> None:
    assert answer.status == 503, answer.text[:400]
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["retry-after"] == str(RETRY_AFTER)
    problem = answer.json()
    assert problem["status"] == 503 and problem["code"] == "DATABASE_UNAVAILABLE"
    assert problem["incident"] and "Idempotency-Key" in problem["detail"]
    assert "Traceback" not in answer.text and "SQL" not in answer.text


def cut_mid_write(saboteur: Saboteur, table: str, send: Any,
                  blocked_at: str | None = None) -> Answer:
    """Send a write and stop it in the middle: at its audit event (the audit chain held) or,
    with `blocked_at`, before its first write to that table (the table locked). Once it has
    written `table`, terminate its backend; answer what the client got."""
    if blocked_at is None:
        saboteur.hold_audit_chain()
    else:
        saboteur.hold_table(blocked_at)
    try:
        thread, out = in_background(send)
        pid = (saboteur.waiting_writer() if blocked_at is None
               else saboteur.waiting_for_table(blocked_at))
        assert saboteur.has_written(pid, table), f"the request had not written {table} yet"
        saboteur.terminate(pid)
        return finished(thread, out)  # type: ignore[no-any-return]
    finally:
        if blocked_at is None:
            saboteur.release_audit_chain()
        else:
            saboteur.release_table()


def test_a_dispense_cut_mid_transaction_leaves_nothing_and_its_retry_dispenses_once(
    world: World, saboteur: Saboteur, caplog: pytest.LogCaptureFixture
) -> None:
    counter = world.api("pharmacist")
    key = {"Idempotency-Key": "dispense-7f3a"}
    path = f"/api/v1/prescriptions/{world.rx_id}/dispense"

    with caplog.at_level(logging.INFO, logger="tracker"):
        cut = cut_mid_write(saboteur, "dispenses", lambda: counter.send(
            "POST", path, json_body=world.dispense_body(), headers=key))

    assert_unavailable_problem(cut)
    incident = cut.json()["incident"]
    lines = [r for r in caplog.records if incident in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback
    assert "AdminShutdown" in lines[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Nothing of the dispense stayed: no row, no status change, no claimed key, no event.
    assert world.count(Dispense) == 0
    assert world.count(Prescription, Prescription.id == world.rx_id,
                       Prescription.status == "dispensable") == 1
    assert world.count(Authorization, Authorization.state == "open") == 1
    assert world.count(IdempotencyRecord) == 0
    assert world.audit_actions("dispense.") == []
    assert world.trail_verifies()

    # The client sends it again with the same key: it is dispensed, once; a third try replays.
    again = counter.send("POST", path, json_body=world.dispense_body(), headers=key)
    assert again.status == 201, again.text[:400]
    replay = counter.send("POST", path, json_body=world.dispense_body(), headers=key)
    assert replay.status == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == again.json()
    assert world.count(Dispense) == 1
    assert world.audit_actions("dispense.") == ["dispense.recorded"]
    assert world.trail_verifies()


def test_an_authorization_cut_mid_transaction_leaves_nothing_and_its_retry_issues_one(
    world: World, saboteur: Saboteur
) -> None:
    doctor = world.api("prescriber")
    key = {"Idempotency-Key": "authorize-91c2"}
    path = f"/api/v1/prescriptions/{world.pending_rx_id}/authorize"
    issued_before = world.count(Authorization)

    cut = cut_mid_write(saboteur, "authorizations",
                        lambda: doctor.send("POST", path, json_body={}, headers=key))

    assert_unavailable_problem(cut)
    assert world.count(Authorization) == issued_before
    assert world.count(Prescription, Prescription.id == world.pending_rx_id,
                       Prescription.status == "pending") == 1
    assert world.audit_actions("authorization.issued") == ["authorization.issued"]  # setup's
    assert world.trail_verifies()

    again = doctor.send("POST", path, json_body={}, headers=key)
    assert again.status == 200, again.text[:400]
    assert again.json()["status"] == "dispensable"
    replay = doctor.send("POST", path, json_body={}, headers=key)
    assert replay.status == 200 and replay.json() == again.json()
    assert world.count(Authorization) == issued_before + 1
    assert world.audit_actions("authorization.issued") == ["authorization.issued"] * 2
    assert world.trail_verifies()


def test_a_record_cut_before_its_audit_event_is_not_stored(world: World,
                                                            saboteur: Saboteur) -> None:
    doctor = world.api("prescriber")
    path = f"/api/v1/patients/{world.patient_id}/pregnancy-tests"
    body = {"collected_on": "2026-12-14", "result": "negative", "setting": "lab"}
    tests_before = world.count(PregnancyTest)
    events_before = world.audit_actions("pregnancy_test.")

    cut = cut_mid_write(saboteur, "pregnancy_tests",
                        lambda: doctor.send("POST", path, json_body=body))

    assert_unavailable_problem(cut)
    assert world.count(PregnancyTest) == tests_before
    assert world.audit_actions("pregnancy_test.") == events_before
    assert world.trail_verifies()
    again = doctor.send("POST", path, json_body=body)
    assert again.status == 201, again.text[:400]
    assert world.count(PregnancyTest) == tests_before + 1
    assert len(world.audit_actions("pregnancy_test.")) == len(events_before) + 1
    assert world.trail_verifies()


def test_a_connection_lost_at_the_commit_answers_503_and_the_retry_dispenses_once(
    world: World, saboteur: Saboteur, caplog: pytest.LogCaptureFixture
) -> None:
    """The view has done all its work; the backend is terminated just before COMMIT reaches
    it (an engine event, the test's hook): the commit fails after the view, and is answered
    503 as well."""
    armed = {"commit": True}

    @event.listens_for(world.app.extensions["tracker.db"].engine, "commit")
    def _cut(conn: Any) -> None:
        if armed.pop("commit", False):
            saboteur.terminate(conn.connection.dbapi_connection.info.backend_pid)

    counter = world.api("pharmacist")
    key = {"Idempotency-Key": "at-commit-5b1c"}
    path = f"/api/v1/prescriptions/{world.rx_id}/dispense"
    try:
        with caplog.at_level(logging.INFO, logger="tracker"):
            cut = counter.send("POST", path, json_body=world.dispense_body(), headers=key)
    finally:
        event.remove(world.app.extensions["tracker.db"].engine, "commit", _cut)

    assert "commit" not in armed  # the hook did run
    assert_unavailable_problem(cut)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert world.count(Dispense) == 0
    assert world.count(IdempotencyRecord) == 0
    assert world.trail_verifies()
    again = counter.send("POST", path, json_body=world.dispense_body(), headers=key)
    assert again.status == 201, again.text[:400]
    assert world.count(Dispense) == 1
    assert world.audit_actions("dispense.") == ["dispense.recorded"]
    assert world.trail_verifies()


def _counter_page(world: World) -> tuple[Any, str]:
    """A pharmacist signed in at the counter, with the authorization looked up."""
    browser = world.browser()
    browser.login(world.pharmacist_email)
    page = browser.send("GET", "/pharmacy").text
    shown = browser.send("POST", "/pharmacy", form={
        "csrf_token": csrf_token(page), "authorization_number": world.number,
        "date_of_birth": BORN})
    assert shown.status in {302, 303}, shown.text[:400]
    status_page = browser.send("GET", shown.headers["location"].removeprefix(world.base))
    assert "May be dispensed now" in status_page.text
    return browser, status_page.text


def test_a_dispense_form_cut_mid_transaction_shows_a_page_and_can_be_sent_again(
    world: World, saboteur: Saboteur
) -> None:
    browser, page = _counter_page(world)
    form = {"csrf_token": csrf_token(page), "authorization_number": world.number,
            "date_of_birth": BORN, "quantity": "30", "days_supply": "30",
            "medication_guide_given": "y"}

    # Stopped after the prescription and the authorization were marked dispensed, before the
    # dispense row: the point where a partial write would show.
    cut = cut_mid_write(saboteur, "prescriptions",
                        lambda: browser.send("POST", "/pharmacy/dispense", form=form),
                        blocked_at="dispenses")

    assert cut.status == 503 and cut.mimetype == "text/html"
    assert cut.headers["retry-after"] == str(RETRY_AFTER)
    assert "The database cannot be reached for a moment" in cut.text
    assert "check whether your change is shown" in cut.text
    assert world.count(Dispense) == 0
    assert world.count(Prescription, Prescription.id == world.rx_id,
                       Prescription.status == "dispensable") == 1
    assert world.count(Authorization, Authorization.state == "open") == 1
    assert world.trail_verifies()
    # Still signed in: the same form sent again dispenses, once.
    again = browser.send("POST", "/pharmacy/dispense", form=form)
    assert again.status == 302, again.text[:400]
    assert world.count(Dispense) == 1
    assert world.audit_actions("dispense.") == ["dispense.recorded"]
    assert world.trail_verifies()


def test_an_answer_lost_after_the_commit_is_replayed_to_the_retry(world: World,
                                                                  saboteur: Saboteur) -> None:
    """The client gives up waiting (the answer is lost to it) while the dispense goes through;
    its retry with the same key gets the first answer, and nothing is dispensed twice."""
    counter = world.api("pharmacist")
    key = {"Idempotency-Key": "lost-answer-3d9e"}
    path = f"/api/v1/prescriptions/{world.rx_id}/dispense"
    saboteur.hold_audit_chain()
    try:
        thread, out = in_background(lambda: counter.send(
            "POST", path, json_body=world.dispense_body(), headers=key, timeout=1))
        saboteur.waiting_writer()
        thread.join(timeout=30)
        # The client never saw the answer.
        assert isinstance(out[0], TimeoutError | urllib.error.URLError), out
    finally:
        saboteur.release_audit_chain()
    deadline = time.monotonic() + 20
    while world.count(Dispense) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)

    retry = counter.send("POST", path, json_body=world.dispense_body(), headers=key)
    assert retry.status == 201 and retry.headers.get("idempotent-replayed") == "true"
    assert world.count(Dispense) == 1
    assert world.audit_actions("dispense.") == ["dispense.recorded"]
    assert world.trail_verifies()


def _every_entry(world: World, browser: Any) -> dict[str, Answer]:
    """One request to each kind of entry while the database is away."""
    counter = world.api("pharmacist")
    return {
        "healthz": world.browser().send("GET", "/healthz"),
        "api lookup": counter.send("GET", f"/api/v1/authorizations/{world.number}"
                                          f"?date_of_birth={BORN}"),
        "api dispense": counter.send("POST", f"/api/v1/prescriptions/{world.rx_id}/dispense",
                                     json_body=world.dispense_body(),
                                     headers={"Idempotency-Key": "outage-1"}),
        "api read": world.api("prescriber").send("GET", f"/api/v1/patients/{world.patient_id}"),
        "page": browser.send("GET", "/pharmacy"),
        "fhir": counter.send("POST", ETASU, json_body=etasu_body()),
        "fhir alias": counter.send("POST", "/4_0_0/GuidanceResponse/$rems-etasu",
                                   json_body=etasu_body()),
        "cds": Http(world.base, cds_client_jwt()).send(
            "POST", "/cds-services/rems-order-sign",
            json_body={"hook": "order-sign", "hookInstance": "c0ffee"}),
    }


def test_a_restart_like_outage_answers_503_everywhere_and_the_app_recovers_by_itself(
    world: World, saboteur: Saboteur, caplog: pytest.LogCaptureFixture
) -> None:
    browser, _ = _counter_page(world)
    assert world.browser().send("GET", "/healthz").status == 200

    saboteur.refuse_connections()
    with caplog.at_level(logging.INFO, logger="tracker"):
        during = _every_entry(world, browser)

    assert during["healthz"].status == 503
    assert during["healthz"].json() == {"status": "unavailable"}
    for name in ("api lookup", "api dispense", "api read"):
        assert_unavailable_problem(during[name])
    page = during["page"]
    assert page.status == 503 and page.mimetype == "text/html", page.text[:300]
    assert "The database cannot be reached for a moment" in page.text
    for name in ("fhir", "fhir alias", "cds"):
        outcome = during[name]
        assert outcome.status == 503 and outcome.mimetype == "application/fhir+json"
        assert outcome.headers["retry-after"] == str(RETRY_AFTER)
        issue = outcome.json()["issue"][0]
        assert outcome.json()["resourceType"] == "OperationOutcome"
        assert issue["code"] == "transient" and "Send the request again" in issue["diagnostics"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]

    saboteur.accept_connections()
    # The app was not restarted: its pool reconnects at the next request.
    assert world.browser().send("GET", "/healthz").status == 200
    assert browser.send("GET", "/pharmacy").status == 200  # still signed in
    counter = world.api("pharmacist")
    done = counter.send("POST", f"/api/v1/prescriptions/{world.rx_id}/dispense",
                        json_body=world.dispense_body(), headers={"Idempotency-Key": "outage-1"})
    assert done.status == 201, done.text[:400]
    assert world.count(Dispense) == 1
    assert world.trail_verifies()


LOOKERS = 8


def test_lookups_under_load_through_an_outage_get_only_200_or_503(world: World,
                                                                  saboteur: Saboteur) -> None:
    """Eight counters look the authorization up without pause while every backend is
    terminated and connections are refused for a moment: each answer is 200 or 503, never a
    500, and the lookups succeed again once the database is back."""
    stop = time.monotonic() + 60
    phase = {"outage_over": False}
    seen: list[int] = []

    def look() -> int:
        counter = world.api("pharmacist")
        status = 0
        while time.monotonic() < stop:
            over = phase["outage_over"]
            status = counter.send("GET", f"/api/v1/authorizations/{world.number}"
                                         f"?date_of_birth={BORN}").status
            seen.append(status)
            if over and status == 200:
                break
            time.sleep(0.01)
        return status

    workers = [in_background(look) for _ in range(LOOKERS)]
    time.sleep(0.5)
    saboteur.refuse_connections()
    time.sleep(1.5)
    saboteur.accept_connections()
    phase["outage_over"] = True
    last = [finished(thread, out, timeout=90) for thread, out in workers]

    assert set(seen) <= {200, 503}, set(seen)
    assert 503 in seen
    assert last == [200] * LOOKERS  # every counter is served again, the app not restarted
    assert world.trail_verifies()
