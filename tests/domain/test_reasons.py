"""RULES.md §11: the reason codes and what pharmacy staff may see of them."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from tracker.domain.reasons import PHARMACY_VISIBLE_CODES, Reason, ReasonCode

# Copied from RULES.md §11, in its order.
RULEBOOK_CODES = [
    "PATIENT_NOT_ENROLLED", "COURSE_ENDED", "PRESCRIBER_INACTIVE", "PRESCRIPTION_NOT_PENDING",
    "OTHER_AUTHORIZATION_ACTIVE", "COUNSELING_MISSING", "CONTRACEPTION_MISSING",
    "CONTRACEPTION_LEAD_TIME", "CONTRACEPTION_MISMATCH", "COMPREHENSION_MISSING",
    "PREGNANCY_TEST_MISSING", "PREGNANCY_TEST_POSITIVE", "WINDOW_EXPIRED",
    "TEST_SETTING_NOT_ACCEPTED", "SCREENING_TEST_MISSING", "LOCKOUT_PERIOD", "NOT_DISPENSABLE",
    "AUTHORIZATION_EXPIRED", "PHARMACY_INACTIVE", "ALREADY_DISPENSED",
    "PRESCRIBER_ACTION_REQUIRED",
]


def test_reason_codes_are_exactly_those_of_the_rule_book() -> None:
    assert [code.value for code in ReasonCode] == RULEBOOK_CODES


@pytest.mark.parametrize("code", list(ReasonCode))
def test_reason_code_value_is_its_name(code: ReasonCode) -> None:
    assert code == code.name
    assert ReasonCode(code.name) is code


def test_pharmacy_sees_only_non_clinical_codes() -> None:
    assert {code.value for code in PHARMACY_VISIBLE_CODES} == {
        "NOT_DISPENSABLE", "AUTHORIZATION_EXPIRED", "PHARMACY_INACTIVE", "ALREADY_DISPENSED",
        "PRESCRIBER_INACTIVE", "WINDOW_EXPIRED",
    }


def test_reason_is_frozen_with_optional_dates() -> None:
    reason = Reason(ReasonCode.WINDOW_EXPIRED, "closed")
    assert (reason.met_from, reason.closed_on) == (None, None)
    with pytest.raises(FrozenInstanceError):
        reason.met_from = date(2026, 1, 1)  # type: ignore[misc]
