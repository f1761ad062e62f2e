"""tracker.domain.next_steps: what a dermatologist does next for a patient, and the checklist of
a decision, read from the rules engine (RULES.md §4-§10)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.domain.builders import (
    CGP,
    CNGP,
    HOME,
    LAB,
    OFFICE,
    POS,
    History,
    cngp_patient,
    d,
    days,
    enrolled,
    qualified_first_fill,
)
from tracker.domain.decision import Decision
from tracker.domain.facts import PregnancyTest, PrescriberFacts, PrescriptionStatus
from tracker.domain.next_steps import (
    Evidence,
    Outlook,
    PrescriptionSummary,
    Situation,
    Step,
    StepKind,
    Urgency,
    checklist,
    fill_windows,
    outlook,
    screening_only_tests,
    urgency,
)
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2026, rule_sets
from tracker.domain.reasons import Reason, ReasonCode

ON = d("2026-12-15")
PENDING = PrescriptionStatus.PENDING
DISPENSED = PrescriptionStatus.DISPENSED


def rx(rx_id: int = 7, status: PrescriptionStatus = PENDING, written: date = ON,
       supply: int = 30, number: str = "RX-7") -> PrescriptionSummary:
    return PrescriptionSummary(rx_id, number, status, written, supply, 30)


def look(history: History, *prescriptions: PrescriptionSummary, on: date = ON,
         policy=IPLEDGE_2026, positives: tuple[PregnancyTest, ...] = (),  # type: ignore[no-untyped-def]
         active: bool = True, home: bool = False) -> Outlook:
    situation = Situation(history.facts(), PrescriberFacts(active, home), prescriptions,
                          positives)
    return outlook(situation, on, policy)


def kinds(result: Outlook) -> list[str]:
    return [step.kind.value for step in result.steps]


def only(result: Outlook, kind: StepKind) -> Step:
    found = [step for step in result.steps if step.kind == kind]
    assert len(found) == 1, result.steps
    return found[0]


def later_fill(dispensed_on: date, prescription_id: int = 5) -> History:
    """Enrolled long ago, one dispense of prescription `prescription_id` on `dispensed_on`."""
    return enrolled(CGP, dispensed_on - days(90)).dispense(dispensed_on, prescription_id)


# --- reading the facts ---------------------------------------------------------------------------


# --- next steps ----------------------------------------------------------------------------------


def test_new_patient_signs_records_and_waits_for_the_confirmation_test() -> None:
    result = look(History(registered_on=ON))
    assert kinds(result) == ["sign_acknowledgment", "records_needed", "confirmation_test"]
    assert only(result, StepKind.SIGN_ACKNOWLEDGMENT).message == (
        "Have the patient sign the acknowledgment for the category 'can get pregnant'.")
    assert only(result, StepKind.RECORDS_NEEDED).message == (
        "Record for the next fill: counseling, the contraception entry, the patient's "
        "comprehension answers and a negative screening pregnancy test.")
    confirmation = only(result, StepKind.CONFIRMATION_TEST)
    # RULES.md §6.6: a screening test today, the confirmation test 19 days later; §6.7: and 30
    # days after the contraception started, which is not entered yet.
    assert confirmation.due_on == ON + days(30)
    assert confirmation.message == (
        "The confirmation pregnancy test can be collected from 2027-01-14 (19 days after a "
        "negative screening test; 30 days after the contraception started; none is entered "
        "yet, so counted from a start today).")
    assert [r.code for r in confirmation.reasons] == [
        ReasonCode.CONTRACEPTION_MISSING, ReasonCode.SCREENING_TEST_MISSING]
    assert result.first_fill and result.prescription is None


def test_thirty_day_wait_gives_the_confirmation_date() -> None:
    history = enrolled(CGP, ON - days(30)).test(ON - days(25), setting=OFFICE)
    history.counsel(ON).contraceive(ON, started_on=ON - days(5)).comprehend(ON)
    result = look(history)
    assert kinds(result) == ["confirmation_test"]
    step = only(result, StepKind.CONFIRMATION_TEST)
    assert step.due_on == ON + days(25)  # RULES.md §6.7: started + 30
    assert "30 days after the contraception started" in step.message
    assert [r.code for r in step.reasons] == [ReasonCode.CONTRACEPTION_LEAD_TIME]


@pytest.mark.parametrize(
    ("screened", "started", "due", "codes"),
    [
        (None, ON - days(5), ON + days(25),
         ["CONTRACEPTION_LEAD_TIME", "SCREENING_TEST_MISSING"]),
        (None, ON - days(20), ON + days(19),
         ["CONTRACEPTION_LEAD_TIME", "SCREENING_TEST_MISSING"]),
        (ON - days(10), ON - days(25), ON + days(9),
         ["CONTRACEPTION_LEAD_TIME", "SCREENING_TEST_MISSING"]),
        (ON - days(10), ON - days(2), ON + days(28),
         ["CONTRACEPTION_LEAD_TIME", "SCREENING_TEST_MISSING"]),
        (ON - days(25), None, ON + days(30), ["CONTRACEPTION_MISSING"]),
        (ON - days(10), None, ON + days(30), ["CONTRACEPTION_MISSING", "SCREENING_TEST_MISSING"]),
        (None, None, ON + days(30), ["CONTRACEPTION_MISSING", "SCREENING_TEST_MISSING"]),
    ],
    ids=["wait-after-gap", "gap-after-wait", "screened-gap-last", "screened-wait-last",
         "screened-no-contraception", "recent-screen-no-contraception", "nothing-yet"],
)
def test_confirmation_date_is_the_latest_of_every_constraint(
    screened: date | None, started: date | None, due: date, codes: list[str]
) -> None:
    # RULES.md §6.6 (screening + 19 days) and §6.7 (contraception start + 30 days) together.
    history = enrolled(CGP, ON - days(60)).counsel(ON).comprehend(ON)
    if screened is not None:
        history.test(screened, setting=OFFICE)
    if started is not None:
        history.contraceive(ON, started_on=started)
    result = look(history)
    step = only(result, StepKind.CONFIRMATION_TEST)
    assert step.due_on == due
    assert sorted(r.code for r in step.reasons) == codes
    needed = [s.message for s in result.steps if s.kind == StepKind.RECORDS_NEEDED]
    assert not any("a negative pregnancy test" in m for m in needed), needed


def test_confirmation_test_can_be_taken_now_when_the_wait_ends_today() -> None:
    history = enrolled(CGP, ON - days(60)).test(ON - days(25), setting=OFFICE)
    history.counsel(ON).contraceive(ON, started_on=ON - days(30)).comprehend(ON)
    history.test(ON - days(3))
    step = only(look(history), StepKind.CONFIRMATION_TEST)
    assert step.due_on == ON
    assert step.message == "A new confirmation pregnancy test can be collected now."


def test_lockout_end_gives_the_confirmation_date_under_the_2021_rules() -> None:
    first_test = d("2026-02-04")
    history = qualified_first_fill(first_test)
    result = look(history, on=first_test + days(11), policy=IPLEDGE_2021)
    step = only(result, StepKind.CONFIRMATION_TEST)
    # RULES.md §12 example 5: the lockout ends 19 days after the missed confirmation test.
    assert step.due_on == d("2026-02-23")
    assert "the end of the lockout after a missed first window" in step.message
    assert kinds(result) == ["confirmation_test"]  # the expired window is the same test


def test_first_fill_test_done_in_the_wrong_place_waits_for_the_confirmation_date() -> None:
    history = enrolled(CGP, ON - days(60)).test(ON - days(25), setting=OFFICE)
    history.counsel(ON).contraceive(ON, started_on=ON - days(10)).comprehend(ON)
    history.test(ON - days(1), setting=HOME)
    result = look(history)
    assert kinds(result) == ["confirmation_test"]
    assert only(result, StepKind.CONFIRMATION_TEST).due_on == ON + days(20)


def test_ready_prescription_is_marked_dispensable_today() -> None:
    result = look(qualified_first_fill(ON), rx(7, written=ON - days(1)),
                  rx(6, status=DISPENSED, written=ON - days(40)), rx(4, written=ON - days(3)))
    assert kinds(result) == ["mark_dispensable"]
    step = only(result, StepKind.MARK_DISPENSABLE)
    assert (step.due_on, step.prescription_id) == (ON, 7)
    assert step.message == "Prescription RX-7 can be marked dispensable now."
    assert result.prescription is not None and result.prescription.id == 7
    assert result.decision.dispensable


def test_ready_prescription_drafted_by_staff_is_ready_for_the_prescriber_to_sign() -> None:
    drafted = PrescriptionSummary(7, "RX-7", PENDING, ON - days(1), 30, 30,
                                  drafted_by_staff=True)
    result = look(qualified_first_fill(ON), drafted)
    assert kinds(result) == ["ready_to_sign"]
    step = only(result, StepKind.READY_TO_SIGN)
    assert (step.due_on, step.prescription_id) == (ON, 7)
    assert step.message == ("Prescription RX-7, drafted by your staff, is ready for you to "
                            "sign: mark it dispensable.")


def test_drafted_prescription_with_requirements_unmet_is_not_ready_to_sign() -> None:
    drafted = PrescriptionSummary(7, "RX-7", PENDING, ON, 30, 30, drafted_by_staff=True)
    result = look(enrolled(CGP, ON - days(60)), drafted)
    assert "ready_to_sign" not in kinds(result)
    assert not result.decision.dispensable


@pytest.mark.parametrize(
    ("prescriptions", "message"),
    [
        ((rx(),), "The window closes on 2026-12-16: mark prescription RX-7 dispensable by then."),
        ((), "The window closes on 2026-12-16: write and mark a prescription by then."),
    ],
    ids=["with-a-prescription", "without-one"],
)
def test_window_closing_tomorrow_is_flagged(prescriptions: tuple[PrescriptionSummary, ...],
                                            message: str) -> None:
    result = look(qualified_first_fill(ON - days(5)), *prescriptions)
    closing = only(result, StepKind.WINDOW_CLOSING)
    assert (closing.message, closing.due_on) == (message, ON + days(1))


def test_requirements_met_without_a_prescription_asks_for_one() -> None:
    result = look(qualified_first_fill(ON))
    assert kinds(result) == ["write_prescription"]
    assert only(result, StepKind.WRITE_PRESCRIPTION).due_on == ON


@pytest.mark.parametrize(
    ("closes", "kind", "due", "message"),
    [
        (ON, "window_closing", ON, "Authorization A-1 must be dispensed by 2026-12-15."),
        (ON + days(1), "window_closing", ON + days(1),
         "Authorization A-1 must be dispensed by 2026-12-16."),
        (ON + days(3), "awaiting_dispense", ON + days(3),
         "Authorization A-1 can be dispensed by a pharmacy through 2026-12-18."),
        (None, "awaiting_dispense", None, "Authorization A-1 can be dispensed by a pharmacy."),
        (ON - days(1), "reverse_authorization", ON,
         "Authorization A-1 expired on 2026-12-14 without a dispense; reverse it to mark its "
         "prescription dispensable again, or write a new prescription."),
    ],
    ids=["closes-today", "closes-tomorrow", "open-for-days", "no-end-date", "expired"],
)
def test_open_authorization_waits_at_the_pharmacy(closes: date | None, kind: str,
                                                  due: date | None, message: str) -> None:
    history = qualified_first_fill(ON - days(1)).authorize(ON - days(1), closes, 9)
    result = look(history, rx(9, status=PrescriptionStatus.DISPENSABLE))
    step = result.steps[0]
    assert (step.kind.value, step.due_on, step.message, step.prescription_id) == (
        kind, due, message, 9)


def test_open_authorization_keeps_the_next_fill_off_the_list() -> None:
    history = qualified_first_fill(ON - days(1)).authorize(ON - days(1), ON + days(5), 9)
    assert kinds(look(history, rx(10))) == ["awaiting_dispense"]


def test_authorization_issued_later_is_not_seen_yet() -> None:
    history = qualified_first_fill(ON).authorize(ON + days(1), ON + days(7), 9)
    assert kinds(look(history)) == ["write_prescription"]


def _authorized_two_days_ago() -> History:
    return qualified_first_fill(ON - days(2)).authorize(ON - days(2), ON + days(4), 9)


@pytest.mark.parametrize(
    ("after_issue", "code"),
    [
        (lambda h: h.end_course(ON - days(1)), ReasonCode.COURSE_ENDED),
        (lambda h: h.test(ON - days(1), POS), ReasonCode.PREGNANCY_TEST_POSITIVE),
        (lambda h: h.change_category(ON - days(1), CNGP), ReasonCode.PATIENT_NOT_ENROLLED),
    ],
    ids=["course-ended", "positive-test", "category-changed"],
)
def test_authorization_the_counter_would_refuse_is_blocked(after_issue, code) -> None:  # type: ignore[no-untyped-def]
    # RULES.md §8 "Dispensing": what is dated after the issue day blocks the dispense.
    history = _authorized_two_days_ago()
    after_issue(history)
    result = look(history, rx(9, status=PrescriptionStatus.DISPENSABLE))
    step = only(result, StepKind.REVERSE_AUTHORIZATION)
    assert (step.due_on, step.prescription_id) == (ON, 9)
    assert step.message == (
        "Authorization A-1 is blocked: a pharmacy would refuse to dispense it; reverse it.")
    assert code in [r.code for r in step.reasons]
    assert StepKind.AWAITING_DISPENSE not in [s.kind for s in result.steps]


def test_authorization_of_an_inactive_prescriber_is_blocked() -> None:
    result = look(_authorized_two_days_ago(), active=False)
    step = only(result, StepKind.REVERSE_AUTHORIZATION)
    assert [r.code for r in step.reasons] == [ReasonCode.PRESCRIBER_INACTIVE]


def test_blocked_authorization_shows_clinical_reasons_unfolded() -> None:
    history = _authorized_two_days_ago()
    history.test(ON - days(1), POS)
    step = only(look(history), StepKind.REVERSE_AUTHORIZATION)
    assert ReasonCode.PRESCRIBER_ACTION_REQUIRED not in [r.code for r in step.reasons]


def test_authorization_is_rechecked_under_the_rule_set_of_its_issue_day() -> None:
    history = _authorized_two_days_ago()
    result = outlook(Situation(history.facts(), PrescriberFacts(True, False)), ON,
                     IPLEDGE_2026, rule_sets())
    assert kinds(result) == ["awaiting_dispense"]


def test_expired_authorization_carries_the_counters_reason() -> None:
    history = qualified_first_fill(ON - days(9)).authorize(ON - days(9), ON - days(3), 9)
    step = only(look(history), StepKind.REVERSE_AUTHORIZATION)
    assert ReasonCode.AUTHORIZATION_EXPIRED in [r.code for r in step.reasons]


@pytest.mark.parametrize(
    ("tests", "expected_due"),
    [
        ((), d("2026-12-20")),
        ((d("2026-12-05"),), d("2026-12-20")),
    ],
    ids=["no-test-yet", "a-test-before-the-due-date-does-not-count"],
)
def test_post_treatment_test_is_due_thirty_days_after_the_last_dose(
    tests: tuple[date, ...], expected_due: date
) -> None:
    history = enrolled(CGP, d("2026-06-01")).end_course(d("2026-11-20"))
    for day in tests:
        history.test(day)
    result = look(history)
    assert kinds(result) == ["post_treatment_test"]
    step = only(result, StepKind.POST_TREATMENT_TEST)
    assert step.due_on == expected_due
    assert step.message == (
        "Post-treatment pregnancy test due on 2026-12-20, 30 days after the last dose of "
        "2026-11-20; contraception continues until then.")


@pytest.mark.parametrize(
    "history",
    [
        enrolled(CGP, d("2026-06-01")).end_course(d("2026-11-01")).test(d("2026-12-01")),
        enrolled(CNGP, d("2026-06-01")).end_course(d("2026-11-01")),
    ],
    ids=["test-done", "cannot-get-pregnant"],
)
def test_ended_course_needs_nothing_more(history: History) -> None:
    assert look(history).steps == ()


def test_positive_test_not_reported_comes_first() -> None:
    positive = PregnancyTest(42, ON - days(2), POS, LAB)
    history = qualified_first_fill(ON)
    result = look(history, rx(), positives=(positive,))
    first = result.steps[0]
    assert (first.kind, first.due_on, first.record_id) == (
        StepKind.REPORT_POSITIVE_TEST, ON - days(2), 42)
    assert first.message == (
        "Report the positive pregnancy test collected on 2026-12-13 to the pregnancy registry.")


@pytest.mark.parametrize(
    ("dispensed", "supply", "kind", "due", "message"),
    [
        (ON - days(3), 30, "next_fill", ON + days(21),
         "Next fill due on 2027-01-11: from 2027-01-05, record counseling, the contraception "
         "entry, the patient's comprehension answers and a negative pregnancy test."),
        (ON - days(20), 10, "records_needed", ON,
         "Record for the next fill: counseling, the contraception entry, the patient's "
         "comprehension answers and a negative pregnancy test."),
        (ON, 3, "next_fill", ON + days(1),
         "Next fill due on 2026-12-18: from 2026-12-16, record counseling, the contraception "
         "entry, the patient's comprehension answers and a negative pregnancy test."),
    ],
    ids=["supply-runs-for-weeks", "supply-runs-out-soon", "visit-not-before-the-day-after"],
)
def test_after_a_dispense_the_monthly_visit_is_due_before_the_supply_runs_out(
    dispensed: date, supply: int, kind: str, due: date, message: str
) -> None:
    history = later_fill(dispensed)
    result = look(history, rx(5, status=DISPENSED, supply=supply))
    assert kinds(result) == [kind]
    assert (result.steps[0].due_on, result.steps[0].message) == (due, message)


def test_dispense_of_an_unknown_prescription_counts_a_cycle_of_supply() -> None:
    result = look(later_fill(ON - days(3), prescription_id=99), rx(5, DISPENSED, supply=10))
    assert only(result, StepKind.NEXT_FILL).due_on == ON + days(21)


@pytest.mark.parametrize(
    ("dispensed", "kind", "due"),
    [(ON - days(3), "next_fill", ON + days(21)), (ON - days(28), "write_prescription", ON)],
    ids=["soon-after-a-dispense", "when-the-supply-runs-out"],
)
def test_patient_who_cannot_get_pregnant_needs_only_the_next_prescription_in_2026(
    dispensed: date, kind: str, due: date
) -> None:
    history = cngp_patient(ON - days(60)).counsel(ON - days(59)).dispense(dispensed, 5)
    result = look(history, rx(5, status=DISPENSED))
    assert kinds(result) == [kind]
    assert result.steps[0].due_on == due


@pytest.mark.parametrize(
    ("history", "home", "needed"),
    [
        (later_fill(ON - days(40)).month(ON - days(10)), False, "a new negative pregnancy test"),
        (later_fill(ON - days(40)).month(ON, setting=HOME), False,
         "a negative pregnancy test done where it is accepted"),
        (later_fill(ON - days(40)).counsel(ON).contraceive(ON).test(ON)
         .comprehend(ON, methods=("patch", "male_condom")), False,
         "comprehension answers confirming the contraception entered"),
        (later_fill(ON - days(40)).counsel(ON).contraceive(ON).comprehend(ON)
         .test(ON - days(2), POS), False, "a negative pregnancy test after the positive one"),
        (cngp_patient(ON - days(90)).counsel(ON - days(30)), False, "a new counseling visit"),
    ],
    ids=["window-expired", "home-test-not-permitted", "contraception-mismatch",
         "positive-test", "visit-window-expired"],
)
def test_each_unmet_requirement_names_the_record_to_enter(history: History, home: bool,
                                                          needed: str) -> None:
    policy = IPLEDGE_2021 if history.category == CNGP else IPLEDGE_2026
    result = look(history, policy=policy, home=home)
    assert kinds(result) == ["records_needed"]
    assert only(result, StepKind.RECORDS_NEEDED).message == f"Record for the next fill: {needed}."


def test_inactive_prescriber_is_a_step_nobody_in_the_office_can_date() -> None:
    result = look(qualified_first_fill(ON), rx(), active=False)
    assert kinds(result) == ["blocked"]
    step = result.steps[0]
    assert step.due_on is None and step.prescription_id == 7
    assert [r.code for r in step.reasons] == [ReasonCode.PRESCRIBER_INACTIVE]


def test_steps_are_ordered_by_date_then_by_urgency() -> None:
    positive = PregnancyTest(1, ON, POS, LAB)
    result = look(History(registered_on=ON), positives=(positive,), active=False)
    assert kinds(result) == ["report_positive_test", "sign_acknowledgment", "records_needed",
                             "confirmation_test", "blocked"]


# --- checklist -----------------------------------------------------------------------------------


def _checklist(history: History, on: date = ON, policy=IPLEDGE_2026,  # type: ignore[no-untyped-def]
               prescriptions: tuple[PrescriptionSummary, ...] = ()):
    result = look(history, *prescriptions, on=on, policy=policy)
    return checklist(result.decision, history.facts(), policy)


def test_first_fill_checklist_lists_every_requirement_with_its_records() -> None:
    items = _checklist(qualified_first_fill(ON))
    assert [i.key for i in items] == [
        "enrollment", "prescription", "prescriber", "one_authorization", "counseling",
        "contraception", "comprehension", "pregnancy_test", "screening", "lead_time"]
    assert all(i.met for i in items)
    evidence = {i.key: i.evidence for i in items}
    assert evidence["enrollment"] == (Evidence("Signed", ON - days(60)),)
    assert evidence["counseling"] == (Evidence("Counseled", ON),)
    assert evidence["contraception"] == (Evidence("Entered", ON),)
    assert evidence["lead_time"] == (Evidence("Started", ON - days(45)),)
    assert evidence["comprehension"] == (Evidence("Passed", ON),)
    assert evidence["pregnancy_test"] == (Evidence("Negative laboratory test collected", ON),
                                          Evidence("Window closes", ON + days(6)))
    assert evidence["screening"] == (Evidence("Negative office test collected", ON - days(25)),)
    assert evidence["prescriber"] == ()


def test_lockout_is_a_requirement_only_where_the_rules_have_one() -> None:
    keys = [i.key for i in _checklist(qualified_first_fill(ON), policy=IPLEDGE_2021)]
    assert keys[-1] == "lockout"


def test_later_fill_checklist_has_no_first_fill_requirements() -> None:
    history = later_fill(ON - days(30)).month(ON)
    keys = [i.key for i in _checklist(history)]
    assert "screening" not in keys and "lead_time" not in keys


def test_unmet_requirements_carry_the_engines_reasons() -> None:
    history = enrolled(CGP, ON - days(60)).counsel(ON)
    items = {i.key: i for i in _checklist(history)}
    assert items["counseling"].met
    test = items["pregnancy_test"]
    assert not test.met and test.evidence == ()
    assert [r.code for r in test.reasons] == [ReasonCode.PREGNANCY_TEST_MISSING]
    assert [r.code for r in items["contraception"].reasons] == [
        ReasonCode.CONTRACEPTION_MISSING]


@pytest.mark.parametrize(
    ("policy", "keys", "window"),
    [
        (IPLEDGE_2021, ["counseling", "visit_window"],
         (Evidence("Counseled", ON - days(3)), Evidence("Window closes", ON + days(26)))),
        (IPLEDGE_2026, ["counseling_once"], None),
    ],
    ids=["visit-window-2021", "counseling-once-2026"],
)
def test_cannot_get_pregnant_checklist_follows_the_rule_set(policy, keys, window) -> None:  # type: ignore[no-untyped-def]
    history = cngp_patient(ON - days(60)).counsel(ON - days(3))
    items = _checklist(history, policy=policy)
    assert [i.key for i in items][4:] == keys
    assert all(i.met for i in items)
    if window is not None:
        assert items[-1].evidence == window


def test_screening_test_is_shown_even_without_a_confirmation_test() -> None:
    history = enrolled(CGP, ON - days(60)).test(ON - days(25), setting=OFFICE)
    items = {i.key: i for i in _checklist(history)}
    assert items["screening"].met
    assert items["screening"].evidence == (
        Evidence("Negative office test collected", ON - days(25)),)
    assert not items["pregnancy_test"].met


def _status(items, key: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    item = {i.key: i for i in items}[key]
    return item.status.value, item.note


@pytest.mark.parametrize(
    ("history", "key", "status", "note"),
    [
        (History(registered_on=ON), "prescription", "not_yet",
         "No prescription is written yet."),
        (enrolled(CGP, ON - days(60)).counsel(ON), "lead_time", "not_yet",
         "Checked once the contraception is entered."),
        (enrolled(CGP, ON - days(60)), "counseling", "not_met", ""),
        (enrolled(CGP, ON - days(60)).contraceive(ON, started_on=ON - days(40)), "lead_time",
         "met", ""),
        (qualified_first_fill(ON), "lead_time", "met", ""),
        (qualified_first_fill(ON), "prescriber", "met", "Active."),
        (qualified_first_fill(ON), "one_authorization", "met", "None open."),
    ],
    ids=["no-prescription", "lead-time-without-contraception", "unmet-counseling",
         "lead-time-started-long-ago", "lead-time-met", "prescriber-active", "no-other-open"],
)
def test_checklist_says_met_only_where_something_shows_it(history: History, key: str,
                                                          status: str, note: str) -> None:
    got = _status(_checklist(history), key)
    assert got[0] == status
    assert note in got[1]


def test_pending_prescription_line_is_met() -> None:
    result = look(qualified_first_fill(ON), rx())
    items = checklist(result.decision, qualified_first_fill(ON).facts(), IPLEDGE_2026, 7)
    assert _status(items, "prescription") == ("met", "Pending.")


@pytest.mark.parametrize(
    ("history", "status"),
    [
        (enrolled(CGP, ON - days(60)).counsel(ON), "not_yet"),
        (qualified_first_fill(ON), "met"),
    ],
    ids=["before-any-test", "after-a-test"],
)
def test_lockout_is_decided_only_once_a_first_fill_test_is_recorded(history: History,
                                                                    status: str) -> None:
    assert _status(_checklist(history, policy=IPLEDGE_2021), "lockout")[0] == status


def test_reason_no_requirement_names_is_listed_under_other() -> None:
    stray = Reason(ReasonCode.NOT_DISPENSABLE, "No open authorization.")
    decision = Decision(False, "ipledge-2026", ON, (stray,), None, None, ())
    items = checklist(decision, qualified_first_fill(ON).facts(), IPLEDGE_2026)
    assert items[-1].key == "other" and items[-1].reasons == (stray,)
    assert not items[-1].met


# --- windows -------------------------------------------------------------------------------------


def test_fill_windows_follow_the_category_and_the_rule_set_of_each_date() -> None:
    history = History(category=CGP, registered_on=d("2025-01-01"))
    history.test(d("2025-06-01")).test(d("2025-06-10"), POS)
    history.change_category(d("2026-01-01"), CNGP)
    history.test(d("2026-01-05"))  # no window: the patient could not get pregnant then
    history.counsel(d("2026-03-02"))  # RULES.md §12 example 6 (2023 rules): 03-02 .. 03-31
    history.counsel(d("2026-12-01"))  # 2026 rules: no visit window
    windows = fill_windows(history.facts(), rule_sets())
    assert [(w.kind, w.window.opens_on, w.window.closes_on) for w in windows] == [
        ("test", d("2025-06-01"), d("2025-06-07")),
        ("visit", d("2026-03-02"), d("2026-03-31")),
    ]


def test_only_a_first_fills_screening_test_opens_no_window() -> None:
    history = enrolled(CGP, d("2026-01-01"))
    history.test(d("2026-02-01"))  # screening: nothing 19 days before it
    history.test(d("2026-02-15"))  # too soon after the screening test to confirm: screening too
    history.test(d("2026-02-20"))  # confirmation: 19 days after the first one
    history.test(d("2026-03-01"), POS)
    history.test(d("2026-03-10"))  # the tests before the positive one screen nothing
    history.test(d("2026-03-29"))  # confirmation of the 03-10 screening test
    history.dispense(d("2026-04-01"))
    history.test(d("2026-04-28"))  # a later fill needs no screening test
    ids = {t.collected_on: t.id for t in history.facts().pregnancy_tests}
    screening = screening_only_tests(history.facts(), rule_sets())
    assert screening == {ids[d("2026-02-01")], ids[d("2026-02-15")], ids[d("2026-03-10")]}


def test_counseling_of_a_patient_who_can_get_pregnant_opens_no_window() -> None:
    history = enrolled(CGP, d("2025-01-01")).counsel(d("2025-03-01"))
    assert fill_windows(history.facts(), rule_sets()) == ()


def test_outlook_is_about_the_newest_pending_prescription() -> None:
    older, newer = rx(3, written=ON - days(2), number="RX-3"), rx(8, written=ON, number="RX-8")
    result = look(qualified_first_fill(ON), older, newer)
    assert result.prescription == newer
    assert only(result, StepKind.MARK_DISPENSABLE).prescription_id == 8


# --- triage --------------------------------------------------------------------------------------


def _step(kind: StepKind) -> Step:
    return Step(kind, "", ON)


@pytest.mark.parametrize(
    ("step_kinds", "expected"),
    [
        ((StepKind.AWAITING_DISPENSE, StepKind.REPORT_POSITIVE_TEST), Urgency.REPORT_DUE),
        ((StepKind.MARK_DISPENSABLE, StepKind.REVERSE_AUTHORIZATION), Urgency.BLOCKED),
        ((StepKind.BLOCKED,), Urgency.BLOCKED),
        ((StepKind.WINDOW_CLOSING, StepKind.MARK_DISPENSABLE), Urgency.READY_TO_SIGN),
        ((StepKind.READY_TO_SIGN, StepKind.NEXT_FILL), Urgency.READY_TO_SIGN),
        ((StepKind.RECORDS_NEEDED, StepKind.WINDOW_CLOSING), Urgency.CLOSING),
        ((StepKind.CONFIRMATION_TEST, StepKind.SIGN_ACKNOWLEDGMENT), Urgency.WAITING),
        ((StepKind.NEXT_FILL,), Urgency.WAITING),
        ((), Urgency.NOTHING_DUE),
    ],
    ids=["report-first", "blocked-before-ready", "blocked-nobody-can-date",
         "ready-before-closing", "drafted-by-staff-ready-to-sign", "closing-before-waiting",
         "waiting", "next-fill", "nothing"],
)
def test_urgency_is_the_most_pressing_category_of_the_steps(
    step_kinds: tuple[StepKind, ...], expected: Urgency
) -> None:
    assert urgency(tuple(_step(kind) for kind in step_kinds)) == expected


def test_urgency_order_is_the_worklist_sort() -> None:
    assert [u.value for u in Urgency] == [
        "report_due", "blocked", "ready_to_sign", "closing", "waiting", "nothing_due"]


def test_blocked_authorization_makes_the_patient_blocked() -> None:
    history = _authorized_two_days_ago()
    history.test(ON - days(1), POS)
    assert urgency(look(history).steps) == Urgency.BLOCKED
