"""What the prescriber does next for a patient, and the requirement checklist behind a decision.

Pure: a patient's facts, a program date and a `Policy` in; steps, checklists and windows out.
The rules engine (`rules.evaluate`) decides; this module reads its decision and turns it into the
work of a dermatologist's day:

- a positive test not yet reported to the pregnancy registry (RULES.md §10);
- an authorization whose do-not-dispense-after date is today or tomorrow (§8), or one that can
  no longer be dispensed and should be reversed;
- a prescription that can be marked dispensable now (one drafted by the prescriber's staff is
  ready for the prescriber to sign), or a window that closes today or tomorrow;
- an acknowledgment to sign (§4);
- the records the next fill still needs (§5-§7), and from when the confirmation test of a
  first fill can be collected (§6.6 screening gap, §6.7 the 30-day wait, §6.8 the lockout);
- after a dispense, when the next monthly visit is due;
- the post-treatment pregnancy test (§10).

Every date in a message is written YYYY-MM-DD, like the engine's reasons; pages rewrite them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from tracker.domain.course import NEXT_FILL_ID, CourseState, category_on, course_state
from tracker.domain.decision import Decision, Window
from tracker.domain.facts import (
    Case,
    Category,
    OpenAuthorization,
    PatientFacts,
    PregnancyTest,
    PrescriberFacts,
    PrescriptionFacts,
    PrescriptionStatus,
    RecordKind,
    TestResult,
)
from tracker.domain.policy import Policy, policy_for
from tracker.domain.reasons import Reason, ReasonCode
from tracker.domain.rules import evaluate, evaluate_open_authorization

__all__ = [
    "NEXT_FILL_ID",
    "Evidence",
    "FillWindow",
    "Outlook",
    "PrescriptionSummary",
    "Requirement",
    "RequirementStatus",
    "Situation",
    "Step",
    "StepKind",
    "Urgency",
    "checklist",
    "fill_windows",
    "screening_only_tests",
    "outlook",
    "urgency",
]

_ONE_DAY = timedelta(days=1)
_CGP = Category.CAN_GET_PREGNANT
_CATEGORY_LABELS = {
    Category.CAN_GET_PREGNANT: "can get pregnant",
    Category.CANNOT_GET_PREGNANT: "cannot get pregnant",
}


class StepKind(StrEnum):
    """The kinds of next step, most pressing first: the order breaks ties between steps due on
    the same day."""

    REPORT_POSITIVE_TEST = "report_positive_test"
    WINDOW_CLOSING = "window_closing"
    # A prescription the prescriber's staff drafted meets every requirement: it waits for the
    # prescriber's signature (marking it dispensable), which only the prescriber gives.
    READY_TO_SIGN = "ready_to_sign"
    MARK_DISPENSABLE = "mark_dispensable"
    REVERSE_AUTHORIZATION = "reverse_authorization"
    SIGN_ACKNOWLEDGMENT = "sign_acknowledgment"
    RECORDS_NEEDED = "records_needed"
    CONFIRMATION_TEST = "confirmation_test"
    WRITE_PRESCRIPTION = "write_prescription"
    POST_TREATMENT_TEST = "post_treatment_test"
    NEXT_FILL = "next_fill"
    AWAITING_DISPENSE = "awaiting_dispense"
    BLOCKED = "blocked"


_PRIORITY = {kind: rank for rank, kind in enumerate(StepKind)}


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do for a patient, and the day it is due (None: no date applies)."""

    kind: StepKind
    message: str
    due_on: date | None
    prescription_id: int | None = None
    record_id: int | None = None
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class PrescriptionSummary:
    """A prescription of the patient, as the worklist needs it."""

    id: int
    number: str
    status: PrescriptionStatus
    written_on: date
    days_supply: int
    quantity: int
    drafted_by_staff: bool = False  # entered by the prescriber's staff, for them to sign


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything the next steps of one patient depend on."""

    patient: PatientFacts
    prescriber: PrescriberFacts
    prescriptions: tuple[PrescriptionSummary, ...] = ()
    unreported_positive_tests: tuple[PregnancyTest, ...] = ()


@dataclass(frozen=True, slots=True)
class Outlook:
    """The decision on the next fill and the steps that follow from it.

    `prescription` is the newest pending prescription the decision is about, or None when the
    decision is about a prescription not written yet (id NEXT_FILL_ID)."""

    decision: Decision
    prescription: PrescriptionSummary | None
    first_fill: bool
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    """A record a met requirement rests on: what it is and its date."""

    text: str
    on: date


class RequirementStatus(StrEnum):
    """What a checklist line says. "Met" only for what a record or a fact of the program shows;
    a requirement nothing can be checked on yet says so ("not yet")."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_YET = "not_yet"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One line of the checklist for a fill: met or not, why, and from when.

    `met` is the engine's answer (nothing of it is unmet); `status` is what the line can
    truthfully say, with `note` explaining a line that is not met and not unmet."""

    key: str
    label: str
    met: bool
    reasons: tuple[Reason, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    status: RequirementStatus = RequirementStatus.MET
    note: str = ""


@dataclass(frozen=True, slots=True)
class FillWindow:
    """The days a record allows a fill on: a negative test's window D..D+6 (RULES.md §6.4) or a
    counseling visit's window V..V+29 (§7, 2021/2023 rules)."""

    kind: str  # "test" or "visit"
    record_id: int
    window: Window


