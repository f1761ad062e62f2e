"""The rules engine: may this prescription be marked dispensable, or dispensed, on this date?

Pure functions of facts, a program date and a `Policy` (RULES.md §2): no clock, no database.
Records dated after the evaluation date are ignored, so the same call answers "now" and "as of"
(RULES.md §1). A refusal lists every unmet requirement, each with the earliest date it can be met
where that date can be computed, so a dermatologist learns every date at once.

Records are scanned once each, unsorted, keeping only the newest match (records of the same day:
the one with the higher id, i.e. entered later), so the loader need not sort and the answer does
not depend on the order. A year of history costs a few dozen comparisons. Only the first fill of
a course under a rule set with a lockout does more (the walk of §6.8 re-checks each day of each
earlier window).
"""

from __future__ import annotations

from datetime import date, timedelta

from tracker.domain.contraception import acceptable_contraception, same_contraception
from tracker.domain.decision import Decision, Window
from tracker.domain.facts import (
    Acknowledgment,
    Case,
    Category,
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    OpenAuthorization,
    PatientFacts,
    PharmacyFacts,
    PregnancyTest,
    PrescriptionStatus,
    TestResult,
    TestSetting,
)
from tracker.domain.policy import Policy, pharmacy_problems
from tracker.domain.reasons import PHARMACY_VISIBLE_CODES, Reason, ReasonCode

__all__ = [
    "course_enrollment",
    "Decision",
    "Window",
    "evaluate",
    "evaluate_dispense",
    "fold_for_pharmacy",
]

_ONE_DAY = timedelta(days=1)
_CGP = Category.CAN_GET_PREGNANT
_NEGATIVE = TestResult.NEGATIVE
_HOME_ONLY = frozenset({TestSetting.HOME})

_CATEGORY_LABELS = {
    Category.CAN_GET_PREGNANT: "can get pregnant",
    Category.CANNOT_GET_PREGNANT: "cannot get pregnant",
}
_SETTING_LABELS = {
    TestSetting.LAB: "a CLIA-certified laboratory",
    TestSetting.OFFICE: "a medical office",
    TestSetting.HOME: "the patient's home",
}


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _none_between(start: date, on: date, what: str = "none is recorded") -> str:
    """"none is recorded from X through T", or, on the day of a dispense, when only records of
    later days can count for the next fill, say so."""
    if start > on:
        return f"only records dated from {start}, the day after the last dispense, count"
    return f"{what} from {start} through {on}"


def _settings_text(settings: frozenset[TestSetting]) -> str:
    return " or ".join(_SETTING_LABELS[s] for s in TestSetting if s in settings)


# --- RULES.md §4: enrollment and course ---------------------------------------------------------


def course_enrollment(
    patient: PatientFacts, on: date
) -> tuple[Category, Acknowledgment | None, date | None, bool]:
    """The patient's category on `on`, the acknowledgment that enrolled the current course (or
    None), the last dose of the latest ended course, and whether any acknowledgment for the
    category exists (to tell COURSE_ENDED from PATIENT_NOT_ENROLLED)."""
    history = patient.category_history
    # The registration entry applies whatever its date (it bounds nothing); a later change
    # applies from its date and needs an acknowledgment signed on or after it (§4).
    category = history[0].category
    since: date | None = None
    for change in history[1:]:
        if change.changed_on <= on:
            category = change.category
            since = change.changed_on
    course_end: date | None = None
    for end in patient.course_ends:
        last_dose = end.last_dose_on
        if last_dose <= on and (course_end is None or last_dose > course_end):
            course_end = last_dose
    enrolling: Acknowledgment | None = None
    signed_any = False
    for ack in patient.acknowledgments:
        signed = ack.signed_on
        if ack.category != category or signed > on or (since is not None and signed < since):
            continue
        signed_any = True
        # §4 "A new course needs a new acknowledgment". (design default) An acknowledgment
        # signed on the last-dose day belongs to the course that ended.
        if course_end is not None and signed <= course_end:
            continue
        # (design default) The course is enrolled by its earliest acknowledgment: re-signing a
        # newer form version mid-course must not make the next fill a "first fill" again.
        if (
            enrolling is None
            or signed < enrolling.signed_on
            or (signed == enrolling.signed_on and ack.id < enrolling.id)
        ):
            enrolling = ack
    return category, enrolling, course_end, signed_any


