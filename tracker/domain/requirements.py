"""The patient's requirements for one fill on one day (RULES.md §6 and §7), one function each.

Every check reads a `FillCheck` (the patient, the day, the rule set and where the course stands)
and writes what it finds to `Findings`: the unmet requirements and the records relied on. Each
unmet requirement says, where it can be computed, the earliest date it can be met, so a
dermatologist learns every date at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tracker.domain.contraception import acceptable_contraception, same_contraception
from tracker.domain.course import CourseState
from tracker.domain.decision import Window
from tracker.domain.facts import (
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    PatientFacts,
    PregnancyTest,
    RecordKind,
    TestResult,
    TestSetting,
)
from tracker.domain.policy import Policy
from tracker.domain.reasons import Reason, ReasonCode
from tracker.domain.records import newest

__all__ = [
    "FillCheck",
    "Findings",
    "check_can_get_pregnant",
    "check_cannot_get_pregnant",
]

_HOME_ONLY = frozenset({TestSetting.HOME})
_SETTING_LABELS = {
    TestSetting.LAB: "a CLIA-certified laboratory",
    TestSetting.OFFICE: "a medical office",
    TestSetting.HOME: "the patient's home",
}


def _days(n: int) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True, slots=True)
class FillCheck:
    """Checking one fill on `on` under `policy`.

    `cycle_from` and `course.tests_from` bound the records that count (RULES.md §5);
    `negatives_until` limits which negative tests may count (the lockout walk pins the
    confirmation test; every positive test up to `on` still counts).
    """

    patient: PatientFacts
    on: date
    policy: Policy
    course: CourseState
    home_ok: bool = False
    negatives_until: date | None = None

    @property
    def cycle_from(self) -> date:
        return self.course.cycle_from(self.policy.cycle_days)

    @property
    def tests_from(self) -> date:
        return self.course.tests_from


@dataclass(slots=True)
class Findings:
    """What the checks found: every unmet requirement and the records relied on."""

    reasons: list[Reason] = field(default_factory=list)
    used: list[tuple[RecordKind, int]] = field(default_factory=list)

    def unmet(self, code: ReasonCode, message: str, met_from: date | None = None,
              closed_on: date | None = None) -> None:
        self.reasons.append(Reason(code, message, met_from=met_from, closed_on=closed_on))


def none_between(start: date, on: date, what: str = "none is recorded") -> str:
    """"none is recorded from X through T", or, on the day of a dispense, when only records of
    later days can count for the next fill, say so."""
    if start > on:
        return f"only records dated from {start}, the day after the last dispense, count"
    return f"{what} from {start} through {on}"


def _settings_text(settings: frozenset[TestSetting]) -> str:
    return " or ".join(_SETTING_LABELS[s] for s in TestSetting if s in settings)


# --- RULES.md §6: patients who can get pregnant -------------------------------------------------


def _counseling_in_cycle(check: FillCheck, found: Findings) -> None:
    """§6.1 counseling confirmed by the prescriber in the cycle."""
    cycle_from, on = check.cycle_from, check.on
    visit = newest(check.patient.counseling, lambda c: c.counseled_on,
                   lambda c: cycle_from <= c.counseled_on <= on)
    if visit is None:
        found.unmet(ReasonCode.COUNSELING_MISSING,
                    f"Counseling by the prescriber is needed: {none_between(cycle_from, on)}.",
                    met_from=max(on, cycle_from))
    else:
        found.used.append((RecordKind.COUNSELING, visit.id))


def _contraception_in_cycle(check: FillCheck, found: Findings) -> ContraceptionEntry | None:
    """§6.2 contraception entered in the cycle (by the date it was recorded). The latest entry
    is the prescriber's current statement; an entry that breaks §6.2 never counts."""
    cycle_from, on = check.cycle_from, check.on
    entry = newest(
        check.patient.contraception, lambda e: e.recorded_on,
        lambda e: cycle_from <= e.recorded_on <= on
        and acceptable_contraception(e.methods, e.abstinence),
    )
    if entry is None:
        found.unmet(ReasonCode.CONTRACEPTION_MISSING,
                    f"The prescriber must enter the patient's contraception (two methods, one of "
                    f"them primary, or abstinence): {none_between(cycle_from, on)}.",
                    met_from=max(on, cycle_from))
    else:
        found.used.append((RecordKind.CONTRACEPTION, entry.id))
    return entry


def _comprehension_in_cycle(check: FillCheck, entry: ContraceptionEntry | None,
                            found: Findings) -> None:
    """§6.3 a passing attempt in the cycle, confirming the prescriber's latest entry. Failed
    attempts change nothing."""
    cycle_from, on = check.cycle_from, check.on
    attempt: ComprehensionAttempt | None = newest(
        check.patient.comprehension, lambda a: a.completed_on,
        lambda a: a.passed and cycle_from <= a.completed_on <= on,
    )
    if attempt is None:
        found.unmet(ReasonCode.COMPREHENSION_MISSING,
                    f"The patient must pass the comprehension questions: "
                    f"{none_between(cycle_from, on, 'no passing attempt is recorded')}.",
                    met_from=max(on, cycle_from))
        return
    found.used.append((RecordKind.COMPREHENSION, attempt.id))
    if entry is not None and not same_contraception(
        attempt.methods, attempt.abstinence, entry.methods, entry.abstinence
    ):
        found.unmet(ReasonCode.CONTRACEPTION_MISMATCH,
                    f"The contraception the patient confirmed on {attempt.completed_on} differs "
                    f"from the prescriber's entry of {entry.recorded_on}; correct the entry or "
                    f"have the patient answer again.",
                    met_from=max(on, cycle_from))


