"""RULES.md §4: enrollment, category changes and the end of a course."""

from __future__ import annotations

import pytest

from tracker.domain.policy import IPLEDGE_2026
from tracker.domain.rules import evaluate

from .builders import CGP, CNGP, History, codes, d, days, qualified_later_fill, reason

T = d("2026-12-10")


def test_patient_without_acknowledgment_is_not_enrolled_and_every_other_rule_is_listed() -> None:
    history = History(category=CGP, registered_on=d("2026-01-01"))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == [
        "PATIENT_NOT_ENROLLED", "COUNSELING_MISSING", "CONTRACEPTION_MISSING",
        "COMPREHENSION_MISSING", "PREGNANCY_TEST_MISSING", "SCREENING_TEST_MISSING",
    ]
    not_enrolled = reason(decision, "PATIENT_NOT_ENROLLED")
    assert not_enrolled.met_from == T
    assert not_enrolled.message == (
        "The patient must sign the enrollment acknowledgment for the category 'can get pregnant'."
    )


def test_enrolled_patient_has_no_enrollment_reason() -> None:
    decision = evaluate(qualified_later_fill(T).case(), T, IPLEDGE_2026)
    assert "PATIENT_NOT_ENROLLED" not in codes(decision)
    assert decision.used[0][0] == "acknowledgment"


def test_acknowledgment_for_the_other_category_does_not_enroll() -> None:
    history = History(category=CNGP, registered_on=d("2026-01-01")).ack(d("2026-01-01"), CGP)
    history.counsel(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == [
        "PATIENT_NOT_ENROLLED", "COUNSELING_MISSING",
    ]


def test_acknowledgment_signed_after_the_evaluation_date_is_ignored() -> None:
    history = History(category=CNGP, registered_on=d("2026-01-01")).ack(T + days(1)).counsel(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026))[0] == "PATIENT_NOT_ENROLLED"


def test_registration_date_bounds_nothing() -> None:
    history = History(category=CNGP, registered_on=T + days(30)).ack(T - days(5)).counsel(T)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


@pytest.mark.parametrize(("signed", "enrolled"), [(-1, False), (0, True), (3, True)])
def test_category_change_needs_an_acknowledgment_signed_on_or_after_it(
    signed: int, enrolled: bool
) -> None:
    change = T - days(10)
    history = History(category=CGP, registered_on=d("2026-01-01")).ack(d("2026-01-01"))
    history.change_category(change, CNGP).ack(change + days(signed), CNGP).counsel(T)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ([] if enrolled else ["PATIENT_NOT_ENROLLED",
                                                      "COUNSELING_MISSING"])


def test_category_change_after_the_evaluation_date_is_ignored() -> None:
    history = qualified_later_fill(T).change_category(T + days(1), CNGP)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable
    assert codes(evaluate(history.case(), T + days(1), IPLEDGE_2026))[0] == "PATIENT_NOT_ENROLLED"


@pytest.mark.parametrize(("last_dose", "ended"), [(3, True), (0, True), (-1, False)])
def test_course_ends_with_the_last_dose_until_a_new_acknowledgment(
    last_dose: int, ended: bool
) -> None:
    """(design default) An acknowledgment signed on the last-dose day belongs to the old course;
    one signed the day after the last dose enrolls a new course."""
    signed = T - days(20)
    history = History(category=CNGP, registered_on=d("2026-01-01")).ack(signed).counsel(T)
    history.end_course(signed + days(last_dose))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    if ended:
        # 2026: counseling must follow the new course's acknowledgment too
        assert codes(decision) == ["COURSE_ENDED", "COUNSELING_MISSING"]
        course = reason(decision, "COURSE_ENDED")
        assert course.met_from is None
        assert course.message == (
            f"The course ended with the last dose on {signed + days(last_dose)}; a new course "
            "needs a new enrollment acknowledgment."
        )
    else:
        assert decision.dispensable


def test_course_ended_still_lists_every_other_requirement() -> None:
    history = qualified_later_fill(T).end_course(T - days(1))
    history.tests.clear()
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ["COURSE_ENDED", "PREGNANCY_TEST_MISSING", "SCREENING_TEST_MISSING"]


def test_course_ended_before_any_acknowledgment_is_not_enrolled() -> None:
    history = History(category=CNGP, registered_on=d("2026-01-01")).end_course(T - days(5))
    assert codes(evaluate(history.case(), T, IPLEDGE_2026))[0] == "PATIENT_NOT_ENROLLED"


def test_course_end_recorded_after_the_evaluation_date_is_ignored() -> None:
    history = qualified_later_fill(T).end_course(T + days(1))
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_new_acknowledgment_after_the_course_end_enrolls_a_new_course() -> None:
    history = History(category=CNGP, registered_on=d("2025-01-01")).ack(d("2025-01-01"))
    history.end_course(d("2025-06-01")).ack(T - days(2)).counsel(T - days(2))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert decision.dispensable
    assert decision.used[0] == ("acknowledgment", history.acknowledgments[1].id)


def test_re_signing_mid_course_keeps_the_course_past_its_first_fill() -> None:
    """(design default) The earliest acknowledgment of the course enrolled it; a newer form
    version signed later does not make the next fill a first fill again."""
    history = qualified_later_fill(T, T - days(30))
    history.ack(T - days(10))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert decision.dispensable
    assert decision.used[0] == ("acknowledgment", history.acknowledgments[0].id)


def test_acknowledgments_in_any_order_pick_the_earliest_of_the_course() -> None:
    history = History(category=CNGP, registered_on=d("2026-01-01")).ack(T - days(3))
    history.ack(T - days(9)).counsel(T)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert decision.used[0] == ("acknowledgment", history.acknowledgments[1].id)