# --- reading the facts ---------------------------------------------------------------------------


def _newest_pending(prescriptions: tuple[PrescriptionSummary, ...]) -> PrescriptionSummary | None:
    newest: PrescriptionSummary | None = None
    for rx in prescriptions:
        if rx.status == PrescriptionStatus.PENDING and (
            newest is None or (rx.written_on, rx.id) > (newest.written_on, newest.id)
        ):
            newest = rx
    return newest


def _decide(situation: Situation, on: date,
            policy: Policy) -> tuple[PrescriptionSummary | None, Decision]:
    """The engine's decision on the newest pending prescription, or on a next prescription not
    written yet (as if written today with the longest supply)."""
    rx = _newest_pending(situation.prescriptions)
    if rx is not None:
        facts = PrescriptionFacts(rx.id, rx.status, rx.written_on, rx.days_supply, rx.quantity)
    else:
        facts = PrescriptionFacts(NEXT_FILL_ID, PrescriptionStatus.PENDING, on,
                                  policy.days_supply_max, 1)
    case = Case(prescription=facts, patient=situation.patient, prescriber=situation.prescriber)
    return rx, evaluate(case, on, policy)


# --- next steps ----------------------------------------------------------------------------------

_CONFIRMATION_TIMING = (
    ReasonCode.SCREENING_TEST_MISSING,
    ReasonCode.CONTRACEPTION_LEAD_TIME,
    ReasonCode.LOCKOUT_PERIOD,
)
# Codes another step already speaks for: the acknowledgment, the course, an open authorization.
_COVERED = frozenset({
    ReasonCode.PATIENT_NOT_ENROLLED,
    ReasonCode.COURSE_ENDED,
    ReasonCode.OTHER_AUTHORIZATION_ACTIVE,
    ReasonCode.PRESCRIPTION_NOT_PENDING,
})
_TEST_CODES = frozenset({
    ReasonCode.PREGNANCY_TEST_MISSING,
    ReasonCode.PREGNANCY_TEST_POSITIVE,
    ReasonCode.TEST_SETTING_NOT_ACCEPTED,
})
# What the prescriber records to meet each requirement of §6 and §7.
_RECORD_NEEDS = {
    ReasonCode.COUNSELING_MISSING: "counseling",
    ReasonCode.CONTRACEPTION_MISSING: "the contraception entry",
    ReasonCode.COMPREHENSION_MISSING: "the patient's comprehension answers",
    ReasonCode.CONTRACEPTION_MISMATCH: (
        "comprehension answers confirming the contraception entered"
    ),
    ReasonCode.PREGNANCY_TEST_MISSING: "a negative pregnancy test",
    ReasonCode.PREGNANCY_TEST_POSITIVE: "a negative pregnancy test after the positive one",
    ReasonCode.TEST_SETTING_NOT_ACCEPTED: "a negative pregnancy test done where it is accepted",
}


