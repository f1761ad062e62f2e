"""RULES.md §8 "Dispensing": the authorization, the pharmacy, and the patient re-checked."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.facts import OpenAuthorization, PrescriptionStatus
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2026
from tracker.domain.rules import evaluate_dispense

from .builders import (
    ACTIVE_PHARMACY,
    CNGP,
    POS,
    RX_ID,
    cngp_patient,
    codes,
    d,
    days,
    pharmacy,
    qualified_later_fill,
    reason,
)

T = d("2026-12-10")
DISPENSABLE = PrescriptionStatus.DISPENSABLE
LAST_DAY = T + days(6)


def authorization(
    issued_on: date = T, closes: date | None = LAST_DAY, prescription_id: int = RX_ID
) -> OpenAuthorization:
    """An open authorization of the prescription being dispensed (by default)."""
    return OpenAuthorization("AUTH-1", prescription_id, issued_on, closes, "ipledge-2026")


def test_authorized_prescription_is_dispensed_within_its_dates() -> None:
    case = qualified_later_fill(T).case(status=DISPENSABLE)
    decision = evaluate_dispense(case, T + days(6), (IPLEDGE_2026,), ACTIVE_PHARMACY,
                                 authorization())
    assert decision.dispensable and decision.unmet == ()
    assert decision.do_not_dispense_after == T + days(6)


def test_dispensing_ignores_marking_only_rules() -> None:
    """No PRESCRIPTION_NOT_PENDING (it is dispensable) nor OTHER_AUTHORIZATION_ACTIVE (its own
    authorization is the open one)."""
    history = qualified_later_fill(T).authorize(T, T + days(6), prescription_id=RX_ID)
    history.authorize(T, T + days(6), prescription_id=7)
    decision = evaluate_dispense(history.case(status=DISPENSABLE), T, (IPLEDGE_2026,),
                                 ACTIVE_PHARMACY, authorization())
    assert decision.dispensable


def test_dispensed_prescription_is_already_dispensed() -> None:
    """The prescription's own dispense is not a previous one: nothing else is reported."""
    history = qualified_later_fill(T).dispense(T, prescription_id=RX_ID)
    case = history.case(status=PrescriptionStatus.DISPENSED)
    decision = evaluate_dispense(case, T, (IPLEDGE_2026,), ACTIVE_PHARMACY, None)
    assert codes(decision) == ["ALREADY_DISPENSED"]
    assert reason(decision, "ALREADY_DISPENSED").met_from is None


@pytest.mark.parametrize(
    ("status", "auth"),
    [
        (PrescriptionStatus.PENDING, None),
        (PrescriptionStatus.CANCELLED, None),
        (PrescriptionStatus.PENDING, authorization()),
        (DISPENSABLE, None),
        (DISPENSABLE, authorization(prescription_id=RX_ID + 1)),
        (DISPENSABLE, authorization(issued_on=T + days(1), closes=T + days(7))),
    ],
    ids=["pending", "cancelled", "pending-with-stale-authorization", "no-authorization",
         "authorization-of-another-prescription", "authorization-issued-later"],
)
def test_prescription_without_a_valid_authorization_is_not_dispensable(
    status: PrescriptionStatus, auth: OpenAuthorization | None
) -> None:
    case = qualified_later_fill(T).case(status=status)
    assert codes(evaluate_dispense(case, T, (IPLEDGE_2026,), ACTIVE_PHARMACY, auth)) == [
        "NOT_DISPENSABLE"
    ]


def test_authorization_expires_after_its_last_day() -> None:
    history = qualified_later_fill(T - days(1))  # test on T-1 covers T-1 .. T+5
    case = history.case(status=DISPENSABLE)
    auth = authorization(issued_on=T - days(1), closes=T)
    assert evaluate_dispense(case, T, (IPLEDGE_2026,), ACTIVE_PHARMACY, auth).dispensable
    decision = evaluate_dispense(case, T + days(1), (IPLEDGE_2026,), ACTIVE_PHARMACY, auth)
    assert codes(decision) == ["AUTHORIZATION_EXPIRED"]
    expired = reason(decision, "AUTHORIZATION_EXPIRED")
    assert expired.closed_on == T and expired.met_from is None
    assert expired.message == (
        "The authorization could be dispensed through 2026-12-10; the prescriber must authorize "
        "the prescription again."
    )


def test_authorization_without_a_last_day_does_not_expire() -> None:
    history = cngp_patient(d("2026-11-20")).counsel(d("2026-11-20"))
    case = history.case(status=DISPENSABLE)
    auth = authorization(issued_on=d("2026-11-20"), closes=None)
    active = pharmacy(d("2027-01-01"), d("2027-01-01"))
    decision = evaluate_dispense(case, d("2027-05-01"), (IPLEDGE_2026,), active, auth)
    assert decision.dispensable and decision.do_not_dispense_after is None


def test_inactive_pharmacy_is_told_what_to_renew() -> None:
    case = qualified_later_fill(T).case(status=DISPENSABLE)
    lapsed = pharmacy(d("2025-01-01"), d("2026-06-01"))
    decision = evaluate_dispense(case, T, (IPLEDGE_2026,), lapsed, authorization())
    assert codes(decision) == ["PHARMACY_INACTIVE"]
    assert reason(decision, "PHARMACY_INACTIVE").message == (
        "The pharmacy is not active. Renew the pharmacy activation: the activation of 2025-01-01 "
        "ran through 2025-12-31."
    )


def test_inactive_prescriber_blocks_the_dispense() -> None:
    case = qualified_later_fill(T).case(status=DISPENSABLE, active=False)
    decision = evaluate_dispense(case, T, (IPLEDGE_2026,), ACTIVE_PHARMACY, authorization())
    assert codes(decision) == ["PRESCRIBER_INACTIVE"]


def test_positive_test_recorded_after_the_authorization_blocks_the_dispense() -> None:
    history = qualified_later_fill(T).test(T + days(2), POS)
    case = history.case(status=DISPENSABLE)
    decision = evaluate_dispense(case, T + days(3), (IPLEDGE_2026,), ACTIVE_PHARMACY,
                                 authorization())
    assert codes(decision) == ["PREGNANCY_TEST_POSITIVE"]


def test_category_change_after_the_authorization_blocks_the_dispense() -> None:
    history = qualified_later_fill(T).change_category(T + days(1), CNGP)
    case = history.case(status=DISPENSABLE)
    decision = evaluate_dispense(case, T + days(2), (IPLEDGE_2021,), ACTIVE_PHARMACY,
                                 authorization())
    assert codes(decision)[0] == "PATIENT_NOT_ENROLLED"


def test_course_ended_after_the_authorization_blocks_the_dispense() -> None:
    history = qualified_later_fill(T).end_course(T + days(1))
    case = history.case(status=DISPENSABLE)
    decision = evaluate_dispense(case, T + days(2), (IPLEDGE_2026,), ACTIVE_PHARMACY,
                                 authorization())
    assert codes(decision)[0] == "COURSE_ENDED"


def test_every_dispensing_problem_is_listed() -> None:
    history = qualified_later_fill(T).test(T + days(1), POS)
    case = history.case(status=DISPENSABLE, active=False)
    decision = evaluate_dispense(case, T + days(9), (IPLEDGE_2026,), pharmacy(T, None),
                                 authorization())
    assert codes(decision) == [
        "AUTHORIZATION_EXPIRED", "PHARMACY_INACTIVE", "PRESCRIBER_INACTIVE",
        "PREGNANCY_TEST_POSITIVE",
    ]
