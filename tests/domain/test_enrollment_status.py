"""RULES.md §4: enrolled once the acknowledgment for the current category is signed; a recorded
last dose ends the course until a new acknowledgment."""

from __future__ import annotations

from datetime import date

from tracker.domain.enrollment import enrollment_status
from tracker.domain.facts import (
    Acknowledgment,
    Category,
    CategoryChange,
    CourseEnd,
    PatientFacts,
)

CGP = Category.CAN_GET_PREGNANT
CNGP = Category.CANNOT_GET_PREGNANT
REGISTERED = (CategoryChange(date(2026, 1, 1), CGP),)


def facts(**kw: object) -> PatientFacts:
    return PatientFacts(birth_date=date(2000, 1, 1), category_history=REGISTERED, **kw)  # type: ignore[arg-type]


def test_patient_without_acknowledgment_is_not_enrolled() -> None:
    status = enrollment_status(facts(), date(2026, 2, 1))
    assert (status.enrolled, status.acknowledgment_id, status.course_ended_on) == (
        False, None, None)


def test_signed_acknowledgment_enrolls_from_its_date() -> None:
    ack = Acknowledgment(7, date(2026, 1, 10), CGP)
    assert not enrollment_status(facts(acknowledgments=(ack,)), date(2026, 1, 9)).enrolled
    status = enrollment_status(facts(acknowledgments=(ack,)), date(2026, 1, 10))
    assert (status.enrolled, status.acknowledgment_id, status.enrolled_on) == (
        True, 7, date(2026, 1, 10))


def test_course_end_ends_enrollment_and_reports_the_last_dose() -> None:
    ack = Acknowledgment(7, date(2026, 1, 10), CGP)
    status = enrollment_status(
        facts(acknowledgments=(ack,), course_ends=(CourseEnd(1, date(2026, 6, 1)),)),
        date(2026, 6, 2))
    assert (status.enrolled, status.course_ended_on) == (False, date(2026, 6, 1))


def test_new_acknowledgment_after_course_end_starts_a_new_course() -> None:
    acks = (Acknowledgment(7, date(2026, 1, 10), CGP), Acknowledgment(8, date(2026, 7, 1), CGP))
    status = enrollment_status(
        facts(acknowledgments=acks, course_ends=(CourseEnd(1, date(2026, 6, 1)),)),
        date(2026, 7, 2))
    assert (status.enrolled, status.acknowledgment_id, status.course_ended_on) == (
        True, 8, None)


def test_category_change_needs_an_acknowledgment_for_the_new_category() -> None:
    history = REGISTERED + (CategoryChange(date(2026, 3, 1), CNGP),)
    ack = Acknowledgment(7, date(2026, 1, 10), CGP)
    patient = PatientFacts(birth_date=date(2000, 1, 1), category_history=history,
                           acknowledgments=(ack,))
    status = enrollment_status(patient, date(2026, 3, 2))
    assert (status.category, status.enrolled) == (CNGP, False)