def _last_dispense(patient: PatientFacts, on: date, prescription_id: int) -> date | None:
    # §5 "the patient's most recent dispense". (design default) The prescription's own dispense
    # never counts: it is the fill being decided, not a previous one.
    last: date | None = None
    for dispense in patient.dispenses:
        day = dispense.dispensed_on
        if day <= on and dispense.prescription_id != prescription_id and (
            last is None or day > last
        ):
            last = day
    return last


# --- RULES.md §6: patients who can get pregnant -------------------------------------------------


def _cgp(
    patient: PatientFacts,
    on: date,
    policy: Policy,
    home_ok: bool,
    tests_from: date,
    cycle_from: date,
    first_fill: bool,
    lockout: tuple[date, date] | None,
    negatives_until: date,
    reasons: list[Reason],
    used: list[tuple[str, int]],
) -> Window | None:
    """Check §6 items 1-8 on `on`; append unmet reasons and used records; return the window.

    `negatives_until` limits which negative tests may count (the lockout walk pins the
    confirmation test); every positive test up to `on` still counts.
    """
    # §6.1 counseling in the cycle (§5: after the last dispense, on or after T - 30).
    counseling: Counseling | None = None
    for visit in patient.counseling:
        day = visit.counseled_on
        if cycle_from <= day <= on and (
            counseling is None
            or day > counseling.counseled_on
            or (day == counseling.counseled_on and visit.id > counseling.id)
        ):
            counseling = visit
    if counseling is None:
        reasons.append(
            Reason(
                ReasonCode.COUNSELING_MISSING,
                f"Counseling by the prescriber is needed: {_none_between(cycle_from, on)}.",
                met_from=max(on, cycle_from),
            )
        )
    else:
        used.append(("counseling", counseling.id))

    # §6.2 contraception in the cycle (by the date it was recorded). The latest entry is the
    # prescriber's current statement; an entry that breaks §6.2 never counts.
    entry: ContraceptionEntry | None = None
    for candidate in patient.contraception:
        day = candidate.recorded_on
        if (
            cycle_from <= day <= on
            and (
                entry is None
                or day > entry.recorded_on
                or (day == entry.recorded_on and candidate.id > entry.id)
            )
            and acceptable_contraception(candidate.methods, candidate.abstinence)
        ):
            entry = candidate
    if entry is None:
        reasons.append(
            Reason(
                ReasonCode.CONTRACEPTION_MISSING,
                f"The prescriber must enter the patient's contraception (two methods, one of "
                f"them primary, or abstinence): {_none_between(cycle_from, on)}.",
                met_from=max(on, cycle_from),
            )
        )
    else:
        used.append(("contraception", entry.id))

    # §6.3 a passing comprehension attempt in the cycle; its confirmed contraception must be the
    # prescriber's latest entry. Failed attempts change nothing.
    attempt: ComprehensionAttempt | None = None
    for candidate_attempt in patient.comprehension:
        day = candidate_attempt.completed_on
        if (
            candidate_attempt.passed
            and cycle_from <= day <= on
            and (
                attempt is None
                or day > attempt.completed_on
                or (day == attempt.completed_on and candidate_attempt.id > attempt.id)
            )
        ):
            attempt = candidate_attempt
    if attempt is None:
        reasons.append(
            Reason(
                ReasonCode.COMPREHENSION_MISSING,
                f"The patient must pass the comprehension questions: "
                f"{_none_between(cycle_from, on, 'no passing attempt is recorded')}.",
                met_from=max(on, cycle_from),
            )
        )
    else:
        used.append(("comprehension", attempt.id))
        if entry is not None and not same_contraception(
            attempt.methods, attempt.abstinence, entry.methods, entry.abstinence
        ):
            reasons.append(
                Reason(
                    ReasonCode.CONTRACEPTION_MISMATCH,
                    f"The contraception the patient confirmed on {attempt.completed_on} differs "
                    f"from the prescriber's entry of {entry.recorded_on}; correct the entry or "
                    f"have the patient answer again.",
                    met_from=max(on, cycle_from),
                )
            )

    # §6.4 pregnancy tests count when collected after the last dispense (no T - 30 bound): one
    # test qualifies at most one fill.
    positive: PregnancyTest | None = None
    negatives: list[PregnancyTest] = []
    for test in patient.pregnancy_tests:
        day = test.collected_on
        if tests_from <= day <= on:
            if test.result != _NEGATIVE:
                if positive is None or day > positive.collected_on:
                    positive = test
            elif day <= negatives_until:
                negatives.append(test)
    if positive is not None:
        # §6.4 a positive test blocks until a later negative one. (design default) A negative
        # test collected on the same day as a positive one does not lift it; earlier negative
        # tests no longer count, neither as confirmation nor as screening.
        blocked_through = positive.collected_on
        negatives = [test for test in negatives if test.collected_on > blocked_through]

    # §6.5 where the test was done.
    if first_fill:
        accepted = policy.first_fill_confirmation_settings
    elif home_ok:
        accepted = policy.later_fill_settings | _HOME_ONLY
    else:
        accepted = policy.later_fill_settings
    window_days = policy.test_window_days
    covers_from = on - _days(window_days - 1)  # D <= T <= D + 6
    confirmation: PregnancyTest | None = None
    refused: PregnancyTest | None = None
    newest: PregnancyTest | None = None
    for test in negatives:
        day = test.collected_on
        if newest is None or day > newest.collected_on:
            newest = test
        if day >= covers_from:
            # §6.4 "When several negative tests qualify, the newest is used".
            if test.setting in accepted:
                if (
                    confirmation is None
                    or day > confirmation.collected_on
                    or (day == confirmation.collected_on and test.id > confirmation.id)
                ):
                    confirmation = test
            elif (
                refused is None
                or day > refused.collected_on
                or (day == refused.collected_on and test.id > refused.id)
            ):
                refused = test

    window: Window | None = None
    if confirmation is not None:
        used.append(("pregnancy_test", confirmation.id))
        confirmed_on = confirmation.collected_on
        window = Window(confirmed_on, confirmed_on + _days(window_days - 1))
    else:
        # Without a confirmation test, the first-fill checks below are made against a test
        # collected today, so every date the prescriber needs is known at once.
        confirmed_on = on
        if positive is not None and newest is None:
            reasons.append(
                Reason(
                    ReasonCode.PREGNANCY_TEST_POSITIVE,
                    f"The newest pregnancy test, collected on {positive.collected_on}, is "
                    f"positive; no fill is possible until a later negative test is recorded.",
                )
            )
        elif refused is not None:
            reasons.append(
                Reason(
                    ReasonCode.TEST_SETTING_NOT_ACCEPTED,
                    f"The negative test collected on {refused.collected_on} was done at "
                    f"{_SETTING_LABELS[refused.setting]}; this fill needs a test done at "
                    f"{_settings_text(accepted)}.",
                    met_from=max(on, tests_from),
                )
            )
        elif newest is not None:
            closed = newest.collected_on + _days(window_days - 1)
            reasons.append(
                Reason(
                    ReasonCode.WINDOW_EXPIRED,
                    f"The {window_days}-day window of the negative test collected on "
                    f"{newest.collected_on} closed on {closed}; a new negative test is needed.",
                    met_from=max(on, tests_from),
                    closed_on=closed,
                )
            )
        else:
            reasons.append(
                Reason(
                    ReasonCode.PREGNANCY_TEST_MISSING,
                    f"A negative pregnancy test is needed: {_none_between(tests_from, on)}."
                    if tests_from > date.min
                    else "A negative pregnancy test is needed: none is recorded.",
                    met_from=max(on, tests_from),
                )
            )

    if not first_fill:
        return window
    # §6.6 first fill: a screening test S with C >= S + 19.
    gap = policy.screening_gap_days
    screen_until = confirmed_on - _days(gap)
    screening_settings = policy.first_fill_screening_settings
    screening: PregnancyTest | None = None
    earliest_screen: date | None = None
    for test in negatives:
        if test.setting in screening_settings:
            day = test.collected_on
            if day <= screen_until:
                if (
                    screening is None
                    or day > screening.collected_on
                    or (day == screening.collected_on and test.id > screening.id)
                ):
                    screening = test
            elif earliest_screen is None or day < earliest_screen:
                earliest_screen = day
    if screening is not None:
        used.append(("pregnancy_test", screening.id))
    else:
        subject = (
            f"the confirmation test collected on {confirmed_on}"
            if confirmation is not None
            else "the confirmation test"
        )
        if earliest_screen is None:
            # (design default) No negative test can serve as screening yet: one today, then the
            # confirmation test gap days later.
            met_from = on + _days(gap)
            message = (
                f"A negative screening test done at {_settings_text(screening_settings)} is "
                f"needed at least {gap} days before {subject}; with a screening test today the "
                f"confirmation test can be collected from {met_from}."
            )
        else:
            # The earliest negative test that can serve as screening (it may be today's test)
            # gives the earliest confirmation date, never before today.
            met_from = max(on, earliest_screen + _days(gap))
            message = (
                f"A screening test is needed at least {gap} days before {subject}; the earliest "
                f"negative test that can serve as one was collected on {earliest_screen}, so the "
                f"confirmation test can be collected from {met_from}."
            )
        reasons.append(Reason(ReasonCode.SCREENING_TEST_MISSING, message, met_from=met_from))

    # §6.7 first fill: contraception started on or before C - 30 (the latest entry's start).
    if entry is not None:
        ready_on = entry.started_on + _days(policy.contraception_lead_days)
        if ready_on > confirmed_on:
            met_from = max(on, ready_on)
            what = "abstinence" if entry.abstinence else "contraception"
            reasons.append(
                Reason(
                    ReasonCode.CONTRACEPTION_LEAD_TIME,
                    f"The {what} started on {entry.started_on}; the confirmation test must be "
                    f"collected at least {policy.contraception_lead_days} days later, from "
                    f"{met_from}.",
                    met_from=met_from,
                )
            )

    # §6.8 first fill: a missed first window locks out until C0 + 19.
    if lockout is not None and confirmed_on < lockout[1]:
        first_test, ends = lockout
        reasons.append(
            Reason(
                ReasonCode.LOCKOUT_PERIOD,
                f"The window of the negative test collected on {first_test} closed on "
                f"{first_test + _days(window_days - 1)} without a dispense; a new confirmation "
                f"test must be collected on or after {ends}.",
                met_from=ends,
            )
        )
    return window


