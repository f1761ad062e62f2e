"""RULES.md §6.8: a missed first window locks the patient out until C0 + 19 (2021/2023 only)."""

from __future__ import annotations

import pytest

from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.rules import evaluate

from .builders import CGP, CNGP, OFFICE, POS, History, codes, d, days, enrolled, reason

C0 = d("2026-02-04")  # its window runs 02-04 .. 02-10
LOCKOUT_END = d("2026-02-23")  # C0 + 19
LOCKING = [IPLEDGE_2021, IPLEDGE_2023]


def missed_first_window(enrolled_on: str = "2025-12-01") -> History:
    """Every first-fill rule met on C0 with a lab test; nothing dispensed."""
    history = enrolled(on=d(enrolled_on)).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).comprehend(C0)
    return history.test(C0)


@pytest.mark.parametrize("policy", LOCKING, ids=lambda p: p.id)
@pytest.mark.parametrize(
    ("new_test", "locked"),
    [("2026-02-11", True), ("2026-02-22", True), ("2026-02-23", False), ("2026-02-24", False)],
)
def test_new_confirmation_test_counts_from_c0_plus_19(
    policy: Policy, new_test: str, locked: bool
) -> None:
    history = missed_first_window().test(d(new_test))
    decision = evaluate(history.case(), d(new_test), policy)
    assert codes(decision) == (["LOCKOUT_PERIOD"] if locked else [])
    if locked:
        assert reason(decision, "LOCKOUT_PERIOD").met_from == LOCKOUT_END


def test_no_lockout_from_2026_on() -> None:
    history = missed_first_window().test(d("2026-02-11"))
    assert evaluate(history.case(), d("2026-02-11"), IPLEDGE_2026).dispensable


@pytest.mark.parametrize("policy", LOCKING, ids=lambda p: p.id)
def test_lockout_is_reported_before_a_new_test_is_taken(policy: Policy) -> None:
    decision = evaluate(missed_first_window().case(), d("2026-02-15"), policy)
    assert codes(decision) == ["WINDOW_EXPIRED", "LOCKOUT_PERIOD"]
    assert reason(decision, "LOCKOUT_PERIOD").met_from == LOCKOUT_END
    on_the_day = evaluate(missed_first_window().case(), LOCKOUT_END, policy)
    assert codes(on_the_day) == ["WINDOW_EXPIRED"]


def test_window_still_open_is_no_lockout() -> None:
    assert evaluate(missed_first_window().case(), d("2026-02-10"), IPLEDGE_2021).dispensable


def test_test_during_a_lockout_qualifies_nothing_and_starts_no_lockout() -> None:
    history = missed_first_window()
    during = d("2026-02-15")  # everything is met here too, but it is inside the lockout
    history.counsel(during).comprehend(during).contraceive(during, started_on=d("2025-12-20"))
    history.test(during)
    # 02-24 is after C0's lockout but inside the one 02-15 would have started (to 03-06).
    history.test(d("2026-02-24"))
    assert evaluate(history.case(), d("2026-02-24"), IPLEDGE_2021).dispensable


def test_second_missed_window_after_a_lockout_starts_a_new_lockout() -> None:
    history = missed_first_window()
    again = d("2026-02-24")
    history.counsel(again).comprehend(again).contraceive(again, started_on=d("2025-12-20"))
    history.test(again).test(d("2026-03-10"))
    decision = evaluate(history.case(), d("2026-03-10"), IPLEDGE_2021)
    assert codes(decision) == ["LOCKOUT_PERIOD"]
    assert reason(decision, "LOCKOUT_PERIOD").met_from == again + days(19)


def test_window_in_which_a_requirement_was_never_met_starts_no_lockout() -> None:
    history = enrolled(on=d("2025-12-01")).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).test(C0)
    later = d("2026-02-15")  # comprehension only now
    history.comprehend(later).test(later)
    assert evaluate(history.case(), later, IPLEDGE_2021).dispensable


@pytest.mark.parametrize(("day", "locked"), [(4, True), (6, True), (8, False)])
def test_requirement_met_on_a_later_day_of_the_window_qualifies_it(day: int, locked: bool) -> None:
    history = enrolled(on=d("2025-12-01")).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).test(C0)
    history.comprehend(C0 + days(day)).test(d("2026-02-15"))
    decision = evaluate(history.case(), d("2026-02-15"), IPLEDGE_2021)
    assert codes(decision) == (["LOCKOUT_PERIOD"] if locked else [])


