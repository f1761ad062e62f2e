"""RULES.md §8 "Marking dispensable": evaluated on the program date inside the write's own
transaction; success issues an unguessable number, a refusal lists every unmet requirement and
changes nothing but the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock
from tracker.models import AuditEvent, Authorization, Prescription
from tracker.services import authorizations, prescriptions, records
from tracker.services.context import Context
from tracker.services.errors import NotFound, Refused


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


def codes(exc: pytest.ExceptionInfo[Refused]) -> set[str]:
    return {r.code.value for r in exc.value.decision.unmet}


def test_ready_patient_is_authorized_with_window_end_as_last_day(doc: Context) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert auth.do_not_dispense_after == doc.today() + timedelta(days=5)  # confirmation D-1, D+6
    assert auth.rule_set == "ipledge-2026"
    assert auth.issued_on == doc.today()
    assert rx.status == "dispensable"
    assert len(auth.number) == 14 and auth.number.count("-") == 2
    used = dict.fromkeys(kind for kind, _ in __import__("json").loads(auth.decision_used))
    assert {"acknowledgment", "pregnancy_test", "contraception", "counseling",
            "comprehension"} <= set(used)


def test_refusal_lists_every_unmet_requirement_and_changes_nothing_but_the_audit(
    doc: Context,
) -> None:
    patient = builders.enrolled_patient(doc)
    rx = builders.prescription(doc, patient.id)
    audit_before = doc.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(Refused) as refused:
        authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert {"COUNSELING_MISSING", "CONTRACEPTION_MISSING", "COMPREHENSION_MISSING",
            "PREGNANCY_TEST_MISSING"} <= codes(refused)
    assert doc.session.get(Prescription, rx.id).status == "pending"
    assert doc.session.scalar(select(func.count()).select_from(Authorization)) == 0
    events = doc.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).all()
    assert len(events) == audit_before + 1
    assert events[0].action == "authorization.refused"
    assert "PREGNANCY_TEST_MISSING" in (events[0].new_values or "")


def test_prescription_that_is_not_pending_cannot_be_marked_again(doc: Context) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    authorizations.authorize(doc, rx.id, signature=SIGNED)
    with pytest.raises(Refused) as refused:
        authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert "PRESCRIPTION_NOT_PENDING" in codes(refused)


def test_one_open_authorization_per_patient(doc: Context) -> None:
    patient = builders.ready_for_first_fill(doc)
    first = builders.prescription(doc, patient.id)
    second = builders.prescription(doc, patient.id)
    authorizations.authorize(doc, first.id, signature=SIGNED)
    with pytest.raises(Refused) as refused:
        authorizations.authorize(doc, second.id, signature=SIGNED)
    assert "OTHER_AUTHORIZATION_ACTIVE" in codes(refused)


def test_expired_unused_authorization_no_longer_blocks_a_new_one(doc: Context,
                                                                 clock: Clock) -> None:
    patient = builders.ready_for_first_fill(doc)
    first = builders.prescription(doc, patient.id)
    old = authorizations.authorize(doc, first.id, signature=SIGNED)
    # After the window closes, a new confirmation test opens a new first-fill window.
    clock.set_day(doc.today() + timedelta(days=7))
    records.record_pregnancy_test(doc, patient.id, doc.today(), "negative", "lab")
    records.record_counseling(doc, patient.id, doc.today())
    second = builders.prescription(doc, patient.id)
    new = authorizations.authorize(doc, second.id, signature=SIGNED)
    assert new.number != old.number
    doc.session.refresh(old)
    assert old.state == "lapsed"
    event = doc.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "authorization.lapsed")).one()
    assert event.object_id == old.number and event.patient_id == patient.id


def test_authorization_numbers_are_random_and_unique() -> None:
    numbers = {authorizations.new_authorization_number() for _ in range(2000)}
    assert len(numbers) == 2000
    assert not any(set(n) & set("ILOU") for n in numbers)


def test_reversal_returns_the_prescription_to_pending_and_a_new_number_is_issued(
    doc: Context,
) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    first = authorizations.authorize(doc, rx.id, signature=SIGNED)
    authorizations.reverse(doc, first.number, "entered on the wrong patient")
    assert rx.status == "pending"
    doc.session.refresh(first)
    assert first.state == "reversed" and first.close_reason == "entered on the wrong patient"
    second = authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert second.number != first.number


def test_reversal_needs_a_reason(doc: Context) -> None:
    from tracker.services.errors import ValidationFailed

    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    with pytest.raises(ValidationFailed) as invalid:
        authorizations.reverse(doc, auth.number, "  ")
    assert "reason" in invalid.value.errors


def test_another_prescribers_prescription_is_not_found(ctx: Context, doc: Context) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Other Doc"))
    with pytest.raises(NotFound):
        authorizations.authorize(other, rx.id, signature=SIGNED)
    with pytest.raises(NotFound):
        prescriptions.eligibility(other, rx.id)


def test_inactive_prescriber_cannot_mark_dispensable(doc: Context) -> None:
    from tracker.models import User

    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    doc.session.get(User, doc.actor.user_id).active = False
    with pytest.raises(Refused) as refused:
        authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert codes(refused) == {"PRESCRIBER_INACTIVE"}


def test_eligibility_as_of_a_past_date_ignores_later_records(doc: Context) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    today = doc.today()
    assert prescriptions.eligibility(doc, rx.id).dispensable
    past = prescriptions.eligibility(doc, rx.id, as_of=today - timedelta(days=2))
    assert not past.dispensable
    assert past.as_of == today - timedelta(days=2)


def test_window_closes_after_day_seven_through_the_service(doc: Context, clock: Clock) -> None:
    patient = builders.ready_for_first_fill(doc)  # confirmation collected yesterday (day 1)
    rx = builders.prescription(doc, patient.id)
    clock.set_day(doc.today() + timedelta(days=5))  # day 7
    assert prescriptions.eligibility(doc, rx.id).dispensable
    clock.set_day(doc.today() + timedelta(days=1))  # day 8
    decision = prescriptions.eligibility(doc, rx.id)
    assert "WINDOW_EXPIRED" in {r.code.value for r in decision.unmet}


def test_cannot_get_pregnant_patient_under_2026_rules_has_no_window(doc: Context) -> None:
    patient = builders.enrolled_patient(doc, category="cannot_get_pregnant")
    records.record_counseling(doc, patient.id, doc.today() - timedelta(days=3))
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert auth.do_not_dispense_after is None


def test_cannot_get_pregnant_patient_under_2021_rules_gets_visit_plus_29(
    ctx: Context, clock: Clock
) -> None:
    import dataclasses

    # Before ipledge-2023 took effect (2023-10-01): ipledge-2021 decides.
    clock.set_day(date(2023, 3, 31))
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    patient = builders.enrolled_patient(doc, category="cannot_get_pregnant",
                                        signed_on=date(2023, 3, 1))
    records.record_counseling(doc, patient.id, date(2023, 3, 2))
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(dataclasses.replace(doc), rx.id, signature=SIGNED)
    assert auth.rule_set == "ipledge-2021"
    assert auth.do_not_dispense_after == date(2023, 3, 31)


@pytest.mark.parametrize("as_of", [date(2021, 12, 12), date(2026, 12, 16), date(1, 1, 1)])
def test_eligibility_is_asked_between_the_first_rule_set_and_today(doc: Context,
                                                                   as_of: date) -> None:
    from tracker.services.errors import ValidationFailed

    patient = builders.enrolled_patient(doc)
    rx = builders.prescription(doc, patient.id)
    with pytest.raises(ValidationFailed) as invalid:
        prescriptions.eligibility(doc, rx.id, as_of=as_of)
    assert "as_of" in invalid.value.errors
    assert prescriptions.eligibility(doc, rx.id, as_of=date(2021, 12, 13)).rule_set == (
        "ipledge-2021")
