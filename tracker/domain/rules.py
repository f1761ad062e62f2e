"""The rules engine: may this prescription be marked dispensable, or dispensed, on this date?

Pure functions of facts, a program date and the rule sets (RULES.md §2): no clock, no database.
Records dated after the evaluation date are ignored, so the same call answers "now" and "as of"
(RULES.md §1). A refusal lists every unmet requirement, each with the earliest date it can be met
where that date can be computed, so a dermatologist learns every date at once.

Where the course stands is read once (`course.course_state`); the requirements of §6 and §7 are
checked one function each (`requirements`). Records are scanned once each, unsorted, keeping only
the newest match (records of the same day: the one with the higher id, i.e. entered later), so
the loader need not sort and the answer does not depend on the order. Only the first fill of a
course under a rule set with a lockout does more (the walk of §6.8 re-checks each day of each
earlier window).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from tracker.domain.course import CourseState, Lockout, course_state
from tracker.domain.decision import Decision, Window
from tracker.domain.facts import (
    Case,
    Category,
    OpenAuthorization,
    PatientFacts,
    PharmacyFacts,
    PrescriptionStatus,
    RecordKind,
    TestResult,
)
from tracker.domain.policy import Policy, pharmacy_problems, policy_for
from tracker.domain.reasons import PHARMACY_VISIBLE_CODES, Reason, ReasonCode
from tracker.domain.requirements import (
    FillCheck,
    Findings,
    check_can_get_pregnant,
    check_cannot_get_pregnant,
)

__all__ = [
    "Decision",
    "Window",
    "evaluate",
    "evaluate_dispense",
    "evaluate_open_authorization",
    "fill_course_state",
    "fold_for_pharmacy",
]

_ONE_DAY = timedelta(days=1)
_CGP = Category.CAN_GET_PREGNANT

_CATEGORY_LABELS = {
    Category.CAN_GET_PREGNANT: "can get pregnant",
    Category.CANNOT_GET_PREGNANT: "cannot get pregnant",
}


def _days(n: int) -> timedelta:
    return timedelta(days=n)


# --- RULES.md §6.8: the lockout after a missed first window ---------------------------------------


def _find_lockout(patient: PatientFacts, course: CourseState, policy: Policy) -> Lockout | None:
    """The last missed first window before `course.on`, or None.

    Walk the negative tests of the first-fill cycle in date order. A test collected during a
    lockout qualifies nothing and starts none. Any other test whose window closed before the
    evaluation date starts a lockout when every §6 requirement and enrollment was met on some
    day of its window, judged as of that day with only the records known by then. No dispense
    can fall inside these windows: every test of the cycle is after the last dispense.
    """
    window_days = policy.test_window_days
    closed_by = course.on - _days(window_days)  # C + 6 < T
    accepted = policy.first_fill_confirmation_settings
    tests_from = course.tests_from
    walk = sorted(
        (
            test
            for test in patient.pregnancy_tests
            if test.result == TestResult.NEGATIVE
            and tests_from <= test.collected_on <= closed_by
            and test.setting in accepted
        ),
        key=lambda test: test.collected_on,
    )
    lockout: Lockout | None = None
    for test in walk:
        start = test.collected_on
        if lockout is not None and start < lockout.ends_on:
            continue
        for offset in range(window_days):
            day = course_state(patient, start + _days(offset), course.prescription_id)
            if day.category != _CGP or not day.enrolled or not day.first_fill:
                continue
            found = Findings()
            check_can_get_pregnant(FillCheck(patient, day.on, policy, day, False, start), found)
            if not found.reasons:
                lockout = Lockout(start, start + _days(policy.lockout_days))
                break
    return lockout


def fill_course_state(
    patient: PatientFacts, on: date, policy: Policy, prescription_id: int
) -> CourseState:
    """Where the course stands on `on` for a fill of the prescription, with the §6.8 lockout of
    a first fill under a rule set that has one."""
    course = course_state(patient, on, prescription_id)
    if course.category == _CGP and course.first_fill and policy.lockout:
        return replace(course, lockout=_find_lockout(patient, course, policy))
    return course


# --- the patient's requirements, shared by marking and dispensing --------------------------------


def _check_patient(
    case: Case, on: date, policy: Policy, reasons: list[Reason]
) -> tuple[Window | None, tuple[tuple[RecordKind, int], ...]]:
    """Every patient requirement of RULES.md §4-§7 on `on`: append what is unmet, return the
    window and the records relied on. A patient who is not enrolled is still checked on
    everything else, so a refusal lists every unmet requirement."""
    patient = case.patient
    course = fill_course_state(patient, on, policy, case.prescription.id)
    found = Findings(reasons)
    if course.enrolling is not None:
        found.used.append((RecordKind.ACKNOWLEDGMENT, course.enrolling.id))
    elif course.signed_any:
        found.unmet(ReasonCode.COURSE_ENDED,
                    f"The course ended with the last dose on {course.course_ended_on}; a new "
                    f"course needs a new enrollment acknowledgment.")
    else:
        found.unmet(ReasonCode.PATIENT_NOT_ENROLLED,
                    f"The patient must sign the enrollment acknowledgment for the category "
                    f"'{_CATEGORY_LABELS[course.category]}'.",
                    met_from=on)
    if course.category == _CGP:
        home_ok = policy.home_tests_on_later_fills and case.prescriber.home_testing_permitted
        window = check_can_get_pregnant(FillCheck(patient, on, policy, course, home_ok), found)
    else:
        window = check_cannot_get_pregnant(FillCheck(patient, on, policy, course), found)
    return window, tuple(found.used)


def _prescriber_inactive() -> Reason:
    return Reason(
        ReasonCode.PRESCRIBER_INACTIVE,
        "The prescriber is not active in the program; an administrator must reactivate them.",
    )


def _other_authorization(
    patient: PatientFacts, on: date, prescription_id: int
) -> OpenAuthorization | None:
    # §8 "At most one authorization per patient is open (dispensable, not expired, not
    # dispensed)"; authorizations issued after `on` did not exist yet.
    for authorization in patient.open_authorizations:
        closes = authorization.do_not_dispense_after
        if (
            authorization.prescription_id != prescription_id
            and authorization.issued_on <= on
            and (closes is None or closes >= on)
        ):
            return authorization
    return None


# --- public API ---------------------------------------------------------------------------------


def evaluate(case: Case, on: date, policy: Policy) -> Decision:
    """RULES.md §8 "Marking dispensable": every rule of §4-§7 on program date `on` under
    `policy`, plus an active prescriber, a pending prescription and no other open authorization
    of the patient. Dispensable exactly when nothing is unmet."""
    reasons: list[Reason] = []
    prescription = case.prescription
    if prescription.status != PrescriptionStatus.PENDING:
        reasons.append(
            Reason(
                ReasonCode.PRESCRIPTION_NOT_PENDING,
                f"The prescription is {prescription.status}; only a pending prescription can be "
                f"marked dispensable.",
            )
        )
    if not case.prescriber.active:
        reasons.append(_prescriber_inactive())
    other = _other_authorization(case.patient, on, prescription.id)
    if other is not None:
        closes = other.do_not_dispense_after
        reasons.append(
            Reason(
                ReasonCode.OTHER_AUTHORIZATION_ACTIVE,
                f"Authorization {other.number} of another prescription is open"
                + (f" through {closes}" if closes is not None else "")
                + "; it must be dispensed, reversed or expire first.",
                met_from=closes + _ONE_DAY if closes is not None else None,
            )
        )
    window, used = _check_patient(case, on, policy, reasons)
    return Decision(
        dispensable=not reasons,
        rule_set=policy.id,
        as_of=on,
        unmet=tuple(reasons),
        window=window,
        # §8: D+6 (can get pregnant), V+29 (cannot, 2021/2023), none (cannot, 2026).
        do_not_dispense_after=window.closes_on if window is not None else None,
        used=used,
    )


def _blocked_after_issue(
    patient: PatientFacts, issued: date, on: date, reasons: list[Reason]
) -> None:
    """RULES.md §8: what is dated after the authorization's issue day, up to the dispensing
    date, and would block a fill blocks the dispense: a category change, an ended course, a
    positive pregnancy test. (design default) A positive test blocks whatever the category and
    even when a later negative test follows: the authorization rests on an older test, so the
    prescriber reverses it and authorizes again."""
    issue_category = course_state(patient, issued).category
    for change in patient.category_history[1:]:
        day = change.changed_on
        if issued < day <= on and change.category != issue_category:
            reasons.append(Reason(
                ReasonCode.PATIENT_NOT_ENROLLED,
                f"The patient's category changed to '{_CATEGORY_LABELS[change.category]}' on "
                f"{day}, after the authorization was issued on {issued}; a new acknowledgment "
                f"and a new authorization are needed.",
            ))
            break
    ended = [end.last_dose_on for end in patient.course_ends if issued < end.last_dose_on <= on]
    if ended:
        reasons.append(Reason(
            ReasonCode.COURSE_ENDED,
            f"The course ended with the last dose on {min(ended)}, after the authorization was "
            f"issued on {issued}.",
        ))
    positive = [test.collected_on for test in patient.pregnancy_tests
                if test.result != TestResult.NEGATIVE and issued < test.collected_on <= on]
    if positive:
        reasons.append(Reason(
            ReasonCode.PREGNANCY_TEST_POSITIVE,
            f"A pregnancy test collected on {min(positive)}, after the authorization was issued "
            f"on {issued}, is positive; this authorization cannot be dispensed.",
        ))


def evaluate_dispense(
    case: Case,
    on: date,
    rule_sets: tuple[Policy, ...],
    pharmacy: PharmacyFacts,
    authorization: OpenAuthorization | None,
    issued_with: Decision | None = None,
) -> Decision:
    """RULES.md §8 "Dispensing" on program date `on`: the one decision on a dispense, for the
    counter's lookup and the dispense itself (see `_dispense_decision`).

    `issued_with`: the decision that issued `authorization` (`evaluate` on its issue day, under
    that day's rule set), made with the same patient facts as `case`'s but its open
    authorizations: an import, deciding a whole history at once, has it at hand. When it was
    dispensable, the patient's re-check as of the issue day would find what it found (nothing
    unmet, the same window and records) and is not made again; the rest of the decision is."""
    return _dispense_decision(case, on, rule_sets, pharmacy, authorization, issued_with)


def evaluate_open_authorization(
    case: Case,
    on: date,
    rule_sets: tuple[Policy, ...],
    authorization: OpenAuthorization,
) -> Decision:
    """Would the counter refuse this open authorization on `on`, whichever pharmacy it is
    taken to? The prescriber's view of RULES.md §8 "Dispensing": the same decision as
    `evaluate_dispense` with the pharmacy left out, unfolded (the prescriber reads every
    clinical reason). `case.prescription` is the authorized prescription."""
    return _dispense_decision(case, on, rule_sets, None, authorization)


def _dispense_decision(
    case: Case,
    on: date,
    rule_sets: tuple[Policy, ...],
    pharmacy: PharmacyFacts | None,
    authorization: OpenAuthorization | None,
    issued_with: Decision | None = None,
) -> Decision:
    """RULES.md §8 "Dispensing" on program date `on`: the one decision on a dispense, for the
    counter's lookup, the dispense itself and the prescriber's view of an open authorization
    (there without a pharmacy: `pharmacy` None leaves the pharmacy's checks out).

    On the dispensing date, under its rule set: the prescription dispensable under this
    authorization, on or before its do-not-dispense-after date, the pharmacy active, the
    prescriber active. The patient is re-checked against the authorization: every requirement
    of §4-§7 as of its issue day, under the rule set of that day, with the records as they stand
    now (a correction made since counts), so nothing ages out between the issue day and the
    do-not-dispense-after date; and what is dated after the issue day that would block a fill
    blocks the dispense. Without an authorization of this prescription there is no issue day:
    the patient is checked on `on`. `do_not_dispense_after` is the authorization's own date.
    """
    policy = policy_for(on, rule_sets)
    reasons: list[Reason] = []
    prescription = case.prescription
    status = prescription.status
    authorized = (
        authorization
        if authorization is not None
        and authorization.prescription_id == prescription.id
        and authorization.issued_on <= on
        else None
    )
    if status == PrescriptionStatus.DISPENSED:
        reasons.append(
            Reason(ReasonCode.ALREADY_DISPENSED, "This prescription has already been dispensed.")
        )
    elif status != PrescriptionStatus.DISPENSABLE or authorized is None:
        reasons.append(
            Reason(
                ReasonCode.NOT_DISPENSABLE,
                "The prescription has no open authorization; the prescriber must mark it "
                "dispensable first.",
            )
        )
    closes = authorization.do_not_dispense_after if authorization is not None else None
    if closes is not None and on > closes:
        reasons.append(
            Reason(
                ReasonCode.AUTHORIZATION_EXPIRED,
                f"The authorization could be dispensed through {closes}; the prescriber must "
                f"authorize the prescription again.",
                closed_on=closes,
            )
        )
    problems = pharmacy_problems(pharmacy, on, policy) if pharmacy is not None else []
    if problems:
        reasons.append(
            Reason(
                ReasonCode.PHARMACY_INACTIVE,
                "The pharmacy is not active. " + " ".join(problems),
            )
        )
    if not case.prescriber.active:
        reasons.append(_prescriber_inactive())
    if authorized is None:
        window, used = _check_patient(case, on, policy, reasons)
    else:
        issued = authorized.issued_on
        issue_policy = policy_for(issued, rule_sets)
        if (issued_with is not None and issued_with.dispensable
                and issued_with.as_of == issued and issued_with.rule_set == issue_policy.id):
            window, used = issued_with.window, issued_with.used
        else:
            window, used = _check_patient(case, issued, issue_policy, reasons)
        _blocked_after_issue(case.patient, issued, on, reasons)
    return Decision(
        dispensable=not reasons,
        rule_set=policy.id,
        as_of=on,
        unmet=tuple(reasons),
        window=window,
        do_not_dispense_after=closes,
        used=used,
    )


_PRESCRIBER_ACTION = Reason(
    ReasonCode.PRESCRIBER_ACTION_REQUIRED,
    "Contact the prescriber: the patient's requirements are not met.",
)


def fold_for_pharmacy(decision: Decision) -> Decision:
    """API.md "minimum necessary": what pharmacy staff may see of a decision.

    Non-clinical codes stay (WINDOW_EXPIRED with its date but a message that names no test);
    every clinical reason becomes one PRESCRIBER_ACTION_REQUIRED; the records used are dropped,
    and so is the window: its first day is the day the pregnancy test was collected. The
    counter has the authorization's do-not-dispense-after date instead.
    """
    kept: list[Reason] = []
    clinical = False
    for reason in decision.unmet:
        if reason.code not in PHARMACY_VISIBLE_CODES:
            clinical = True
        elif reason.code == ReasonCode.WINDOW_EXPIRED:
            closed = reason.closed_on
            kept.append(
                Reason(
                    ReasonCode.WINDOW_EXPIRED,
                    f"The dispensing window closed on {closed}."
                    if closed is not None
                    else "The dispensing window has closed.",
                    closed_on=closed,
                )
            )
        else:
            kept.append(reason)
    if clinical:
        kept.append(_PRESCRIBER_ACTION)
    return Decision(
        dispensable=decision.dispensable,
        rule_set=decision.rule_set,
        as_of=decision.as_of,
        unmet=tuple(kept),
        window=None,
        do_not_dispense_after=decision.do_not_dispense_after,
        used=(),
    )
