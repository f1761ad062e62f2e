"""API.md "Guessing is throttled": wrong birth dates for one authorization number, from any user
(lookup or reverse), lock that number for pharmacy staff after 5 tries in 24 hours; 30 failed
lookups by one user in an hour lock that user's lookups. Every lookup, found or not, is in the
access log of the audit trail, with who and from which pharmacy, and never the birth date tried."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock
from tracker.models import AuditEvent
from tracker.services import authorizations, counter_access, dispenses
from tracker.services.context import Context
from tracker.services.errors import NoMatch, Throttled

WRONG = date(1990, 1, 1)


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


@pytest.fixture
def authorized(doc: Context):  # type: ignore[no-untyped-def]
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    return patient, authorizations.authorize(doc, rx.id, signature=SIGNED)


@pytest.fixture
def counter(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.pharmacist(ctx))


def fail(counter: Context, number: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(NoMatch):
            dispenses.lookup(counter, number, WRONG)


def events(ctx: Context, action: str) -> list[AuditEvent]:
    return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)))


def test_five_wrong_birth_dates_lock_the_number_even_for_the_right_one(
    ctx: Context, counter: Context, authorized, clock: Clock  # type: ignore[no-untyped-def]
) -> None:
    patient, auth = authorized
    fail(counter, auth.number, 4)
    assert dispenses.lookup(counter, auth.number, patient.date_of_birth).decision.dispensable
    fail(counter, auth.number)
    clock.now += timedelta(hours=1)
    with pytest.raises(Throttled) as throttled:
        dispenses.lookup(counter, auth.number, patient.date_of_birth)
    assert throttled.value.retry_after == 23 * 3600  # the first failure leaves the 24 hours
    assert len(events(ctx, counter_access.THROTTLED)) == 1


def test_tries_from_other_users_and_reversals_count_for_the_number(
    ctx: Context, counter: Context, authorized  # type: ignore[no-untyped-def]
) -> None:
    patient, auth = authorized
    other = builders.as_user(ctx, builders.pharmacist(ctx))
    fail(counter, auth.number, 2)
    fail(other, auth.number, 2)
    with pytest.raises(NoMatch):
        authorizations.reverse(other, auth.number, "not picked up", WRONG)
    for who in (counter, other):
        with pytest.raises(Throttled):
            authorizations.reverse(who, auth.number, "not picked up", patient.date_of_birth)
        with pytest.raises(Throttled):
            dispenses.lookup(who, auth.number, patient.date_of_birth)


def test_the_lock_ends_24_hours_after_the_oldest_of_the_five(
    counter: Context, authorized, clock: Clock  # type: ignore[no-untyped-def]
) -> None:
    patient, auth = authorized
    fail(counter, auth.number)
    clock.now += timedelta(hours=2)
    fail(counter, auth.number, 4)
    clock.now += timedelta(hours=22) - timedelta(seconds=1)
    with pytest.raises(Throttled) as throttled:
        dispenses.lookup(counter, auth.number, patient.date_of_birth)
    assert throttled.value.retry_after == 1
    clock.now += timedelta(seconds=1)
    assert dispenses.lookup(counter, auth.number, patient.date_of_birth).decision.dispensable


def test_thirty_failed_lookups_in_an_hour_lock_that_users_lookups(
    ctx: Context, counter: Context, authorized, clock: Clock  # type: ignore[no-untyped-def]
) -> None:
    patient, auth = authorized
    for n in range(30):
        fail(counter, f"0000-0000-{n:04d}")
    with pytest.raises(Throttled) as throttled:
        dispenses.lookup(counter, auth.number, patient.date_of_birth)
    assert throttled.value.retry_after == 3600
    other = builders.as_user(ctx, builders.pharmacist(ctx))
    assert dispenses.lookup(other, auth.number, patient.date_of_birth).decision.dispensable
    clock.now += timedelta(hours=1)
    assert dispenses.lookup(counter, auth.number, patient.date_of_birth).decision.dispensable


def test_twenty_nine_failures_do_not_lock_the_user(counter: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    patient, auth = authorized
    for n in range(29):
        fail(counter, f"0000-0000-{n:04d}")
    assert dispenses.lookup(counter, auth.number, patient.date_of_birth).decision.dispensable


def test_the_prescriber_is_not_throttled_by_the_counter(
    doc: Context, counter: Context, authorized  # type: ignore[no-untyped-def]
) -> None:
    _, auth = authorized
    fail(counter, auth.number, 5)
    assert authorizations.reverse(doc, auth.number, "wrong entry").status == "pending"


def test_every_lookup_is_in_the_access_log_with_who_and_which_pharmacy(
    ctx: Context, counter: Context, authorized  # type: ignore[no-untyped-def]
) -> None:
    patient, auth = authorized
    dispenses.lookup(counter, auth.number, patient.date_of_birth)
    fail(counter, auth.number)
    fail(counter, "ZZZZ-ZZZZ-ZZZZ")
    [found] = events(ctx, counter_access.LOOKED_UP)
    assert (found.actor_id, found.patient_id, found.object_id) == (
        counter.actor.user_id, patient.id, auth.number)
    assert json.loads(found.new_values or "{}")["pharmacy_id"] == counter.actor.pharmacy_id
    wrong_date, unknown = events(ctx, counter_access.LOOKUP_FAILED)
    assert wrong_date.patient_id == patient.id and wrong_date.object_id == auth.number
    assert unknown.patient_id is None and unknown.object_id == "ZZZZ-ZZZZ-ZZZZ"
    for event in (found, wrong_date, unknown):
        assert WRONG.isoformat() not in (event.new_values or "")
        assert patient.date_of_birth.isoformat() not in (event.new_values or "")
