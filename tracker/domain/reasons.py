"""Why a prescription cannot be marked dispensable or dispensed (RULES.md §11).

A `Reason` is one unmet requirement: a stable code that programs test, a one-line message a
dermatologist understands (dates written out), and where it can be computed the earliest date the
requirement can be met (`met_from`) or the date a window closed (`closed_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class ReasonCode(StrEnum):
    """Every code of RULES.md §11; the value is the name (it is part of the API contract)."""

    # RULES.md §4, §3, §8: who may take part and in which state the prescription is.
    PATIENT_NOT_ENROLLED = "PATIENT_NOT_ENROLLED"
    COURSE_ENDED = "COURSE_ENDED"
    PRESCRIBER_INACTIVE = "PRESCRIBER_INACTIVE"
    PRESCRIPTION_NOT_PENDING = "PRESCRIPTION_NOT_PENDING"
    OTHER_AUTHORIZATION_ACTIVE = "OTHER_AUTHORIZATION_ACTIVE"
    # RULES.md §6, §7: the patient's requirements.
    COUNSELING_MISSING = "COUNSELING_MISSING"
    CONTRACEPTION_MISSING = "CONTRACEPTION_MISSING"
    CONTRACEPTION_LEAD_TIME = "CONTRACEPTION_LEAD_TIME"
    CONTRACEPTION_MISMATCH = "CONTRACEPTION_MISMATCH"
    COMPREHENSION_MISSING = "COMPREHENSION_MISSING"
    PREGNANCY_TEST_MISSING = "PREGNANCY_TEST_MISSING"
    PREGNANCY_TEST_POSITIVE = "PREGNANCY_TEST_POSITIVE"
    WINDOW_EXPIRED = "WINDOW_EXPIRED"
    TEST_SETTING_NOT_ACCEPTED = "TEST_SETTING_NOT_ACCEPTED"
    SCREENING_TEST_MISSING = "SCREENING_TEST_MISSING"
    LOCKOUT_PERIOD = "LOCKOUT_PERIOD"
    # RULES.md §8: at dispensing.
    NOT_DISPENSABLE = "NOT_DISPENSABLE"
    AUTHORIZATION_EXPIRED = "AUTHORIZATION_EXPIRED"
    PHARMACY_INACTIVE = "PHARMACY_INACTIVE"
    ALREADY_DISPENSED = "ALREADY_DISPENSED"
    # RULES.md §11 and API.md "minimum necessary": pharmacy staff only.
    PRESCRIBER_ACTION_REQUIRED = "PRESCRIBER_ACTION_REQUIRED"


# API.md "minimum necessary": the codes pharmacy staff may read as they are. Every other code is
# clinical and is folded into PRESCRIBER_ACTION_REQUIRED before it reaches the counter.
PHARMACY_VISIBLE_CODES: frozenset[ReasonCode] = frozenset(
    {
        ReasonCode.NOT_DISPENSABLE,
        ReasonCode.AUTHORIZATION_EXPIRED,
        ReasonCode.PHARMACY_INACTIVE,
        ReasonCode.ALREADY_DISPENSED,
        ReasonCode.PRESCRIBER_INACTIVE,
        ReasonCode.WINDOW_EXPIRED,
    }
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One unmet requirement.

    `met_from` is the earliest program date the requirement can be met, when one can be computed
    (the evaluation date for what can be done today); `closed_on` is the last day of a window or
    an authorization that has closed (WINDOW_EXPIRED, AUTHORIZATION_EXPIRED).
    """

    code: ReasonCode
    message: str
    met_from: date | None = None
    closed_on: date | None = None
