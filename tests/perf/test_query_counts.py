"""SQL statements per request: the budgets of the national-scale issue, measured with the
`count_queries` fixture (statements sent on the test connection; savepoints excluded).

A request's cost must not grow with the patient's history nor with the number of patients:
each test measures a patient with a one-month history and one with a twelve-month history,
then adds a few hundred generated patients and measures again, and asserts the same count
every time, within the budget. Counts, not times: they do not depend on the machine."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient

from tests.builders import (
    ANSWERS,
    PASSWORD,
    SIGNED,
    as_user,
    enrolled_patient,
    pharmacist,
    pharmacy,
    prescriber,
)
from tests.conftest import TODAY, Clock, login
from tracker.bulkdemo import generate_patients
from tracker.models import Patient, Pharmacy, Prescription, User
from tracker.services import authorizations, dispenses, prescriptions, records
from tracker.services.context import Context

# The token (one indexed query), the prescription with its patient and prescriber, the
# patient's history (one UNION ALL).
ELIGIBILITY_BUDGET = 3
# The token, the guessing throttle, the authorization with its prescription, patient,
# prescriber, dispense and the counter's pharmacy, the history, and the access-log event (API.md
# "Every lookup, found or not, is written to the access log": the chain's head, the event).
LOOKUP_BUDGET = 6
# The token, the authorization with its case and pharmacy, the history, the two conditional
# UPDATEs (prescription, authorization), the dispense, and its audit event (head, event).
DISPENSE_BUDGET = 8
# With an Idempotency-Key, also the claim (one INSERT ... ON CONFLICT DO NOTHING) and the answer
# kept for replays (one UPDATE).
IDEMPOTENT_DISPENSE_BUDGET = 10
# The same on PostgreSQL: there the chain's head is read by audit_chain_head(), which takes the
# chain's advisory lock first (one statement), and the claim sets the lock_timeout a duplicate
# of a running request waits for, and sets it back, inside its own statement.
PAGE_BUDGET = 12  # the worklist and the patient page
METHODS = ["iud", "male_condom"]
MONTH = timedelta(days=30)
POPULATION = 300  # generated patients added between the two measurements


@dataclasses.dataclass
class World:
    doc: User
    doc_ctx: Context
    counter: User  # pharmacy staff at a pharmacy active today
    patients: dict[str, Patient]  # "short" and "long" history
    prescriptions: dict[str, Prescription]  # each patient's prescription of today


def _monthly_records(ctx: Context, patient_id: int, day: date, started: date) -> None:
    """RULES.md §6: counseling, contraception, a negative lab test and the questions."""
    records.record_counseling(ctx, patient_id, day)
    records.record_contraception(ctx, patient_id, day, started, METHODS, False)
    records.record_pregnancy_test(ctx, patient_id, day, "negative", "lab")
    records.record_comprehension(ctx, patient_id, day, ANSWERS, METHODS, False)


def _treated(doc_ctx: Context, history_counter: User, clock: Clock, months: int,
             last: str) -> tuple[Patient, Prescription]:
    """A patient who can get pregnant, treated for `months` months (one fill a month), with
    today's records done and today's prescription written (pending)."""
    start = TODAY - MONTH * (months + 1) - timedelta(days=20)
    clock.set_day(start)
    patient = enrolled_patient(doc_ctx, signed_on=start, last=last)
    records.record_pregnancy_test(doc_ctx, patient.id, start, "negative", "office")
    records.record_contraception(doc_ctx, patient.id, start, start, METHODS, False)
    visit = start + timedelta(days=31)
    counter_ctx = as_user(doc_ctx, history_counter)
    for _ in range(months):
        clock.set_day(visit)
        _monthly_records(doc_ctx, patient.id, visit, start)
        rx = prescriptions.write_prescription(doc_ctx, patient.id, visit, 30, 30)
        number = authorizations.authorize(doc_ctx, rx.id, signature=SIGNED).number
        dispenses.dispense(counter_ctx, rx.id, number, 30, 30, True)
        visit += MONTH
    clock.set_day(TODAY)
    _monthly_records(doc_ctx, patient.id, TODAY, start)
    today_rx = prescriptions.write_prescription(doc_ctx, patient.id, TODAY, 30, 30)
    return patient, today_rx


@pytest.fixture
def world(ctx: Context, clock: Clock) -> World:
    doc = prescriber(ctx)
    doc_ctx = as_user(ctx, doc)
    # The history's dispenses happened at a pharmacy active through all of them (an activation
    # lasts 365 days, RULES.md §3): activated on the long history's first fill.
    long_ago = TODAY - MONTH * 13 - timedelta(days=20) + timedelta(days=31)
    history_counter = pharmacist(ctx, pharmacy(ctx, activated_on=long_ago, trained_on=long_ago))
    counter = pharmacist(ctx)
    short_patient, short_rx = _treated(doc_ctx, history_counter, clock, 1, "Short")
    long_patient, long_rx = _treated(doc_ctx, history_counter, clock, 12, "Long")
    ctx.session.flush()
    return World(doc, doc_ctx, counter, {"short": short_patient, "long": long_patient},
                 {"short": short_rx, "long": long_rx})


def _grow(ctx: Context) -> None:
    """Hundreds more patients in the database, some of them the same prescriber's."""
    generate_patients(ctx, POPULATION, seed=8)
    ctx.session.flush()


