"""Whether a patient is enrolled on a date (RULES.md §4), for pages and the API's Patient.

The rules engine decides eligibility itself; this module answers the plainer question "is a
course under way, and if it ended, when", using the engine's own reading of §4."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.domain.facts import Category, PatientFacts
from tracker.domain.rules import course_enrollment


@dataclass(frozen=True, slots=True)
class EnrollmentStatus:
    category: Category
    enrolled: bool
    acknowledgment_id: int | None  # the acknowledgment that enrolled the current course
    enrolled_on: date | None
    course_ended_on: date | None  # last dose of the ended course, while no new one started


def enrollment_status(patient: PatientFacts, on: date) -> EnrollmentStatus:
    category, ack, course_end, _ = course_enrollment(patient, on)
    if ack is not None:
        return EnrollmentStatus(category, True, ack.id, ack.signed_on, None)
    return EnrollmentStatus(category, False, None, None, course_end)