def test_positive_test_inside_the_window_voids_it_for_later_days() -> None:
    history = enrolled(on=d("2025-12-01")).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).test(C0)
    history.test(C0 + days(2), POS).comprehend(C0 + days(3))
    new_test = d("2026-02-15")
    history.test(new_test)
    # No lockout; the screening test before the positive one no longer counts either.
    assert codes(evaluate(history.case(), new_test, IPLEDGE_2021)) == ["SCREENING_TEST_MISSING"]


def test_window_of_a_test_that_cannot_confirm_starts_no_lockout() -> None:
    history = enrolled(on=d("2025-12-01")).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).comprehend(C0)
    history.test(C0, setting=OFFICE).test(d("2026-02-11"))
    assert evaluate(history.case(), d("2026-02-11"), IPLEDGE_2021).dispensable


@pytest.mark.parametrize(("enrolled_on", "locked"), [("2026-02-07", True), ("2026-02-11", False)])
def test_days_before_enrollment_qualify_nothing(enrolled_on: str, locked: bool) -> None:
    history = missed_first_window(enrolled_on=enrolled_on).test(d("2026-02-15"))
    decision = evaluate(history.case(), d("2026-02-15"), IPLEDGE_2021)
    assert codes(decision) == (["LOCKOUT_PERIOD"] if locked else [])


def test_days_in_the_other_category_qualify_nothing() -> None:
    history = History(category=CNGP, registered_on=d("2025-12-01")).ack(d("2025-12-01"))
    history.test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).comprehend(C0).test(C0)
    history.change_category(d("2026-02-11"), CGP).ack(d("2026-02-11"), CGP)
    history.test(d("2026-02-15"))
    assert evaluate(history.case(), d("2026-02-15"), IPLEDGE_2021).dispensable


def test_missed_window_on_a_later_fill_needs_only_a_new_test() -> None:
    history = enrolled(on=d("2025-11-01")).dispense(d("2026-01-05"))
    history.counsel(C0).contraceive(C0).comprehend(C0).test(C0)
    history.test(d("2026-02-12"))
    assert evaluate(history.case(), d("2026-02-12"), IPLEDGE_2021).dispensable


def test_previous_course_fills_never_start_a_lockout() -> None:
    """A later fill of the old course qualified on 01-20 (no dispense); the new course's first
    fill is not locked out by it."""
    history = enrolled(on=d("2025-10-01")).dispense(d("2026-01-05")).month(d("2026-01-20"))
    history.end_course(d("2026-01-31")).ack(d("2026-02-01"))
    history.test(d("2026-02-01"), setting=OFFICE)
    t = d("2026-02-25")
    history.counsel(t).contraceive(t, started_on=d("2026-01-10")).comprehend(t).test(t)
    assert evaluate(history.case(), t, IPLEDGE_2021).dispensable


def test_first_window_of_a_new_course_right_after_a_dispense_locks_out() -> None:
    """The cycle of the walk starts the day after the old course's last dispense."""
    history = enrolled(on=d("2025-10-01")).dispense(d("2026-01-05")).end_course(d("2026-01-05"))
    history.ack(d("2026-01-06")).test(d("2026-01-06"), setting=OFFICE)
    c0 = d("2026-01-25")
    history.counsel(c0).contraceive(c0, started_on=d("2025-12-01")).comprehend(c0).test(c0)
    history.test(d("2026-02-05"))
    decision = evaluate(history.case(), d("2026-02-05"), IPLEDGE_2021)
    assert codes(decision) == ["LOCKOUT_PERIOD"]
    assert reason(decision, "LOCKOUT_PERIOD").met_from == c0 + days(19)


def test_second_test_inside_the_first_window_starts_no_lockout_of_its_own() -> None:
    history = enrolled(on=d("2025-12-01")).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(C0, started_on=d("2025-12-20")).counsel(C0).test(C0)
    history.test(C0 + days(2)).comprehend(C0 + days(3))  # qualified from 02-07 on
    history.test(LOCKOUT_END)
    # C0's lockout ends 02-23; the 02-06 test, taken during it, would have ended 02-25.
    assert evaluate(history.case(), LOCKOUT_END, IPLEDGE_2021).dispensable
