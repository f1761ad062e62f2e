"""RULES.md §8 and §12 example 8: a dispense happens at most once, even when twenty counters
press the button at the same instant. Real commits on a database of the test's own (SQLite, or
PostgreSQL with TRACKER_TEST_DATABASE_URL), twenty threads released together by a barrier, each
with its own client and its own pharmacist."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import TODAY, Clock, app_config, csrf_token, eastern_noon, login
from tracker import create_app
from tracker.db import Database
from tracker.keyring import DEVELOPMENT_AUDIT_KEYS, Keyring
from tracker.models import AuditEvent, Authorization, Dispense, Prescription
from tracker.services import authorizations as authorization_service
from tracker.services import tokens as token_service
from tracker.services.audit import verify_chain
from tracker.services.context import Actor, Context

pytestmark = pytest.mark.concurrency

COUNTERS = 20
BORN = "1995-04-02"  # the builders' patient


@dataclass
class Race:
    app: Flask
    url: str
    prescription_id: int
    number: str
    pharmacists: list[tuple[str, str]]  # (email, name)
    tokens: list[str]


@pytest.fixture
def race(fresh_database: str, tmp_path: Path) -> Iterator[Race]:
    """One authorization ready to dispense, twenty pharmacists at two pharmacies (each with an
    API token), all committed; and an app on that database."""
    clock = Clock(eastern_noon(TODAY))
    setup = Database(fresh_database)
    with setup.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
        doc = builders.as_user(ctx, builders.prescriber(ctx))
        patient = builders.ready_for_first_fill(doc)
        rx = builders.prescription(doc, patient.id)
        auth = authorization_service.authorize(doc, rx.id, signature=SIGNED)
        pharmacies = [builders.pharmacy(ctx), builders.pharmacy(ctx)]
        staff = [builders.pharmacist(ctx, pharmacies[n % 2]) for n in range(COUNTERS)]
        for n, user in enumerate(staff):
            user.name = f"Pharmacist {n:02d}"
        tokens = [token_service.create_token(ctx, user, "counter") for user in staff]
        rx_id, number = rx.id, auth.number
        pharmacists = [(user.email, user.name) for user in staff]
    setup.engine.dispose()
    # Enough connections for every counter at once, so that they really meet in the database.
    app = create_app(app_config(fresh_database, tmp_path / "instance", CLOCK=clock,
                                DB_POOL_SIZE=COUNTERS))
    try:
        yield Race(app, fresh_database, rx_id, number, pharmacists, tokens)
    finally:
        app.extensions["tracker.db"].engine.dispose()


def run_together(attempts: list[Callable[[], Any]]) -> list[Any]:
    """Run each attempt in its own thread, all released at the same instant; re-raise the first
    failure of a thread."""
    barrier = threading.Barrier(len(attempts))
    results: list[Any] = [None] * len(attempts)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = attempts[i]()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a counter never answered"
    if errors:
        raise errors[0]
    return results


def settled(url: str) -> tuple[int, str, str, list[str], bool]:
    """What the database holds afterwards: dispense rows, prescription status, authorization
    state, dispense audit actions, and whether the audit chain verifies."""
    db = Database(url)
    try:
        with db.transaction(writes=False) as session:
            count = session.scalar(select(func.count()).select_from(Dispense)) or 0
            status = session.scalar(select(Prescription.status))
            state = session.scalar(select(Authorization.state))
            dispense_actions = list(session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("dispense.%"))
                .order_by(AuditEvent.id)))
            chain_ok = verify_chain(session, DEVELOPMENT_AUDIT_KEYS).ok
    finally:
        db.engine.dispose()
    return count, status or "", state or "", dispense_actions, chain_ok


def test_twenty_api_counters_dispense_one_authorization_exactly_once(race: Race) -> None:
    body = {"authorization_number": race.number, "quantity": 30, "days_supply": 30,
            "medication_guide_given": True}

    def attempt(token: str) -> Callable[[], tuple[int, Any]]:
        def send() -> tuple[int, Any]:
            response = race.app.test_client().post(
                f"/api/v1/prescriptions/{race.prescription_id}/dispense", json=body,
                headers={"Authorization": f"Bearer {token}"})
            return response.status_code, response.get_json()
        return send

    results = run_together([attempt(token) for token in race.tokens])

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (COUNTERS - 1)
    for status, answer in results:
        if status == 409:
            assert [r["code"] for r in answer["unmet"]] == ["ALREADY_DISPENSED"]
    count, rx_status, auth_state, actions, chain_ok = settled(race.url)
    assert count == 1
    assert (rx_status, auth_state) == ("dispensed", "dispensed")
    assert actions.count("dispense.recorded") == 1
    assert actions.count("dispense.refused") == COUNTERS - 1
    assert chain_ok


def test_twenty_browser_counters_dispense_one_authorization_exactly_once(race: Race) -> None:
    # Each counter signs in and looks the authorization up first, as at a real counter.
    status_pages = []
    for email, _ in race.pharmacists:
        client = race.app.test_client()
        login(client, email, builders.PASSWORD)
        page = client.get("/pharmacy").get_data(as_text=True)
        shown = client.post("/pharmacy", data={
            "csrf_token": csrf_token(page), "authorization_number": race.number,
            "date_of_birth": BORN}, follow_redirects=True)
        assert shown.status_code == 200
        assert "May be dispensed now" in shown.get_data(as_text=True)
        status_pages.append((client, shown.get_data(as_text=True)))

    def attempt(client: Any, page: str) -> Callable[[], tuple[int, str]]:
        def press() -> tuple[int, str]:
            response = client.post("/pharmacy/dispense", data={
                "csrf_token": csrf_token(page), "authorization_number": race.number,
                "date_of_birth": BORN, "quantity": "30", "days_supply": "30",
                "medication_guide_given": "y"})
            if response.status_code == 303:
                # A refusal leads back, by GET, to the status page that says why.
                return 303, client.get(response.headers["Location"]).get_data(as_text=True)
            return response.status_code, response.get_data(as_text=True)
        return press

    results = run_together([attempt(client, page) for client, page in status_pages])

    statuses = [status for status, _ in results]
    assert sorted(statuses) == [302] + [303] * (COUNTERS - 1)
    winner = race.pharmacists[statuses.index(302)][1]
    for status, page in results:
        if status == 303:
            assert f"Already dispensed on Dec 15, 2026 at 12:00 PM ET by {winner}" in page
    count, rx_status, auth_state, actions, chain_ok = settled(race.url)
    assert count == 1
    assert (rx_status, auth_state) == ("dispensed", "dispensed")
    assert actions.count("dispense.recorded") == 1
    assert chain_ok


PAIRS = 10


@dataclass
class Pairs:
    app: Flask
    url: str
    authorizations: list[tuple[int, str, str]]  # (prescription id, number, birth date)
    dispenser: str
    reverser: str


@pytest.fixture
def pairs(fresh_database: str, tmp_path: Path) -> Iterator[Pairs]:
    """Ten patients, each with an authorization ready to dispense; one counter to dispense them
    and another to reverse them."""
    clock = Clock(eastern_noon(TODAY))
    setup = Database(fresh_database)
    with setup.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
        doc = builders.as_user(ctx, builders.prescriber(ctx))
        authorizations = []
        for n in range(PAIRS):
            patient = builders.ready_for_first_fill(doc, last=f"Patient{n}")
            rx = builders.prescription(doc, patient.id)
            auth = authorization_service.authorize(doc, rx.id, signature=SIGNED)
            authorizations.append((rx.id, auth.number, patient.date_of_birth.isoformat()))
        dispenser = token_service.create_token(ctx, builders.pharmacist(ctx))
        reverser = token_service.create_token(ctx, builders.pharmacist(ctx))
    setup.engine.dispose()
    app = create_app(app_config(fresh_database, tmp_path / "instance", CLOCK=clock,
                                DB_POOL_SIZE=2 * PAIRS))
    try:
        yield Pairs(app, fresh_database, authorizations, dispenser, reverser)
    finally:
        app.extensions["tracker.db"].engine.dispose()


def test_dispense_and_reverse_at_the_same_instant_one_wins_and_the_other_is_refused(
    pairs: Pairs
) -> None:
    def dispense(rx_id: int, number: str) -> Callable[[], tuple[str, int, Any]]:
        def send() -> tuple[str, int, Any]:
            response = pairs.app.test_client().post(
                f"/api/v1/prescriptions/{rx_id}/dispense",
                json={"authorization_number": number, "quantity": 30, "days_supply": 30,
                      "medication_guide_given": True},
                headers={"Authorization": f"Bearer {pairs.dispenser}"})
            return number, response.status_code, response.get_json()
        return send

    def reverse(number: str, born: str) -> Callable[[], tuple[str, int, Any]]:
        def send() -> tuple[str, int, Any]:
            response = pairs.app.test_client().post(
                f"/api/v1/authorizations/{number}/reverse",
                json={"reason": "not picked up", "date_of_birth": born},
                headers={"Authorization": f"Bearer {pairs.reverser}"})
            return number, response.status_code, response.get_json()
        return send

    attempts: list[Callable[[], tuple[str, int, Any]]] = []
    for rx_id, number, born in pairs.authorizations:
        attempts += [dispense(rx_id, number), reverse(number, born)]
    results = run_together(attempts)

    by_number: dict[str, list[int]] = {}
    for number, status, _ in results:
        by_number.setdefault(number, []).append(status)
    for number, statuses in by_number.items():
        # One of the two happened; the other was refused, never failed.
        assert sorted(statuses) in ([200, 409], [201, 409]), (number, statuses)
    db = Database(pairs.url)
    try:
        with db.transaction(writes=False) as session:
            dispensed = session.scalar(select(func.count()).select_from(Dispense)) or 0
            states = {number: state for number, state in session.execute(
                select(Authorization.number, Authorization.state))}
            chain_ok = verify_chain(session, DEVELOPMENT_AUDIT_KEYS).ok
    finally:
        db.engine.dispose()
    wins = sum(1 for statuses in by_number.values() if 201 in statuses)
    assert dispensed == wins
    assert sorted(states.values()) == sorted(
        "dispensed" if 201 in by_number[n] else "reversed" for n in states)
    assert chain_ok