def _lockout(
    patient: PatientFacts, on: date, policy: Policy, tests_from: date, last: date | None
) -> tuple[date, date] | None:
    """RULES.md §6.8: (C0, end of lockout) of the last missed first window before `on`, or None.

    Walk the negative tests of the first-fill cycle in date order. A test collected during a
    lockout qualifies nothing and starts none. Any other test whose window closed before `on`
    starts a lockout when every §6 requirement and enrollment was met on some day of its window,
    judged as of that day with only the records known by then. No dispense can fall inside these
    windows: every test of the cycle is after the last dispense.
    """
    window_days = policy.test_window_days
    closed_by = on - _days(window_days)  # C + 6 < T
    accepted = policy.first_fill_confirmation_settings
    walk = sorted(
        (
            test
            for test in patient.pregnancy_tests
            if test.result == _NEGATIVE
            and tests_from <= test.collected_on <= closed_by
            and test.setting in accepted
        ),
        key=lambda test: test.collected_on,
    )
    lockout: tuple[date, date] | None = None
    for test in walk:
        start = test.collected_on
        if lockout is not None and start < lockout[1]:
            continue
        for offset in range(window_days):
            day = start + _days(offset)
            category, ack, _, _ = course_enrollment(patient, day)
            if category != _CGP or ack is None or (last is not None and last >= ack.signed_on):
                continue
            cycle_from = day - _days(policy.cycle_days)
            if last is not None and last >= cycle_from:
                cycle_from = last + _ONE_DAY
            unmet: list[Reason] = []
            _cgp(patient, day, policy, False, tests_from, cycle_from, True, None, start, unmet, [])
            if not unmet:
                lockout = (start, start + _days(policy.lockout_days))
                break
    return lockout


