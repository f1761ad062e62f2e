"""RULES.md §8 "Dispensing": an open authorization, on or before its last day (Eastern), an
active pharmacy, quantities within the prescription, the Medication Guide, every patient rule
re-checked on the dispensing date, and at most once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock
from tracker.models import Dispense
from tracker.services import authorizations, dispenses, records
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, Refused, ValidationFailed


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


@pytest.fixture
def counter(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.pharmacist(ctx))


@pytest.fixture
def authorized(doc: Context):  # type: ignore[no-untyped-def]
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    return patient, rx, authorizations.authorize(doc, rx.id, signature=SIGNED)


def codes(exc: pytest.ExceptionInfo[Refused]) -> set[str]:
    return {r.code.value for r in exc.value.decision.unmet}


def test_dispense_is_recorded_with_pharmacy_pharmacist_and_time(counter: Context,
                                                                authorized) -> None:  # type: ignore[no-untyped-def]
    _, rx, auth = authorized
    row = dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    assert row.pharmacy_id == counter.actor.pharmacy_id
    assert row.pharmacist_id == counter.actor.user_id
    assert row.dispensed_on == counter.today()
    assert rx.status == "dispensed"
    counter.session.refresh(auth)
    assert auth.state == "dispensed"


def test_second_dispense_is_refused_as_already_dispensed(counter: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    _, rx, auth = authorized
    dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    with pytest.raises(Refused) as refused:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    assert codes(refused) == {"ALREADY_DISPENSED"}
    count = counter.session.scalar(select(func.count()).select_from(Dispense))
    assert count == 1


def test_dispensing_after_the_last_day_is_refused(counter: Context, authorized,  # type: ignore[no-untyped-def]
                                                  clock: Clock) -> None:
    _, rx, auth = authorized
    clock.set_day(auth.do_not_dispense_after + timedelta(days=1))
    with pytest.raises(Refused) as refused:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    assert "AUTHORIZATION_EXPIRED" in codes(refused)


def test_last_day_ends_at_midnight_eastern_not_pacific(counter: Context, authorized,  # type: ignore[no-untyped-def]
                                                       clock: Clock) -> None:
    _, rx, auth = authorized
    last = auth.do_not_dispense_after
    pacific = ZoneInfo("America/Los_Angeles")
    clock.now = datetime(last.year, last.month, last.day, 21, 30, tzinfo=pacific).astimezone(UTC)
    with pytest.raises(Refused) as refused:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    assert "AUTHORIZATION_EXPIRED" in codes(refused)
    clock.now = datetime(last.year, last.month, last.day, 20, 59,
                         tzinfo=pacific).astimezone(UTC)  # 23:59 Eastern
    assert dispenses.dispense(counter, rx.id, auth.number, 30, 30, True).id


def test_positive_test_recorded_after_authorization_blocks_the_dispense(
    doc: Context, counter: Context, authorized  # type: ignore[no-untyped-def]
) -> None:
    patient, rx, auth = authorized
    records.record_pregnancy_test(doc, patient.id, doc.today(), "positive", "lab")
    with pytest.raises(Refused) as refused:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    # Minimum necessary: the counter learns only that the prescriber must act.
    assert codes(refused) == {"PRESCRIBER_ACTION_REQUIRED"}
    assert "positive" not in refused.value.decision.unmet[0].message.lower()


def test_inactive_pharmacy_cannot_dispense(ctx: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    _, rx, auth = authorized
    stale = builders.pharmacy(ctx, activated_on=ctx.today() - timedelta(days=400),
                              trained_on=ctx.today() - timedelta(days=10))
    counter = builders.as_user(ctx, builders.pharmacist(ctx, stale))
    with pytest.raises(Refused) as refused:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    assert codes(refused) == {"PHARMACY_INACTIVE"}


@pytest.mark.parametrize(("quantity", "days", "guide", "field"), [
    (31, 30, True, "quantity"),
    (30, 31, True, "days_supply"),
    (0, 30, True, "quantity"),
    (30, 30, False, "medication_guide_given"),
])
def test_dispense_input_is_validated_and_nothing_is_stored(
    counter: Context, authorized, quantity: int, days: int, guide: bool, field: str  # type: ignore[no-untyped-def]
) -> None:
    _, rx, auth = authorized
    with pytest.raises(ValidationFailed) as invalid:
        dispenses.dispense(counter, rx.id, auth.number, quantity, days, guide)
    assert field in invalid.value.errors
    assert rx.status == "dispensable"


def test_authorization_of_another_prescription_is_not_found(doc: Context, counter: Context,
                                                            authorized) -> None:  # type: ignore[no-untyped-def]
    _, rx, auth = authorized
    other = builders.prescription(doc, builders.enrolled_patient(doc, first="Sam").id)
    with pytest.raises(NotFound):
        dispenses.dispense(counter, other.id, auth.number, 30, 30, True)


def test_prescriber_cannot_dispense(doc: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    _, rx, auth = authorized
    with pytest.raises(Forbidden):
        dispenses.dispense(doc, rx.id, auth.number, 30, 30, True)


def test_lookup_needs_the_matching_birth_date(counter: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    patient, _, auth = authorized
    found = dispenses.lookup(counter, auth.number.lower(), patient.date_of_birth)
    assert found.decision.dispensable
    with pytest.raises(NotFound):
        dispenses.lookup(counter, auth.number, date(1990, 1, 1))
    with pytest.raises(NotFound):
        dispenses.lookup(counter, "0000-0000-0000", patient.date_of_birth)


def test_dispensed_prescription_cannot_be_reversed(doc: Context, counter: Context,
                                                   authorized) -> None:  # type: ignore[no-untyped-def]
    _, rx, auth = authorized
    dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    with pytest.raises(Refused) as refused:
        authorizations.reverse(doc, auth.number, "not picked up")
    assert codes(refused) == {"ALREADY_DISPENSED"}


def test_next_fill_needs_records_dated_after_the_dispense(doc: Context, counter: Context,
                                                          authorized, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    patient, rx, auth = authorized
    dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    nxt = builders.prescription(doc, patient.id)
    with pytest.raises(Refused) as refused:
        authorizations.authorize(doc, nxt.id, signature=SIGNED)
    assert {"COUNSELING_MISSING", "CONTRACEPTION_MISSING", "COMPREHENSION_MISSING",
            "PREGNANCY_TEST_MISSING"} <= codes(refused)
    clock.set_day(doc.today() + timedelta(days=28))
    today = doc.today()
    records.record_counseling(doc, patient.id, today)
    records.record_contraception(doc, patient.id, today, today - timedelta(days=70),
                                 ["iud", "male_condom"], False)
    records.record_pregnancy_test(doc, patient.id, today, "negative", "lab")
    records.record_comprehension(doc, patient.id, today, builders.ANSWERS,
                                 ["iud", "male_condom"], False)
    auth = authorizations.authorize(doc, nxt.id, signature=SIGNED)
    assert auth.do_not_dispense_after == today + timedelta(6)


def test_authorized_late_in_the_cycle_it_is_dispensed_on_its_last_day(
    doc: Context, counter: Context, clock: Clock
) -> None:
    """RULES.md §8, worked example 9: the patient is re-checked as of the issue day, so monthly
    records that age out of the 30-day cycle before the last day do not lose the fill."""
    today = doc.today()
    patient = builders.enrolled_patient(doc, signed_on=today - timedelta(days=90))
    month = today - timedelta(days=26)
    records.record_pregnancy_test(doc, patient.id, today - timedelta(days=45), "negative",
                                  "office")
    records.record_contraception(doc, patient.id, month, today - timedelta(days=80),
                                 ["iud", "male_condom"], False)
    records.record_counseling(doc, patient.id, month)
    records.record_comprehension(doc, patient.id, month, builders.ANSWERS,
                                 ["iud", "male_condom"], False)
    records.record_pregnancy_test(doc, patient.id, today, "negative", "lab")
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    clock.set_day(auth.do_not_dispense_after)
    assert (doc.today() - month).days == 32
    found = dispenses.lookup(counter, auth.number, patient.date_of_birth)
    assert found.decision.dispensable
    assert dispenses.dispense(counter, rx.id, auth.number, 30, 30, True).dispensed_on == (
        auth.do_not_dispense_after)


def test_a_positive_test_after_the_issue_day_blocks_even_after_a_later_negative_one(
    doc: Context, counter: Context, authorized, clock: Clock  # type: ignore[no-untyped-def]
) -> None:
    patient, rx, auth = authorized
    clock.set_day(doc.today() + timedelta(days=1))
    records.record_pregnancy_test(doc, patient.id, doc.today(), "positive", "lab")
    clock.set_day(doc.today() + timedelta(days=1))
    records.record_pregnancy_test(doc, patient.id, doc.today(), "negative", "lab")
    with pytest.raises(Refused) as refused:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    assert codes(refused) == {"PRESCRIBER_ACTION_REQUIRED"}