def _timing_label(code: ReasonCode, policy: Policy) -> str:
    return {
        ReasonCode.SCREENING_TEST_MISSING: (
            f"{policy.screening_gap_days} days after a negative screening test"
        ),
        ReasonCode.CONTRACEPTION_LEAD_TIME: (
            f"{policy.contraception_lead_days} days after the contraception started"
        ),
    }.get(code, "the end of the lockout after a missed first window")


def _confirmation_waits(course: CourseState, codes: set[ReasonCode], timing: list[Reason],
                        policy: Policy) -> list[tuple[date, str]]:
    """Every constraint on the day the confirmation test of a first fill can be collected, as
    (earliest day, why): the engine's timing reasons (§6.6 screening gap, §6.7 the 30-day wait,
    §6.8 the lockout) and, while no contraception is entered, the 30-day wait counted from
    today (the engine checks §6.7 only against an entry, so it gives no date without one)."""
    on = course.on
    waits = [(reason.met_from or on, _timing_label(reason.code, policy)) for reason in timing]
    needs_test = bool(timing) or bool(codes & _TEST_CODES) or ReasonCode.WINDOW_EXPIRED in codes
    if (course.first_fill and course.category == _CGP and needs_test
            and ReasonCode.CONTRACEPTION_MISSING in codes):
        lead = policy.contraception_lead_days
        waits.append((on + timedelta(days=lead),
                      f"{lead} days after the contraception started; none is entered yet, so "
                      f"counted from a start today"))
    return waits