# --- RULES.md §7: patients who cannot get pregnant ----------------------------------------------


def _cngp(
    patient: PatientFacts,
    on: date,
    policy: Policy,
    cycle_from: date,
    enrolling: Acknowledgment | None,
    reasons: list[Reason],
    used: list[tuple[str, int]],
) -> Window | None:
    """Check §7 on `on`; append unmet reasons and used records; return the visit window."""
    since: date | None
    if policy.cngp_counseling_every_cycle:
        since = cycle_from  # 2021/2023: counseling in the cycle
        needed = _none_between(cycle_from, on)
    else:
        # 2026: "at least once since enrollment". (design default) On or after the date of the
        # acknowledgment that enrolled this course; a patient not enrolled has none yet.
        since = enrolling.signed_on if enrolling is not None else None
        needed = (
            f"none is recorded since the enrollment of {since}"
            if since is not None
            else "the patient must be enrolled and then counseled"
        )
    visit: Counseling | None = None
    if since is not None:
        for candidate in patient.counseling:
            day = candidate.counseled_on
            if since <= day <= on and (
                visit is None
                or day > visit.counseled_on
                or (day == visit.counseled_on and candidate.id > visit.id)
            ):
                visit = candidate
    if visit is None:
        reasons.append(
            Reason(
                ReasonCode.COUNSELING_MISSING,
                f"Counseling by the prescriber is needed: {needed}.",
                met_from=max(on, cycle_from),
            )
        )
        return None
    used.append(("counseling", visit.id))
    if not policy.cngp_window:
        return None
    # §7 T within V .. V+29.
    visited = visit.counseled_on
    closes = visited + _days(policy.cngp_window_days - 1)
    if on > closes:
        reasons.append(
            Reason(
                ReasonCode.WINDOW_EXPIRED,
                f"The {policy.cngp_window_days}-day window of the counseling visit on {visited} "
                f"closed on {closes}; a new counseling visit is needed.",
                met_from=on,
                closed_on=closes,
            )
        )
        return None
    return Window(visited, closes)


