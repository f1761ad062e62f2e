"""Whether a patient is enrolled on a date (RULES.md §4), for pages and the API's Patient.

The rules engine decides eligibility itself; this module answers the plainer question "is a
course under way, and if it ended, when", from the same reading of the course."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.domain.course import course_state
from tracker.domain.facts import Category, PatientFacts


@dataclass(frozen=True, slots=True)
class EnrollmentStatus:
    category: Category
    enrolled: bool
    acknowledgment_id: int | None  # the acknowledgment that enrolled the current course
    enrolled_on: date | None
    course_ended_on: date | None  # last dose of the ended course, while no new one started


def enrollment_status(patient: PatientFacts, on: date) -> EnrollmentStatus:
    course = course_state(patient, on)
    ack = course.enrolling
    if ack is not None:
        return EnrollmentStatus(course.category, True, ack.id, ack.signed_on, None)
    return EnrollmentStatus(course.category, False, None, None, course.course_ended_on)
