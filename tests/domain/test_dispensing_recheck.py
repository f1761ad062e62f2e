"""RULES.md §8: at dispensing the patient is re-checked as of the authorization's issue day, with
the records as they stand now; what is dated after the issue day and would block a fill blocks
the dispense (worked example 9 and its edges)."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.facts import OpenAuthorization, PharmacyFacts, PrescriptionStatus
from tracker.domain.policy import IPLEDGE_2023, IPLEDGE_2026, rule_sets
from tracker.domain.rules import evaluate, evaluate_dispense

from .builders import (
    CGP,
    CNGP,
    POS,
    RX_ID,
    History,
    codes,
    d,
    days,
    enrolled,
    pharmacy,
    reason,
)

RULE_SETS = rule_sets()  # ipledge-2026 from 2026-11-15
DISPENSABLE = PrescriptionStatus.DISPENSABLE
# Worked example 9: counseling 2026-12-01, negative lab test 2026-12-26, authorized 12-27.
COUNSELED = d("2026-12-01")
TESTED = d("2026-12-26")
ISSUED = d("2026-12-27")
LAST_DAY = d("2027-01-01")
ACTIVE = pharmacy(d("2026-06-01"), d("2026-06-01"))


def example_9() -> History:
    """A later fill: dispensed on 2026-11-25, then this month's records."""
    history = enrolled(CGP, d("2026-06-01")).dispense(d("2026-11-25"))
    history.counsel(COUNSELED).contraceive(COUNSELED).comprehend(COUNSELED)
    return history.test(TESTED)


def issued(history: History, on: date = ISSUED) -> OpenAuthorization:
    """The authorization the engine issues on `on` (it must be issuable)."""
    decision = evaluate(history.case(), on, IPLEDGE_2026)
    assert decision.dispensable, decision.unmet
    return OpenAuthorization("AUTH-9", RX_ID, on, decision.do_not_dispense_after,
                             decision.rule_set)


def dispense_on(history: History, on: date, auth: OpenAuthorization,
                pharmacy_facts: PharmacyFacts = ACTIVE, active: bool = True):  # type: ignore[no-untyped-def]
    case = history.case(status=DISPENSABLE, active=active)
    return evaluate_dispense(case, on, RULE_SETS, pharmacy_facts, auth)


def test_example_9_the_authorization_runs_to_the_test_windows_last_day() -> None:
    assert issued(example_9()).do_not_dispense_after == LAST_DAY


def test_example_9_dispensed_on_the_last_day_though_counseling_is_31_days_old() -> None:
    history = example_9()
    decision = dispense_on(history, LAST_DAY, issued(history))
    assert (LAST_DAY - COUNSELED).days == 31
    assert decision.dispensable and decision.unmet == ()
    # Marking dispensable on that day would be refused: the counseling is out of the cycle.
    assert "COUNSELING_MISSING" in codes(evaluate(history.case(), LAST_DAY, IPLEDGE_2026))


def test_example_9_the_day_after_the_last_day_is_expired() -> None:
    history = example_9()
    decision = dispense_on(history, LAST_DAY + days(1), issued(history))
    assert codes(decision) == ["AUTHORIZATION_EXPIRED"]
    assert reason(decision, "AUTHORIZATION_EXPIRED").closed_on == LAST_DAY


@pytest.mark.parametrize("on", [ISSUED, d("2026-12-29"), d("2026-12-30"), LAST_DAY])
def test_example_9_every_day_of_the_window_is_allowed(on: date) -> None:
    history = example_9()
    assert dispense_on(history, on, issued(history)).dispensable


def test_example_9_a_positive_test_collected_after_the_issue_day_blocks_it() -> None:
    history = example_9()
    auth = issued(history)
    history.test(d("2026-12-29"), POS)
    assert dispense_on(history, d("2026-12-28"), auth).dispensable
    decision = dispense_on(history, d("2026-12-29"), auth)
    assert codes(decision) == ["PREGNANCY_TEST_POSITIVE"]
    assert reason(decision, "PREGNANCY_TEST_POSITIVE").message == (
        "A pregnancy test collected on 2026-12-29, after the authorization was issued on "
        "2026-12-27, is positive; this authorization cannot be dispensed."
    )
    assert not dispense_on(history, LAST_DAY, auth).dispensable


def test_a_later_negative_test_does_not_lift_a_positive_test_after_the_issue_day() -> None:
    history = example_9()
    auth = issued(history)
    history.test(d("2026-12-28"), POS).test(d("2026-12-30"))
    assert codes(dispense_on(history, d("2026-12-31"), auth)) == ["PREGNANCY_TEST_POSITIVE"]


def test_the_qualifying_test_corrected_to_positive_blocks_the_dispense() -> None:
    """A correction made since the issue day counts: the loader gives the corrected record."""
    history = example_9()
    auth = issued(history)
    history.tests.clear()
    history.test(TESTED, POS)
    assert codes(dispense_on(history, d("2026-12-28"), auth)) == ["PREGNANCY_TEST_POSITIVE"]