def _measure(count_queries, send) -> int:  # type: ignore[no-untyped-def]
    """Statements of one request, after a first identical one (which may, once a minute,
    record when a token or a session was last used)."""
    send()
    with count_queries() as q:
        response = send()
    assert response.status_code < 400, response.get_data(as_text=True)[:500]
    return q.count


def test_eligibility_check_is_a_few_statements_whatever_the_history_or_population(
        world: World, ctx: Context, api, count_queries) -> None:  # type: ignore[no-untyped-def]
    client = api(ctx, world.doc)
    counts = []
    for population in ("small", "large"):
        if population == "large":
            _grow(ctx)
        for history in ("short", "long"):
            rx = world.prescriptions[history]
            counts.append(_measure(count_queries, lambda rx=rx: client.get(
                f"/prescriptions/{rx.id}/eligibility")))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= ELIGIBILITY_BUDGET


def test_eligibility_is_dispensable_for_both_histories(world: World, ctx: Context, api) -> None:  # type: ignore[no-untyped-def]
    # The measured requests decide the real case (a later fill, every requirement met), not
    # a refusal that might stop early.
    client = api(ctx, world.doc)
    for rx in world.prescriptions.values():
        body = client.get(f"/prescriptions/{rx.id}/eligibility").get_json()
        assert body["dispensable"] is True, body["unmet"]


def _authorized(world: World) -> dict[str, str]:
    return {history: authorizations.authorize(world.doc_ctx, rx.id, signature=SIGNED).number
            for history, rx in world.prescriptions.items()}


def test_pharmacy_lookup_is_a_few_statements_whatever_the_history_or_population(
        world: World, ctx: Context, api, count_queries) -> None:  # type: ignore[no-untyped-def]
    numbers = _authorized(world)
    client = api(ctx, world.counter)
    counts = []
    for population in ("small", "large"):
        if population == "large":
            _grow(ctx)
        for history, number in numbers.items():
            born = world.patients[history].date_of_birth.isoformat()
            counts.append(_measure(count_queries, lambda n=number, b=born: client.get(
                f"/authorizations/{n}?date_of_birth={b}")))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= LOOKUP_BUDGET


def _dispense_counts(world: World, ctx: Context, clock: Clock, api, count_queries,  # type: ignore[no-untyped-def]
                     idempotency_key: bool) -> list[int]:
    client = api(ctx, world.counter)
    counts = []
    for population in ("small", "large"):
        if population == "large":
            _grow(ctx)
            # A second month: the same patients' next prescriptions, written and authorized.
            clock.set_day(TODAY + MONTH)
            for history, patient in world.patients.items():
                day = TODAY + MONTH
                _monthly_records(world.doc_ctx, patient.id, day, TODAY - MONTH * 20)
                world.prescriptions[history] = prescriptions.write_prescription(
                    world.doc_ctx, patient.id, day, 30, 30)
        numbers = _authorized(world)
        for history, number in numbers.items():
            rx = world.prescriptions[history]
            # The counter looks the authorization up first, as at a real counter (and the
            # token's use of the minute is recorded then, not during the dispense).
            born = world.patients[history].date_of_birth.isoformat()
            assert client.get(f"/authorizations/{number}?date_of_birth={born}").status_code == 200
            body = {"authorization_number": number, "quantity": 30, "days_supply": 30,
                    "medication_guide_given": True}
            headers = {"Idempotency-Key": f"fill-{rx.id}"} if idempotency_key else {}
            with count_queries() as q:
                response = client.post(f"/prescriptions/{rx.id}/dispense", json=body,
                                       headers=headers)
            assert response.status_code == 201, response.get_json()
            counts.append(q.count)
    return counts


