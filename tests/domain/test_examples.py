"""RULES.md §12: every worked example is a test (rule set ipledge-2026 unless named).

Example 8 (two pharmacies dispensing at once) is about concurrency and belongs to the service
layer's tests; the engine's part, ALREADY_DISPENSED for a dispensed prescription, is in
test_dispensing.py.
"""

from __future__ import annotations

import pytest

from tracker.domain.decision import Window
from tracker.domain.facts import Case
from tracker.domain.facts import TestSetting as Setting
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.rules import evaluate
from tracker.domain.validation import days_supply_error, refills_error

from .builders import HOME, OFFICE, History, cngp_patient, codes, d, days, enrolled, reason


def example_1_patient() -> Case:
    """CGP, later fill, negative lab test collected 2026-12-01 (previous fill 2026-11-05)."""
    history = enrolled(on=d("2026-08-01")).dispense(d("2026-11-05"))
    return history.month(d("2026-12-01")).case()


@pytest.mark.parametrize(
    "on", ["2026-12-01", "2026-12-02", "2026-12-04", "2026-12-06", "2026-12-07"]
)
def test_example_1_dispensable_on_each_day_of_the_window(on: str) -> None:
    decision = evaluate(example_1_patient(), d(on), IPLEDGE_2026)
    assert decision.dispensable and decision.unmet == ()
    assert decision.window == Window(d("2026-12-01"), d("2026-12-07"))
    assert decision.do_not_dispense_after == d("2026-12-07")


def test_example_1_window_expired_on_day_eight() -> None:
    decision = evaluate(example_1_patient(), d("2026-12-08"), IPLEDGE_2026)
    assert codes(decision) == ["WINDOW_EXPIRED"]
    expired = reason(decision, "WINDOW_EXPIRED")
    assert expired.closed_on == d("2026-12-07")
    assert expired.met_from == d("2026-12-08")
    assert expired.message == (
        "The 7-day window of the negative test collected on 2026-12-01 closed on 2026-12-07; "
        "a new negative test is needed."
    )
    assert decision.window is None and decision.do_not_dispense_after is None


def test_example_2_window_runs_from_collection_not_from_the_result() -> None:
    """The result entered on 12-04: facts carry only the collection date, so on 12-04 the
    window still ends 12-07."""
    decision = evaluate(example_1_patient(), d("2026-12-04"), IPLEDGE_2026)
    assert decision.window == Window(d("2026-12-01"), d("2026-12-07"))
    assert codes(evaluate(example_1_patient(), d("2026-12-08"), IPLEDGE_2026)) == [
        "WINDOW_EXPIRED"
    ]


def test_example_3_screening_gap_met_but_contraception_wait_not() -> None:
    history = enrolled(on=d("2026-11-20")).test(d("2026-12-01"), setting=OFFICE)
    history.contraceive(d("2026-12-20"), started_on=d("2026-12-01"))
    history.counsel(d("2026-12-20")).comprehend(d("2026-12-20")).test(d("2026-12-20"))
    decision = evaluate(history.case(), d("2026-12-20"), IPLEDGE_2026)
    assert codes(decision) == ["CONTRACEPTION_LEAD_TIME"]
    assert reason(decision, "CONTRACEPTION_LEAD_TIME").met_from == d("2026-12-31")


def example_4_case(setting: Setting, home_testing: bool = False) -> Case:
    """A first fill whose confirmation test on 2026-03-20 was done in `setting`."""
    history = enrolled(on=d("2026-01-01")).test(d("2026-02-20"), setting=OFFICE)
    history.contraceive(d("2026-03-20"), started_on=d("2026-01-15"))
    history.counsel(d("2026-03-20")).comprehend(d("2026-03-20"))
    return history.test(d("2026-03-20"), setting=setting).case(home_testing=home_testing)


def test_example_4_office_confirmation_refused_under_2021() -> None:
    decision = evaluate(example_4_case(OFFICE), d("2026-03-20"), IPLEDGE_2021)
    assert codes(decision) == ["TEST_SETTING_NOT_ACCEPTED"]
    assert reason(decision, "TEST_SETTING_NOT_ACCEPTED").message == (
        "The negative test collected on 2026-03-20 was done at a medical office; this fill needs "
        "a test done at a CLIA-certified laboratory."
    )