def _join(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ordered(steps: list[Step]) -> tuple[Step, ...]:
    return tuple(sorted(steps, key=lambda s: (s.due_on or date.max, _PRIORITY[s.kind])))


def _counter_decision(situation: Situation, auth: OpenAuthorization, on: date,
                      rule_sets: tuple[Policy, ...]) -> Decision:
    """RULES.md §8 "Dispensing", pharmacy aside: what the counter would answer on `on`. An open
    authorization's prescription is dispensable by construction; the re-check reads its id."""
    prescription = PrescriptionFacts(auth.prescription_id, PrescriptionStatus.DISPENSABLE,
                                     auth.issued_on, 1, 1)
    case = Case(prescription=prescription, patient=situation.patient,
                prescriber=situation.prescriber)
    return evaluate_open_authorization(case, on, rule_sets, auth)


def _authorization_steps(situation: Situation, on: date, rule_sets: tuple[Policy, ...],
                         steps: list[Step]) -> bool:
    """Steps for the patient's open authorizations (RULES.md §8); True when one of them still
    waits at the pharmacy, so that the next fill comes after it. One the counter would refuse
    (expired, a positive test or a category change after its issue, an ended course, an
    inactive prescriber) is blocked: reverse it."""
    waiting = False
    for auth in situation.patient.open_authorizations:
        if auth.issued_on > on:
            continue
        decision = _counter_decision(situation, auth, on, rule_sets)
        closes = auth.do_not_dispense_after
        if closes is not None and closes < on:
            steps.append(Step(
                StepKind.REVERSE_AUTHORIZATION,
                f"Authorization {auth.number} expired on {closes} without a dispense; reverse it "
                f"to mark its prescription dispensable again, or write a new prescription.",
                closes + _ONE_DAY, prescription_id=auth.prescription_id,
                reasons=decision.unmet,
            ))
        elif not decision.dispensable:
            steps.append(Step(
                StepKind.REVERSE_AUTHORIZATION,
                f"Authorization {auth.number} is blocked: a pharmacy would refuse to dispense "
                f"it; reverse it.",
                on, prescription_id=auth.prescription_id, reasons=decision.unmet,
            ))
        else:
            waiting = True
            if closes is not None and closes <= on + _ONE_DAY:
                steps.append(Step(
                    StepKind.WINDOW_CLOSING,
                    f"Authorization {auth.number} must be dispensed by {closes}.",
                    closes, prescription_id=auth.prescription_id,
                ))
            else:
                until = f" through {closes}" if closes is not None else ""
                steps.append(Step(
                    StepKind.AWAITING_DISPENSE,
                    f"Authorization {auth.number} can be dispensed by a pharmacy{until}.",
                    closes, prescription_id=auth.prescription_id,
                ))
    return waiting


def _post_treatment_step(patient: PatientFacts, category: Category, ended: date, on: date,
                         policy: Policy) -> Step | None:
    """RULES.md §10: a patient who can get pregnant has a pregnancy test due N days after the
    last dose; (design default) any test collected on or after that day completes it."""
    if category != _CGP:
        return None
    due = ended + timedelta(days=policy.post_treatment_test_days)
    for test in patient.pregnancy_tests:
        if due <= test.collected_on <= on:
            return None
    return Step(
        StepKind.POST_TREATMENT_TEST,
        f"Post-treatment pregnancy test due on {due}, {policy.post_treatment_test_days} days "
        f"after the last dose of {ended}; contraception continues until then.",
        due,
    )


def _next_fill_dates(situation: Situation, course: CourseState,
                     policy: Policy) -> tuple[date, date] | None:
    """(design default) After a dispense of the course, the next fill is due when its supply
    runs out (dispense day + days' supply), and its monthly visit from a test window before
    that day, so that a test collected then still covers it. None before the first fill."""
    last = course.last_dispense
    if last is None or course.first_fill:
        return None
    supply = policy.cycle_days
    for rx in situation.prescriptions:
        if rx.id == last.prescription_id:
            supply = rx.days_supply
    runs_out = last.dispensed_on + timedelta(days=supply)
    visit_from = max(last.dispensed_on + _ONE_DAY,
                     runs_out - timedelta(days=policy.test_window_days - 1))
    return runs_out, visit_from


def _ready_steps(situation: Situation, course: CourseState, rx: PrescriptionSummary | None,
                 decision: Decision, policy: Policy, steps: list[Step]) -> None:
    """Every requirement is met: mark the prescription, or write one, before the window ends."""
    on = course.on
    rx_id = rx.id if rx is not None else None
    if rx is not None and rx.drafted_by_staff:
        steps.append(Step(StepKind.READY_TO_SIGN,
                          f"Prescription {rx.number}, drafted by your staff, is ready for you "
                          f"to sign: mark it dispensable.", on, rx_id))
    elif rx is not None:
        steps.append(Step(StepKind.MARK_DISPENSABLE,
                          f"Prescription {rx.number} can be marked dispensable now.", on, rx_id))
    else:
        timing = _next_fill_dates(situation, course, policy)
        if timing is not None and timing[1] > on:
            steps.append(Step(
                StepKind.NEXT_FILL,
                f"Next fill due on {timing[0]}: write the prescription from {timing[1]}.",
                timing[1],
            ))
        else:
            steps.append(Step(
                StepKind.WRITE_PRESCRIPTION,
                "Every requirement of the next fill is met: write the prescription and mark it "
                "dispensable.",
                on,
            ))
    window = decision.window
    if window is not None and window.closes_on <= on + _ONE_DAY:
        what = f"mark prescription {rx.number} dispensable" if rx is not None else (
            "write and mark a prescription")
        steps.append(Step(StepKind.WINDOW_CLOSING,
                          f"The window closes on {window.closes_on}: {what} by then.",
                          window.closes_on, rx_id))


def _unmet_steps(situation: Situation, course: CourseState, rx: PrescriptionSummary | None,
                 decision: Decision, policy: Policy, steps: list[Step]) -> None:
    """Turn the unmet requirements into the records to enter, the date the confirmation test
    can be collected from, and what nobody in the office can fix."""
    on = course.on
    rx_id = rx.id if rx is not None else None
    cgp = course.category == _CGP
    unmet = decision.unmet
    codes = {reason.code for reason in unmet}
    timing = [reason for reason in unmet if reason.code in _CONFIRMATION_TIMING]
    waits = _confirmation_waits(course, codes, timing, policy)
    needed: list[str] = []
    needed_reasons: list[Reason] = []
    for reason in unmet:
        code = reason.code
        if code in _COVERED or code in _CONFIRMATION_TIMING:
            continue
        if code == ReasonCode.WINDOW_EXPIRED:
            label = "a new negative pregnancy test" if cgp else "a new counseling visit"
            if cgp and waits:
                continue  # the confirmation step says when the new test can be collected
        elif code in _TEST_CODES and waits:
            # A first fill waiting for its confirmation test: only a missing screening test
            # can be collected now.
            if code == ReasonCode.TEST_SETTING_NOT_ACCEPTED or (
                ReasonCode.SCREENING_TEST_MISSING not in codes
            ):
                continue
            label = "a negative screening pregnancy test"
        elif code in _RECORD_NEEDS:
            label = _RECORD_NEEDS[code]
        else:
            steps.append(Step(StepKind.BLOCKED, reason.message, None, rx_id,
                              reasons=(reason,)))
            continue
        needed.append(label)
        needed_reasons.append(reason)
    if needed:
        dates = _next_fill_dates(situation, course, policy)
        items = _join(needed)
        if dates is not None and dates[1] > on:
            steps.append(Step(StepKind.NEXT_FILL,
                              f"Next fill due on {dates[0]}: from {dates[1]}, record {items}.",
                              dates[1], rx_id, reasons=tuple(needed_reasons)))
        else:
            steps.append(Step(StepKind.RECORDS_NEEDED, f"Record for the next fill: {items}.",
                              on, rx_id, reasons=tuple(needed_reasons)))
    if waits:
        due = max(max(day for day, _ in waits), on)
        if due > on:
            why = "; ".join(label for _, label in waits)
            message = f"The confirmation pregnancy test can be collected from {due} ({why})."
        else:
            message = "A new confirmation pregnancy test can be collected now."
        waited_on = tuple(reason for reason in unmet if reason.code in _CONFIRMATION_TIMING
                          or (reason.code == ReasonCode.CONTRACEPTION_MISSING
                              and len(waits) > len(timing)))
        steps.append(Step(StepKind.CONFIRMATION_TEST, message, due, rx_id, reasons=waited_on))


def outlook(situation: Situation, on: date, policy: Policy,
            rule_sets: tuple[Policy, ...] = ()) -> Outlook:
    """The decision on the patient's next fill on `on` and every next step, soonest first.

    `rule_sets` are every rule set in force over time (an open authorization is re-checked
    under the rule set of its issue day, RULES.md §8); without them, `policy` is the only one."""
    patient = situation.patient
    rx, decision = _decide(situation, on, policy)
    course = course_state(patient, on, rx.id if rx is not None else NEXT_FILL_ID)
    steps = [
        Step(StepKind.REPORT_POSITIVE_TEST,
             f"Report the positive pregnancy test collected on {test.collected_on} to the "
             f"pregnancy registry.", test.collected_on, record_id=test.id)
        for test in situation.unreported_positive_tests
    ]
    waiting = _authorization_steps(situation, on, rule_sets or (policy,), steps)
    ended = course.course_ended_on if not course.enrolled else None
    if ended is not None:
        step = _post_treatment_step(patient, course.category, ended, on, policy)
        if step is not None:
            steps.append(step)
    elif not waiting:
        if not course.enrolled:
            steps.append(Step(
                StepKind.SIGN_ACKNOWLEDGMENT,
                f"Have the patient sign the acknowledgment for the category "
                f"'{_CATEGORY_LABELS[course.category]}'.",
                on,
            ))
        if decision.dispensable:
            _ready_steps(situation, course, rx, decision, policy, steps)
        else:
            _unmet_steps(situation, course, rx, decision, policy, steps)
    return Outlook(decision, rx, course.first_fill, _ordered(steps))


# --- triage --------------------------------------------------------------------------------------


class Urgency(StrEnum):
    """How pressing a patient is on the worklist, most pressing first (the order is the sort)."""

    REPORT_DUE = "report_due"  # a positive test to report to the registry (RULES.md §10)
    BLOCKED = "blocked"  # an authorization the counter would refuse, or what nobody can date
    READY_TO_SIGN = "ready_to_sign"  # a prescription to mark dispensable now
    CLOSING = "closing"  # a window or an authorization that closes today or tomorrow
    WAITING = "waiting"  # records, tests or visits still to come from the patient
    NOTHING_DUE = "nothing_due"


_URGENT_KINDS = (
    (Urgency.REPORT_DUE, frozenset({StepKind.REPORT_POSITIVE_TEST})),
    (Urgency.BLOCKED, frozenset({StepKind.REVERSE_AUTHORIZATION, StepKind.BLOCKED})),
    (Urgency.READY_TO_SIGN, frozenset({StepKind.MARK_DISPENSABLE, StepKind.READY_TO_SIGN})),
    (Urgency.CLOSING, frozenset({StepKind.WINDOW_CLOSING})),
)


def urgency(steps: tuple[Step, ...]) -> Urgency:
    """The most pressing category a patient's next steps fall in. A closing window is a step
    only when it closes today or tomorrow; every other step waits for the patient."""
    kinds = {step.kind for step in steps}
    for category, matching in _URGENT_KINDS:
        if kinds & matching:
            return category
    return Urgency.WAITING if steps else Urgency.NOTHING_DUE


# --- the checklist of a decision -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    key: str
    codes: frozenset[ReasonCode]
    # (can get pregnant, first fill, policy) -> whether the requirement applies
    applies: Callable[[bool, bool, Policy], bool]
    label: Callable[[Policy], str]


def _always(cgp: bool, first: bool, policy: Policy) -> bool:
    return True


_ROWS: tuple[_Row, ...] = (
    _Row("enrollment", frozenset({ReasonCode.PATIENT_NOT_ENROLLED, ReasonCode.COURSE_ENDED}),
         _always, lambda p: "Acknowledgment signed for the patient's category and course"),
    _Row("prescription", frozenset({ReasonCode.PRESCRIPTION_NOT_PENDING}), _always,
         lambda p: "Prescription pending (not marked dispensable or dispensed yet)"),
    _Row("prescriber", frozenset({ReasonCode.PRESCRIBER_INACTIVE}), _always,
         lambda p: "Prescriber active in the program"),
    _Row("one_authorization", frozenset({ReasonCode.OTHER_AUTHORIZATION_ACTIVE}), _always,
         lambda p: "No other authorization of the patient open"),
    _Row("counseling", frozenset({ReasonCode.COUNSELING_MISSING}),
         lambda cgp, first, p: cgp or p.cngp_counseling_every_cycle,
         lambda p: f"Counseling by the prescriber in the last {p.cycle_days} days, after the "
                   f"last dispense"),
    _Row("counseling_once", frozenset({ReasonCode.COUNSELING_MISSING}),
         lambda cgp, first, p: not cgp and not p.cngp_counseling_every_cycle,
         lambda p: "Counseling by the prescriber since enrollment"),
    _Row("visit_window", frozenset({ReasonCode.WINDOW_EXPIRED}),
         lambda cgp, first, p: not cgp and p.cngp_window,
         lambda p: f"Today within the {p.cngp_window_days}-day window of the counseling visit"),
    _Row("contraception", frozenset({ReasonCode.CONTRACEPTION_MISSING}),
         lambda cgp, first, p: cgp,
         lambda p: "Contraception entered this cycle: two methods, one of them primary, or "
                   "abstinence"),
    _Row("comprehension", frozenset({ReasonCode.COMPREHENSION_MISSING,
                                     ReasonCode.CONTRACEPTION_MISMATCH}),
         lambda cgp, first, p: cgp,
         lambda p: "Comprehension questions passed this cycle, confirming the same "
                   "contraception"),
    _Row("pregnancy_test", frozenset({ReasonCode.PREGNANCY_TEST_MISSING,
                                      ReasonCode.PREGNANCY_TEST_POSITIVE,
                                      ReasonCode.WINDOW_EXPIRED,
                                      ReasonCode.TEST_SETTING_NOT_ACCEPTED}),
         lambda cgp, first, p: cgp,
         lambda p: f"Negative pregnancy test, done where accepted, with today in its "
                   f"{p.test_window_days}-day window"),
    _Row("screening", frozenset({ReasonCode.SCREENING_TEST_MISSING}),
         lambda cgp, first, p: cgp and first,
         lambda p: f"Negative screening test at least {p.screening_gap_days} days before the "
                   f"confirmation test"),
    _Row("lead_time", frozenset({ReasonCode.CONTRACEPTION_LEAD_TIME}),
         lambda cgp, first, p: cgp and first,
         lambda p: f"Contraception started at least {p.contraception_lead_days} days before "
                   f"the confirmation test"),
    _Row("lockout", frozenset({ReasonCode.LOCKOUT_PERIOD}),
         lambda cgp, first, p: cgp and first and p.lockout,
         lambda p: "No lockout from a missed first window"),
)

_SETTING_WORDS = {"lab": "laboratory", "office": "office", "home": "home"}


def _evidence(decision: Decision, patient: PatientFacts,
              cgp: bool) -> dict[str, tuple[Evidence, ...]]:
    """The records each met requirement rests on, from the decision's `used` list."""
    acks = {a.id: a for a in patient.acknowledgments}
    visits = {c.id: c for c in patient.counseling}
    entries = {e.id: e for e in patient.contraception}
    attempts = {a.id: a for a in patient.comprehension}
    tests = {t.id: t for t in patient.pregnancy_tests}
    window = decision.window
    out: dict[str, tuple[Evidence, ...]] = {}
    for kind, record_id in decision.used:
        if kind == RecordKind.ACKNOWLEDGMENT:
            out["enrollment"] = (Evidence("Signed", acks[record_id].signed_on),)
        elif kind == RecordKind.COUNSELING:
            visit = (Evidence("Counseled", visits[record_id].counseled_on),)
            out["counseling"] = out["counseling_once"] = visit
            if window is not None and not cgp:
                out["visit_window"] = (*visit, Evidence("Window closes", window.closes_on))
        elif kind == RecordKind.CONTRACEPTION:
            entry = entries[record_id]
            out["contraception"] = (Evidence("Entered", entry.recorded_on),)
            out["lead_time"] = (Evidence("Started", entry.started_on),)
        elif kind == RecordKind.COMPREHENSION:
            out["comprehension"] = (Evidence("Passed", attempts[record_id].completed_on),)
        else:  # RecordKind.PREGNANCY_TEST: a confirmation or a screening test
            test = tests[record_id]
            seen = Evidence(f"Negative {_SETTING_WORDS[test.setting]} test collected",
                            test.collected_on)
            if window is not None and test.collected_on == window.opens_on:
                out["pregnancy_test"] = (seen, Evidence("Window closes", window.closes_on))
            else:
                out["screening"] = (seen,)
    return out


# Lines a record shows met: without one (and with nothing unmet, because the engine checks
# them only against a record that another line still waits for) they are "not yet".
_RECORD_ROWS = {
    "enrollment": "Nothing signed yet.",
    "counseling": "Nothing recorded yet.",
    "counseling_once": "Nothing recorded yet.",
    "visit_window": "Opens with the counseling visit, once it is recorded.",
    "contraception": "Nothing entered yet.",
    "comprehension": "Nothing recorded yet.",
    "pregnancy_test": "Nothing recorded yet.",
    "screening": "Checked once a negative pregnancy test is recorded.",
    "lead_time": "Checked once the contraception is entered.",
}
_FACT_NOTES = {
    "prescription": "Pending.",
    "prescriber": "Active.",
    "one_authorization": "None open.",
    "lockout": "No missed first window.",
}


def _unchecked_note(key: str, evidence: tuple[Evidence, ...], patient: PatientFacts,
                    course: CourseState, prescription_id: int) -> str:
    """Why a line with nothing unmet cannot say "Met" yet, or "" when it can."""
    if key in _RECORD_ROWS:
        return "" if evidence else _RECORD_ROWS[key]
    if key == "prescription" and prescription_id == NEXT_FILL_ID:
        return "No prescription is written yet."
    if key == "lockout" and not any(
        test.result == TestResult.NEGATIVE and course.tests_from <= test.collected_on <= course.on
        for test in patient.pregnancy_tests
    ):
        return "Decided once a pregnancy test of this first fill is recorded."
    return ""


def checklist(decision: Decision, patient: PatientFacts, policy: Policy,
              prescription_id: int = NEXT_FILL_ID) -> tuple[Requirement, ...]:
    """Every requirement that applies to the fill the decision is about, met or not: the unmet
    ones with the engine's reasons (and the dates they can be met), the met ones with the
    records they rest on, and those nothing can be checked on yet as "not yet" (never "met"
    without a record, nor for a prescription not written). A reason no requirement names is
    listed under "Other"."""
    course = course_state(patient, decision.as_of, prescription_id)
    cgp = course.category == _CGP
    first = course.first_fill
    evidence = _evidence(decision, patient, cgp)
    placed: set[int] = set()
    items: list[Requirement] = []
    for row in _ROWS:
        if not row.applies(cgp, first, policy):
            continue
        reasons = []
        for index, reason in enumerate(decision.unmet):
            if reason.code in row.codes:
                reasons.append(reason)
                placed.add(index)
        if reasons:
            items.append(Requirement(row.key, row.label(policy), False, tuple(reasons),
                                     status=RequirementStatus.NOT_MET))
            continue
        shown = evidence.get(row.key, ())
        note = _unchecked_note(row.key, shown, patient, course, prescription_id)
        if note:
            items.append(Requirement(row.key, row.label(policy), True,
                                     status=RequirementStatus.NOT_YET, note=note))
        else:
            items.append(Requirement(row.key, row.label(policy), True, evidence=shown,
                                     note="" if shown else _FACT_NOTES[row.key]))
    others = tuple(r for index, r in enumerate(decision.unmet) if index not in placed)
    if others:
        items.append(Requirement("other", "Other requirements", False, others,
                                 status=RequirementStatus.NOT_MET))
    return tuple(items)


def fill_windows(patient: PatientFacts, rule_sets: tuple[Policy, ...]) -> tuple[FillWindow, ...]:
    """The window of every negative test of a patient who could get pregnant when it was
    collected (D..D+6, RULES.md §6.4), and of every counseling visit of a patient who could not,
    under rule sets with a visit window (V..V+29, §7); each by the rule set of its own date."""
    windows: list[FillWindow] = []
    for test in patient.pregnancy_tests:
        day = test.collected_on
        if test.result == TestResult.NEGATIVE and category_on(patient, day) == _CGP:
            days = policy_for(day, rule_sets).test_window_days
            windows.append(FillWindow("test", test.id,
                                      Window(day, day + timedelta(days=days - 1))))
    for visit in patient.counseling:
        day = visit.counseled_on
        policy = policy_for(day, rule_sets)
        if category_on(patient, day) != _CGP and policy.cngp_window:
            windows.append(FillWindow("visit", visit.id, Window(
                day, day + timedelta(days=policy.cngp_window_days - 1))))
    return tuple(sorted(windows, key=lambda w: (w.window.opens_on, w.kind, w.record_id)))


def screening_only_tests(patient: PatientFacts,
                         rule_sets: tuple[Policy, ...]) -> frozenset[int]:
    """The negative tests whose window cannot cover a fill: a test collected before the first
    fill of a course can only be that fill's confirmation test C if a negative screening test S
    with C >= S + 19 days precedes it (RULES.md §6.6); without one it can only serve as the
    screening test, and its D..D+6 (§6.4) allows no fill. Negative tests on or before the day
    of a newer positive test count for nothing (§6.4), so they screen nothing either."""
    screening: set[int] = set()
    for test in patient.pregnancy_tests:
        day = test.collected_on
        if test.result != TestResult.NEGATIVE or not course_state(patient, day).first_fill:
            continue
        gap = timedelta(days=policy_for(day, rule_sets).screening_gap_days)
        positives = [t.collected_on for t in patient.pregnancy_tests
                     if t.result != TestResult.NEGATIVE and t.collected_on <= day]
        counts_from = max(positives, default=None)
        if not any(t.result == TestResult.NEGATIVE and t.collected_on <= day - gap
                   and (counts_from is None or t.collected_on > counts_from)
                   for t in patient.pregnancy_tests):
            screening.add(test.id)
    return frozenset(screening)