# --- the patient's requirements, shared by marking and dispensing --------------------------------


def _check_patient(
    case: Case, on: date, policy: Policy, reasons: list[Reason]
) -> tuple[Window | None, tuple[tuple[str, int], ...]]:
    """Every patient requirement of RULES.md §4-§7 on `on`: append what is unmet, return the
    window and the records relied on. A patient who is not enrolled is still checked on
    everything else, so a refusal lists every unmet requirement."""
    patient = case.patient
    used: list[tuple[str, int]] = []
    category, enrolling, course_end, signed_any = course_enrollment(patient, on)
    if enrolling is not None:
        used.append(("acknowledgment", enrolling.id))
    elif signed_any:
        reasons.append(
            Reason(
                ReasonCode.COURSE_ENDED,
                f"The course ended with the last dose on {course_end}; a new course needs a new "
                f"enrollment acknowledgment.",
            )
        )
    else:
        reasons.append(
            Reason(
                ReasonCode.PATIENT_NOT_ENROLLED,
                f"The patient must sign the enrollment acknowledgment for the category "
                f"'{_CATEGORY_LABELS[category]}'.",
                met_from=on,
            )
        )

    last = _last_dispense(patient, on, case.prescription.id)
    # §5 monthly records: after the last dispense (design default: strictly, by date) and on or
    # after T - 30. Tests: after the last dispense only.
    cycle_from = on - _days(policy.cycle_days)
    if last is None:
        tests_from = date.min
    else:
        tests_from = last + _ONE_DAY
        cycle_from = max(cycle_from, tests_from)

    if category != _CGP:
        window = _cngp(patient, on, policy, cycle_from, enrolling, reasons, used)
        return window, tuple(used)

    # §6 "first fill of a course": no dispense since the acknowledgment that enrolled it.
    # (design default) A patient not enrolled (or whose course ended) is before a first fill.
    first_fill = enrolling is None or last is None or last < enrolling.signed_on
    lockout = (
        _lockout(patient, on, policy, tests_from, last) if first_fill and policy.lockout else None
    )
    home_ok = policy.home_tests_on_later_fills and case.prescriber.home_testing_permitted
    window = _cgp(
        patient, on, policy, home_ok, tests_from, cycle_from, first_fill, lockout, on, reasons,
        used,
    )
    return window, tuple(used)


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


def evaluate_dispense(
    case: Case,
    on: date,
    policy: Policy,
    pharmacy: PharmacyFacts,
    authorization: OpenAuthorization | None,
) -> Decision:
    """RULES.md §8 "Dispensing" on program date `on`: the prescription dispensable under an
    open authorization, on or before its do-not-dispense-after date, an active pharmacy and
    prescriber, and every patient requirement of §4-§7 re-checked on the dispensing date (a
    positive test, a category change or an ended course recorded after the authorization
    blocks). `do_not_dispense_after` is the authorization's own date."""
    reasons: list[Reason] = []
    prescription = case.prescription
    status = prescription.status
    if status == PrescriptionStatus.DISPENSED:
        reasons.append(
            Reason(ReasonCode.ALREADY_DISPENSED, "This prescription has already been dispensed.")
        )
    elif (
        status != PrescriptionStatus.DISPENSABLE
        or authorization is None
        or authorization.prescription_id != prescription.id
        or authorization.issued_on > on
    ):
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
    problems = pharmacy_problems(pharmacy, on, policy)
    if problems:
        reasons.append(
            Reason(
                ReasonCode.PHARMACY_INACTIVE,
                "The pharmacy is not active. " + " ".join(problems),
            )
        )
    if not case.prescriber.active:
        reasons.append(_prescriber_inactive())
    window, used = _check_patient(case, on, policy, reasons)
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