def test_example_4_office_confirmation_accepted_under_2026() -> None:
    assert evaluate(example_4_case(OFFICE), d("2026-03-20"), IPLEDGE_2026).dispensable


@pytest.mark.parametrize("policy", [IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026], ids=lambda p: p.id)
@pytest.mark.parametrize("home_testing", [False, True])
def test_example_4_home_confirmation_never_accepted(policy: Policy, home_testing: bool) -> None:
    decision = evaluate(example_4_case(HOME, home_testing), d("2026-03-20"), policy)
    assert codes(decision) == ["TEST_SETTING_NOT_ACCEPTED"]


def example_5_history() -> History:
    """CGP first fill: confirmation 2026-02-04 (window to 02-10) met every rule; no dispense."""
    history = enrolled(on=d("2025-12-01")).test(d("2026-01-10"), setting=OFFICE)
    history.contraceive(d("2026-02-04"), started_on=d("2025-12-20"))
    history.counsel(d("2026-02-04")).comprehend(d("2026-02-04"))
    return history.test(d("2026-02-04"))


def test_example_5_first_window_qualified_on_its_own() -> None:
    assert evaluate(example_5_history().case(), d("2026-02-10"), IPLEDGE_2021).dispensable


def test_example_5_new_test_during_lockout_under_2021() -> None:
    history = example_5_history().test(d("2026-02-15"))
    decision = evaluate(history.case(), d("2026-02-15"), IPLEDGE_2021)
    assert codes(decision) == ["LOCKOUT_PERIOD"]
    lockout = reason(decision, "LOCKOUT_PERIOD")
    assert lockout.met_from == d("2026-02-23")
    assert lockout.message == (
        "The window of the negative test collected on 2026-02-04 closed on 2026-02-10 without a "
        "dispense; a new confirmation test must be collected on or after 2026-02-23."
    )


def test_example_5_new_test_when_the_lockout_ends_under_2021() -> None:
    history = example_5_history().test(d("2026-02-23"))
    assert evaluate(history.case(), d("2026-02-23"), IPLEDGE_2021).dispensable


def test_example_5_new_office_test_the_next_day_under_2026() -> None:
    history = example_5_history().test(d("2026-02-11"), setting=OFFICE)
    assert evaluate(history.case(), d("2026-02-11"), IPLEDGE_2026).dispensable


@pytest.mark.parametrize(
    ("on", "dispensable"),
    [("2026-03-02", True), ("2026-03-15", True), ("2026-03-31", True), ("2026-04-01", False)],
)
def test_example_6_cannot_get_pregnant_under_2021(on: str, dispensable: bool) -> None:
    case = cngp_patient(d("2026-02-01")).counsel(d("2026-03-02")).case()
    decision = evaluate(case, d(on), IPLEDGE_2021)
    assert decision.dispensable is dispensable
    if dispensable:
        assert decision.window == Window(d("2026-03-02"), d("2026-03-31"))
        assert decision.do_not_dispense_after == d("2026-03-31")
    else:
        assert codes(decision) == ["WINDOW_EXPIRED"]
        assert reason(decision, "WINDOW_EXPIRED").closed_on == d("2026-03-31")


@pytest.mark.parametrize("later", [0, 29, 30, 31, 200])
def test_example_6_cannot_get_pregnant_under_2026_has_no_window(later: int) -> None:
    case = cngp_patient(d("2026-03-02")).counsel(d("2026-03-02")).case()
    decision = evaluate(case, d("2026-03-02") + days(later), IPLEDGE_2026)
    assert decision.dispensable
    assert decision.window is None and decision.do_not_dispense_after is None


@pytest.mark.parametrize("policy", [IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026], ids=lambda p: p.id)
def test_example_7_days_supply_31_or_a_refill_refused_at_entry(policy: Policy) -> None:
    assert days_supply_error(31, policy) is not None
    assert refills_error(1, policy) is not None
    assert days_supply_error(30, policy) is None and refills_error(0, policy) is None