def _counting_negatives(check: FillCheck) -> tuple[list[PregnancyTest], PregnancyTest | None]:
    """§6.4 the negative tests that count, and the newest positive test, collected after the
    last dispense (no T - 30 bound: one test qualifies at most one fill). Negative tests
    collected on or before the day of the newest positive test count for nothing, neither as
    confirmation nor as screening (a negative test of the same day does not lift it)."""
    tests_from, on = check.tests_from, check.on
    until = on if check.negatives_until is None else check.negatives_until
    positive: PregnancyTest | None = None
    negatives: list[PregnancyTest] = []
    for test in check.patient.pregnancy_tests:
        day = test.collected_on
        if tests_from <= day <= on:
            if test.result != TestResult.NEGATIVE:
                if positive is None or day > positive.collected_on:
                    positive = test
            elif day <= until:
                negatives.append(test)
    if positive is not None:
        blocked_through = positive.collected_on
        negatives = [test for test in negatives if test.collected_on > blocked_through]
    return negatives, positive


def _accepted_settings(check: FillCheck) -> frozenset[TestSetting]:
    """§6.5 where the test that covers the fill may have been done."""
    policy = check.policy
    if check.course.first_fill:
        return policy.first_fill_confirmation_settings
    if check.home_ok:
        return policy.later_fill_settings | _HOME_ONLY
    return policy.later_fill_settings


def _pregnancy_test(check: FillCheck, negatives: list[PregnancyTest],
                    positive: PregnancyTest | None, found: Findings) -> PregnancyTest | None:
    """§6.4 a negative test with T in its window D..D+6, done where §6.5 accepts it; the newest
    such test is used (it gives the latest window). Returns that confirmation test."""
    on, window_days = check.on, check.policy.test_window_days
    accepted = _accepted_settings(check)
    covers_from = on - _days(window_days - 1)  # D <= T <= D + 6
    covering = [test for test in negatives if test.collected_on >= covers_from]
    confirmation = newest(covering, lambda t: t.collected_on, lambda t: t.setting in accepted)
    if confirmation is not None:
        found.used.append((RecordKind.PREGNANCY_TEST, confirmation.id))
        return confirmation
    refused = newest(covering, lambda t: t.collected_on)
    latest = newest(negatives, lambda t: t.collected_on)
    tests_from = check.tests_from
    if positive is not None and latest is None:
        found.unmet(ReasonCode.PREGNANCY_TEST_POSITIVE,
                    f"The newest pregnancy test, collected on {positive.collected_on}, is "
                    f"positive; no fill is possible until a later negative test is recorded.")
    elif refused is not None:
        found.unmet(ReasonCode.TEST_SETTING_NOT_ACCEPTED,
                    f"The negative test collected on {refused.collected_on} was done at "
                    f"{_SETTING_LABELS[refused.setting]}; this fill needs a test done at "
                    f"{_settings_text(accepted)}.",
                    met_from=max(on, tests_from))
    elif latest is not None:
        closed = latest.collected_on + _days(window_days - 1)
        found.unmet(ReasonCode.WINDOW_EXPIRED,
                    f"The {window_days}-day window of the negative test collected on "
                    f"{latest.collected_on} closed on {closed}; a new negative test is needed.",
                    met_from=max(on, tests_from), closed_on=closed)
    else:
        found.unmet(ReasonCode.PREGNANCY_TEST_MISSING,
                    f"A negative pregnancy test is needed: {none_between(tests_from, on)}."
                    if tests_from > date.min
                    else "A negative pregnancy test is needed: none is recorded.",
                    met_from=max(on, tests_from))
    return None


def _screening_test(check: FillCheck, negatives: list[PregnancyTest], confirmed_on: date,
                    confirmed: bool, found: Findings) -> None:
    """§6.6 first fill: a negative screening test S with C >= S + 19."""
    on, policy = check.on, check.policy
    gap = policy.screening_gap_days
    screen_until = confirmed_on - _days(gap)
    settings = policy.first_fill_screening_settings
    candidates = [test for test in negatives if test.setting in settings]
    screening = newest(candidates, lambda t: t.collected_on,
                       lambda t: t.collected_on <= screen_until)
    if screening is not None:
        found.used.append((RecordKind.PREGNANCY_TEST, screening.id))
        return
    later = [test.collected_on for test in candidates if test.collected_on > screen_until]
    subject = (f"the confirmation test collected on {confirmed_on}" if confirmed
               else "the confirmation test")
    if not later:
        # (design default) No negative test can serve as screening yet: one today, then the
        # confirmation test gap days later.
        met_from = on + _days(gap)
        message = (
            f"A negative screening test done at {_settings_text(settings)} is needed at least "
            f"{gap} days before {subject}; with a screening test today the confirmation test "
            f"can be collected from {met_from}."
        )
    else:
        # The earliest negative test that can serve as screening (it may be today's test) gives
        # the earliest confirmation date, never before today.
        earliest_screen = min(later)
        met_from = max(on, earliest_screen + _days(gap))
        message = (
            f"A screening test is needed at least {gap} days before {subject}; the earliest "
            f"negative test that can serve as one was collected on {earliest_screen}, so the "
            f"confirmation test can be collected from {met_from}."
        )
    found.unmet(ReasonCode.SCREENING_TEST_MISSING, message, met_from=met_from)


