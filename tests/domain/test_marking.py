"""RULES.md §8 "Marking dispensable": the prescription, the prescriber, one open authorization."""

from __future__ import annotations

import pytest

from tracker.domain.facts import PrescriptionStatus
from tracker.domain.policy import IPLEDGE_2026
from tracker.domain.rules import evaluate

from .builders import RX_ID, codes, d, days, qualified_later_fill, reason

T = d("2026-12-10")


@pytest.mark.parametrize(
    "status",
    [PrescriptionStatus.DISPENSABLE, PrescriptionStatus.DISPENSED, PrescriptionStatus.CANCELLED],
)
def test_only_a_pending_prescription_can_be_marked_dispensable(
    status: PrescriptionStatus,
) -> None:
    decision = evaluate(qualified_later_fill(T).case(status=status), T, IPLEDGE_2026)
    assert codes(decision) == ["PRESCRIPTION_NOT_PENDING"]
    not_pending = reason(decision, "PRESCRIPTION_NOT_PENDING")
    assert not_pending.met_from is None
    assert not_pending.message == (
        f"The prescription is {status.value}; only a pending prescription can be marked "
        "dispensable."
    )


def test_inactive_prescriber_cannot_mark_dispensable() -> None:
    decision = evaluate(qualified_later_fill(T).case(active=False), T, IPLEDGE_2026)
    assert codes(decision) == ["PRESCRIBER_INACTIVE"]
    assert reason(decision, "PRESCRIBER_INACTIVE").met_from is None


@pytest.mark.parametrize(("closes", "blocks"), [(0, True), (3, True), (-1, False)])
def test_other_open_authorization_blocks_until_its_last_day_has_passed(
    closes: int, blocks: bool
) -> None:
    history = qualified_later_fill(T).authorize(T - days(5), T + days(closes), number="AB12")
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == (["OTHER_AUTHORIZATION_ACTIVE"] if blocks else [])
    if blocks:
        other = reason(decision, "OTHER_AUTHORIZATION_ACTIVE")
        assert other.met_from == T + days(closes + 1)
        assert other.message == (
            f"Authorization AB12 of another prescription is open through {T + days(closes)}; "
            "it must be dispensed, reversed or expire first."
        )


def test_other_authorization_without_a_last_day_stays_open() -> None:
    history = qualified_later_fill(T).authorize(T - days(200), None, number="N1")
    other = reason(evaluate(history.case(), T, IPLEDGE_2026), "OTHER_AUTHORIZATION_ACTIVE")
    assert other.met_from is None
    assert other.message == (
        "Authorization N1 of another prescription is open; it must be dispensed, reversed or "
        "expire first."
    )


def test_authorization_issued_after_the_evaluation_date_did_not_exist_yet() -> None:
    history = qualified_later_fill(T).authorize(T + days(1), T + days(7))
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_the_prescriptions_own_authorization_is_not_another_one() -> None:
    history = qualified_later_fill(T).authorize(T, T + days(6), prescription_id=RX_ID)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_every_unmet_requirement_is_listed_in_rule_book_order() -> None:
    history = qualified_later_fill(T).authorize(T, None)
    history.tests.clear()
    history.counseling.clear()
    case = history.case(status=PrescriptionStatus.CANCELLED, active=False)
    assert codes(evaluate(case, T, IPLEDGE_2026)) == [
        "PRESCRIPTION_NOT_PENDING", "PRESCRIBER_INACTIVE", "OTHER_AUTHORIZATION_ACTIVE",
        "COUNSELING_MISSING", "PREGNANCY_TEST_MISSING",
    ]
