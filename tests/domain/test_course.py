"""tracker.domain.course: one reading of where a patient stands in their course (RULES.md §4,
§5, §6 "first fill of a course"), shared by the rules, the next steps and the enrollment status."""

from __future__ import annotations

from datetime import date

import pytest

from tests.domain.builders import CGP, CNGP, History, d, enrolled
from tracker.domain.course import NEXT_FILL_ID, category_on, course_state

ON = d("2026-12-15")


@pytest.mark.parametrize(
    ("on", "expected"),
    [(d("2019-06-01"), CGP), (d("2026-02-28"), CGP), (d("2026-03-01"), CNGP)],
    ids=["registration-applies-before-its-date", "before-the-change", "from-the-change-day"],
)
def test_category_changes_apply_from_their_own_date(on: date, expected: str) -> None:
    history = History(registered_on=d("2020-01-01")).change_category(d("2026-03-01"), CNGP)
    assert category_on(history.facts(), on) == expected


@pytest.mark.parametrize(
    ("history", "prescription_id", "first"),
    [
        (History(), NEXT_FILL_ID, True),
        (enrolled(CGP, d("2026-10-01")), NEXT_FILL_ID, True),
        (enrolled(CGP, d("2026-10-01")).dispense(d("2026-09-01")), NEXT_FILL_ID, True),
        (enrolled(CGP, d("2026-10-01")).dispense(d("2026-11-01"), 5), NEXT_FILL_ID, False),
        (enrolled(CGP, d("2026-10-01")).dispense(d("2026-11-01"), 5), 5, True),
        (enrolled(CGP, d("2026-10-01")).dispense(d("2026-12-20")), NEXT_FILL_ID, True),
        (enrolled(CGP, d("2026-10-01")).dispense(d("2026-11-01")).dispense(d("2026-10-20")),
         NEXT_FILL_ID, False),
    ],
    ids=["not-enrolled", "enrolled-never-dispensed", "dispensed-in-an-earlier-course",
         "dispensed-in-this-course", "own-dispense-does-not-count",
         "dispense-after-the-date-does-not-count", "newest-dispense-decides"],
)
def test_first_fill_means_no_dispense_since_enrollment(history: History, prescription_id: int,
                                                       first: bool) -> None:
    assert course_state(history.facts(), ON, prescription_id).first_fill is first




def test_the_last_dispense_is_the_newest_of_another_prescription_up_to_the_date() -> None:
    history = (enrolled(CGP, d("2026-10-01")).dispense(d("2026-11-01"), 5)
               .dispense(d("2026-11-20"), 6).dispense(d("2026-12-20"), 7))
    course = course_state(history.facts(), ON, 6)
    assert course.last_dispense is not None
    assert (course.last_dispense.prescription_id, course.last_dispense.dispensed_on) == (
        5, d("2026-11-01"))
    assert course.tests_from == d("2026-11-02")


def test_the_cycle_starts_thirty_days_back_or_after_the_last_dispense() -> None:
    never = course_state(enrolled(CGP, d("2026-10-01")).facts(), ON)
    assert never.tests_from == date.min and never.cycle_from(30) == d("2026-11-15")
    recent = course_state(enrolled(CGP, d("2026-10-01")).dispense(d("2026-12-01")).facts(), ON)
    assert recent.cycle_from(30) == d("2026-12-02")


def test_an_ended_course_keeps_its_last_dose_and_is_not_enrolled() -> None:
    course = course_state(enrolled(CGP, d("2026-10-01")).end_course(d("2026-12-01")).facts(), ON)
    assert not course.enrolled and course.signed_any
    assert course.course_ended_on == d("2026-12-01") and course.first_fill