def _contraception_lead_time(check: FillCheck, entry: ContraceptionEntry | None,
                             confirmed_on: date, found: Findings) -> None:
    """§6.7 first fill: the contraception (the latest entry's start) on or before C - 30."""
    if entry is None:
        return
    lead = check.policy.contraception_lead_days
    ready_on = entry.started_on + _days(lead)
    if ready_on > confirmed_on:
        met_from = max(check.on, ready_on)
        what = "abstinence" if entry.abstinence else "contraception"
        found.unmet(ReasonCode.CONTRACEPTION_LEAD_TIME,
                    f"The {what} started on {entry.started_on}; the confirmation test must be "
                    f"collected at least {lead} days later, from {met_from}.",
                    met_from=met_from)


def _lockout_period(check: FillCheck, confirmed_on: date, found: Findings) -> None:
    """§6.8 first fill: a missed first window locks out until C0 + 19."""
    lockout = check.course.lockout
    if lockout is None or confirmed_on >= lockout.ends_on:
        return
    closed = lockout.missed_test_on + _days(check.policy.test_window_days - 1)
    found.unmet(ReasonCode.LOCKOUT_PERIOD,
                f"The window of the negative test collected on {lockout.missed_test_on} closed on "
                f"{closed} without a dispense; a new confirmation test must be collected on or "
                f"after {lockout.ends_on}.",
                met_from=lockout.ends_on)


def check_can_get_pregnant(check: FillCheck, found: Findings) -> Window | None:
    """RULES.md §6 items 1-8 on `check.on`; returns the window of the confirmation test."""
    _counseling_in_cycle(check, found)
    entry = _contraception_in_cycle(check, found)
    _comprehension_in_cycle(check, entry, found)
    negatives, positive = _counting_negatives(check)
    confirmation = _pregnancy_test(check, negatives, positive, found)
    window: Window | None = None
    if confirmation is not None:
        confirmed_on = confirmation.collected_on
        window = Window(confirmed_on, confirmed_on + _days(check.policy.test_window_days - 1))
    else:
        # Without a confirmation test, the first-fill checks are made against a test collected
        # today, so every date the prescriber needs is known at once.
        confirmed_on = check.on
    if check.course.first_fill:
        _screening_test(check, negatives, confirmed_on, confirmation is not None, found)
        _contraception_lead_time(check, entry, confirmed_on, found)
        _lockout_period(check, confirmed_on, found)
    return window


# --- RULES.md §7: patients who cannot get pregnant ----------------------------------------------


def check_cannot_get_pregnant(check: FillCheck, found: Findings) -> Window | None:
    """RULES.md §7 on `check.on`; returns the visit window V..V+29 where one applies."""
    policy, on, cycle_from = check.policy, check.on, check.cycle_from
    since: date | None
    if policy.cngp_counseling_every_cycle:
        since = cycle_from  # 2021/2023: counseling in the cycle
        needed = none_between(cycle_from, on)
    else:
        # 2026: "at least once since enrollment". (design default) On or after the date of the
        # acknowledgment that enrolled this course; a patient not enrolled has none yet.
        enrolling = check.course.enrolling
        since = enrolling.signed_on if enrolling is not None else None
        needed = (
            f"none is recorded since the enrollment of {since}"
            if since is not None
            else "the patient must be enrolled and then counseled"
        )
    visit: Counseling | None = None
    if since is not None:
        start = since
        visit = newest(check.patient.counseling, lambda c: c.counseled_on,
                       lambda c: start <= c.counseled_on <= on)
    if visit is None:
        found.unmet(ReasonCode.COUNSELING_MISSING,
                    f"Counseling by the prescriber is needed: {needed}.",
                    met_from=max(on, cycle_from))
        return None
    found.used.append((RecordKind.COUNSELING, visit.id))
    if not policy.cngp_window:
        return None
    visited = visit.counseled_on
    closes = visited + _days(policy.cngp_window_days - 1)
    if on > closes:
        found.unmet(ReasonCode.WINDOW_EXPIRED,
                    f"The {policy.cngp_window_days}-day window of the counseling visit on "
                    f"{visited} closed on {closes}; a new counseling visit is needed.",
                    met_from=on, closed_on=closes)
        return None
    return Window(visited, closes)