def test_a_positive_test_collected_on_the_issue_day_and_entered_later_blocks() -> None:
    history = example_9()
    auth = issued(history)
    history.test(ISSUED, POS)
    assert codes(dispense_on(history, d("2026-12-28"), auth)) == ["PREGNANCY_TEST_POSITIVE"]


def test_counseling_corrected_away_since_the_issue_day_blocks_the_dispense() -> None:
    history = example_9()
    auth = issued(history)
    history.counseling.clear()
    assert codes(dispense_on(history, d("2026-12-28"), auth)) == ["COUNSELING_MISSING"]


def test_a_category_change_after_the_issue_day_blocks_the_dispense() -> None:
    history = example_9()
    auth = issued(history)
    history.change_category(d("2026-12-28"), CNGP).ack(d("2026-12-28"), CNGP)
    assert dispense_on(history, ISSUED, auth).dispensable
    decision = dispense_on(history, d("2026-12-28"), auth)
    assert codes(decision) == ["PATIENT_NOT_ENROLLED"]
    assert reason(decision, "PATIENT_NOT_ENROLLED").message == (
        "The patient's category changed to 'cannot get pregnant' on 2026-12-28, after the "
        "authorization was issued on 2026-12-27; a new acknowledgment and a new authorization "
        "are needed."
    )


def test_a_course_ended_after_the_issue_day_blocks_the_dispense() -> None:
    history = example_9()
    auth = issued(history)
    history.end_course(d("2026-12-30"))
    assert dispense_on(history, d("2026-12-29"), auth).dispensable
    decision = dispense_on(history, d("2026-12-30"), auth)
    assert codes(decision) == ["COURSE_ENDED"]
    assert "2026-12-30" in reason(decision, "COURSE_ENDED").message


def test_a_course_end_recorded_later_but_dated_on_or_before_the_issue_day_blocks() -> None:
    history = example_9()
    auth = issued(history)
    history.end_course(d("2026-12-20"))
    decision = dispense_on(history, d("2026-12-28"), auth)
    # Not enrolled in a course, the patient is also before a first fill again.
    assert codes(decision)[0] == "COURSE_ENDED" and not decision.dispensable


def test_the_prescriber_deactivated_after_the_issue_day_blocks_the_dispense() -> None:
    history = example_9()
    decision = dispense_on(history, d("2026-12-28"), issued(history), active=False)
    assert codes(decision) == ["PRESCRIBER_INACTIVE"]


def test_the_pharmacy_lapsed_after_the_issue_day_blocks_the_dispense() -> None:
    history = example_9()
    auth = issued(history)
    lapsing = pharmacy(d("2025-12-29"), d("2026-06-01"))  # active through 2026-12-28
    assert dispense_on(history, d("2026-12-28"), auth, lapsing).dispensable
    assert codes(dispense_on(history, d("2026-12-29"), auth, lapsing)) == ["PHARMACY_INACTIVE"]


def test_the_recheck_uses_the_rule_set_of_the_issue_day() -> None:
    """Cannot get pregnant, counseled before enrollment: enough under ipledge-2023 (counseling
    in the cycle, window to V+29), not under ipledge-2026 (counseling since enrollment). An
    authorization of 2026-11-14 is still dispensed on 11-16, under the 2026 rules."""
    history = enrolled(CNGP, d("2026-10-25")).counsel(d("2026-10-20"))
    decision = evaluate(history.case(), d("2026-11-14"), IPLEDGE_2023)
    assert decision.dispensable and decision.do_not_dispense_after == d("2026-11-18")
    auth = OpenAuthorization("AUTH-C", RX_ID, d("2026-11-14"), d("2026-11-18"), "ipledge-2023")
    assert "COUNSELING_MISSING" in codes(evaluate(history.case(), d("2026-11-16"), IPLEDGE_2026))
    at_counter = dispense_on(history, d("2026-11-16"), auth)
    assert at_counter.dispensable and at_counter.rule_set == "ipledge-2026"


def test_without_an_authorization_the_patient_is_checked_on_the_dispensing_day() -> None:
    history = example_9()
    decision = dispense_on(history, LAST_DAY, None)  # type: ignore[arg-type]
    assert codes(decision) == ["NOT_DISPENSABLE", "COUNSELING_MISSING", "CONTRACEPTION_MISSING",
                               "COMPREHENSION_MISSING"]


def test_the_dispensing_rule_set_decides_the_pharmacy() -> None:
    """ipledge-2026 asks for the staff training attestation: the dispensing day's rule set
    applies to the pharmacy, whatever the issue day's was."""
    history = enrolled(CNGP, d("2026-10-01")).counsel(d("2026-11-10"))
    auth = OpenAuthorization("AUTH-T", RX_ID, d("2026-11-14"), d("2026-12-09"), "ipledge-2023")
    untrained = pharmacy(d("2026-06-01"), None)
    assert dispense_on(history, d("2026-11-14"), auth, untrained).dispensable
    assert codes(dispense_on(history, d("2026-11-16"), auth, untrained)) == ["PHARMACY_INACTIVE"]
