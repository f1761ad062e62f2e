"""One reading of where a patient stands in their course on a date (RULES.md §4, §5, §6).

The rules, the next steps and the enrollment status all ask the same questions — which
category applies on a day, which acknowledgment enrolled the course, when the course ended, the
last dispense, whether the next fill is the first of the course — and they must never answer
them differently. `course_state` answers them once; everything else reads its `CourseState`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tracker.domain.facts import Acknowledgment, Category, DispenseRecord, PatientFacts
from tracker.domain.records import earliest, newest

__all__ = ["NEXT_FILL_ID", "CourseState", "Lockout", "category_on", "course_state"]

# The id given to a prescription not written yet, to ask about "the next fill". Stored
# prescriptions have positive ids, so it never matches a dispense or an authorization.
NEXT_FILL_ID = 0

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Lockout:
    """RULES.md §6.8: the first window of the negative test collected on `missed_test_on`
    closed without a dispense; a new confirmation test counts from `ends_on`."""

    missed_test_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class CourseState:
    """Where the patient stands on `on`, for a fill of prescription `prescription_id`.

    `enrolling` is the acknowledgment that enrolled the current course (None: not enrolled);
    `course_ended_on` the last dose of the latest course ended on or before `on`; `signed_any`
    whether any acknowledgment for the current category counts (to tell COURSE_ENDED from
    PATIENT_NOT_ENROLLED); `last_dispense` the newest dispense of another prescription on or
    before `on`. `lockout` is filled in by the rules for a first fill under a rule set with a
    lockout (it needs the requirement checks themselves).
    """

    on: date
    prescription_id: int
    category: Category
    enrolling: Acknowledgment | None
    course_ended_on: date | None
    signed_any: bool
    last_dispense: DispenseRecord | None
    lockout: Lockout | None = None

    @property
    def enrolled(self) -> bool:
        return self.enrolling is not None

    @property
    def first_fill(self) -> bool:
        """RULES.md §6 "first fill of a course": no dispense since the acknowledgment that
        enrolled the current course. (design default) A patient not enrolled (or whose course
        ended) is before a first fill."""
        last = self.last_dispense
        return (
            self.enrolling is None or last is None or last.dispensed_on < self.enrolling.signed_on
        )

    @property
    def tests_from(self) -> date:
        """RULES.md §5: a pregnancy test counts when collected after the most recent dispense
        (design default: strictly, by date; on a dispense day only tomorrow's tests count)."""
        last = self.last_dispense
        return date.min if last is None else last.dispensed_on + _ONE_DAY

    def cycle_from(self, cycle_days: int) -> date:
        """RULES.md §5: monthly records count when dated after the most recent dispense and on
        or after T - 30 days."""
        return max(self.on - timedelta(days=cycle_days), self.tests_from)


def _category_since(patient: PatientFacts, on: date) -> tuple[Category, date | None]:
    # The registration entry applies whatever its date (it bounds nothing); a later change
    # applies from its date and needs an acknowledgment signed on or after it (§4).
    history = patient.category_history
    category = history[0].category
    since: date | None = None
    for change in history[1:]:
        if change.changed_on <= on:
            category = change.category
            since = change.changed_on
    return category, since


def category_on(patient: PatientFacts, on: date) -> Category:
    """RULES.md §3, §4: the patient's category on a date."""
    return _category_since(patient, on)[0]


def course_state(
    patient: PatientFacts, on: date, prescription_id: int = NEXT_FILL_ID
) -> CourseState:
    """Where the patient stands on `on`, for a fill of `prescription_id` (default: a
    prescription not written yet). Records dated after `on` are ignored (RULES.md §1)."""
    category, since = _category_since(patient, on)
    end = newest(patient.course_ends, lambda e: e.last_dose_on, lambda e: e.last_dose_on <= on)
    course_end = end.last_dose_on if end is not None else None

    def counts(ack: Acknowledgment) -> bool:
        signed = ack.signed_on
        return ack.category == category and signed <= on and (since is None or signed >= since)

    signed_any = any(counts(ack) for ack in patient.acknowledgments)
    # §4 "A new course needs a new acknowledgment". (design default) An acknowledgment signed
    # on the last-dose day belongs to the course that ended. (design default) The course is
    # enrolled by its earliest acknowledgment: re-signing a newer form version mid-course must
    # not make the next fill a "first fill" again.
    enrolling = earliest(
        patient.acknowledgments,
        lambda a: a.signed_on,
        lambda a: counts(a) and (course_end is None or a.signed_on > course_end),
    )
    # §5 "the patient's most recent dispense". (design default) The prescription's own dispense
    # never counts: it is the fill being decided, not a previous one.
    last = newest(
        patient.dispenses,
        lambda d: d.dispensed_on,
        lambda d: d.dispensed_on <= on and d.prescription_id != prescription_id,
    )
    return CourseState(on, prescription_id, category, enrolling, course_end, signed_any, last)