def test_dispense_is_a_bounded_number_of_statements_whatever_the_history_or_population(
        world: World, ctx: Context, clock: Clock, api, count_queries) -> None:  # type: ignore[no-untyped-def]
    counts = _dispense_counts(world, ctx, clock, api, count_queries, idempotency_key=False)
    assert len(set(counts)) == 1, counts
    assert counts[0] <= DISPENSE_BUDGET


def test_dispense_with_an_idempotency_key_adds_the_claim_and_the_kept_answer(
        world: World, ctx: Context, clock: Clock, api, count_queries) -> None:  # type: ignore[no-untyped-def]
    counts = _dispense_counts(world, ctx, clock, api, count_queries, idempotency_key=True)
    assert len(set(counts)) == 1, counts
    assert counts[0] <= IDEMPOTENT_DISPENSE_BUDGET


# --- pages ---------------------------------------------------------------------------------------


def _signed_in(client: FlaskClient, user: User) -> FlaskClient:
    login(client, user.email, PASSWORD)
    return client


def test_worklist_page_is_a_bounded_number_of_statements_whatever_the_population(
        world: World, ctx: Context, client: FlaskClient, count_queries) -> None:  # type: ignore[no-untyped-def]
    _signed_in(client, world.doc)
    counts = [_measure(count_queries, lambda: client.get("/worklist"))]
    _grow(ctx)
    mine = ctx.session.query(Patient).filter(Patient.prescriber_id == world.doc.id).count()
    assert mine > 50  # more than a page of the prescriber's own patients
    counts.append(_measure(count_queries, lambda: client.get("/worklist")))
    counts.append(_measure(count_queries, lambda: client.get("/worklist?page=2")))
    counts.append(_measure(count_queries, lambda: client.get("/worklist?q=Long")))
    assert len(set(counts)) == 1, counts
    assert counts[0] <= PAGE_BUDGET


def _patient_page_counts(world: World, ctx: Context, client: FlaskClient,
                         count_queries) -> list[int]:  # type: ignore[no-untyped-def]
    _signed_in(client, world.doc)
    counts = []
    for population in ("small", "large"):
        if population == "large":
            _grow(ctx)
        for patient in world.patients.values():
            counts.append(_measure(count_queries, lambda p=patient: client.get(
                f"/patients/{p.id}")))
    return counts


def test_patient_page_costs_the_same_statements_whatever_the_history_or_population(
        world: World, ctx: Context, client: FlaskClient, count_queries) -> None:  # type: ignore[no-untyped-def]
    counts = _patient_page_counts(world, ctx, client, count_queries)
    assert len(set(counts)) == 1, counts


def test_patient_page_is_within_its_statement_budget(
        world: World, ctx: Context, client: FlaskClient, count_queries) -> None:  # type: ignore[no-untyped-def]
    counts = _patient_page_counts(world, ctx, client, count_queries)
    assert max(counts) <= PAGE_BUDGET, counts


def test_history_sizes_are_what_the_tests_claim(world: World, ctx: Context) -> None:
    from sqlalchemy import func, select

    from tracker.models import Dispense

    def fills(patient: Patient) -> int:
        return ctx.session.scalar(select(func.count()).select_from(Dispense).where(
            Dispense.patient_id == patient.id)) or 0

    assert fills(world.patients["short"]) == 1
    assert fills(world.patients["long"]) == 12
    assert ctx.session.get(Pharmacy, world.counter.pharmacy_id) is not None
