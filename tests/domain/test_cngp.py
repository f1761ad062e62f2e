"""RULES.md §7: patients who cannot get pregnant."""

from __future__ import annotations

import pytest

from tracker.domain.decision import Window
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.rules import evaluate

from .builders import CNGP, POS, History, cngp_patient, codes, d, days, reason

V = d("2026-03-02")
CYCLE_RULES = [IPLEDGE_2021, IPLEDGE_2023]


@pytest.mark.parametrize("policy", CYCLE_RULES, ids=lambda p: p.id)
@pytest.mark.parametrize(
    ("after_visit", "expected"),
    [(0, []), (29, []), (30, ["WINDOW_EXPIRED"]), (31, ["COUNSELING_MISSING"])],
)
def test_visit_window_runs_v_to_v_plus_29(
    policy: Policy, after_visit: int, expected: list[str]
) -> None:
    """V+30 is still in the 30-day cycle but past the window; V+31 is outside the cycle."""
    decision = evaluate(cngp_patient(d("2026-01-01")).counsel(V).case(), V + days(after_visit),
                        policy)
    assert codes(decision) == expected


def test_expired_visit_window_gives_its_last_day() -> None:
    decision = evaluate(cngp_patient(d("2026-01-01")).counsel(V).case(), V + days(30),
                        IPLEDGE_2021)
    expired = reason(decision, "WINDOW_EXPIRED")
    assert expired.closed_on == V + days(29) and expired.met_from == V + days(30)
    assert expired.message == (
        "The 30-day window of the counseling visit on 2026-03-02 closed on 2026-03-31; a new "
        "counseling visit is needed."
    )
    assert decision.window is None and decision.do_not_dispense_after is None


def test_newest_visit_of_the_cycle_gives_the_window() -> None:
    history = cngp_patient(d("2026-01-01")).counsel(V).counsel(V + days(10)).counsel(V + days(5))
    decision = evaluate(history.case(), V + days(12), IPLEDGE_2023)
    assert decision.window == Window(V + days(10), V + days(39))
    assert decision.used == (("acknowledgment", history.acknowledgments[0].id),
                             ("counseling", history.counseling[1].id))


def test_visit_on_the_day_of_the_previous_dispense_does_not_count() -> None:
    history = cngp_patient(d("2026-01-01")).counsel(V).dispense(V)
    assert codes(evaluate(history.case(), V + days(1), IPLEDGE_2021)) == ["COUNSELING_MISSING"]
    history.counsel(V + days(1))
    assert evaluate(history.case(), V + days(1), IPLEDGE_2021).dispensable


@pytest.mark.parametrize("policy", [IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026], ids=lambda p: p.id)
def test_no_tests_contraception_or_comprehension_are_required(policy: Policy) -> None:
    history = cngp_patient(d("2026-01-01")).counsel(V).test(V, POS)
    history.comprehend(V, passed=False)
    assert evaluate(history.case(), V, policy).dispensable


@pytest.mark.parametrize(
    ("visit", "counts"), [("2026-02-28", False), ("2026-03-01", True), ("2026-03-05", True)]
)
def test_2026_counseling_counts_on_or_after_the_enrollment_date(visit: str, counts: bool) -> None:
    history = cngp_patient(d("2026-03-01")).counsel(d(visit))
    decision = evaluate(history.case(), d("2026-09-01"), IPLEDGE_2026)
    assert codes(decision) == ([] if counts else ["COUNSELING_MISSING"])
    if not counts:
        assert reason(decision, "COUNSELING_MISSING").message == (
            "Counseling by the prescriber is needed: none is recorded since the enrollment of "
            "2026-03-01."
        )


def test_2026_counseling_once_is_enough_across_fills() -> None:
    history = cngp_patient(d("2026-03-01")).counsel(d("2026-03-01"))
    history.dispense(d("2026-03-02")).dispense(d("2026-04-02"))
    assert evaluate(history.case(), d("2026-05-02"), IPLEDGE_2026).dispensable


def test_2026_counseling_of_a_patient_not_enrolled_is_missing_too() -> None:
    history = History(category=CNGP, registered_on=d("2026-03-01")).counsel(d("2026-03-01"))
    decision = evaluate(history.case(), d("2026-03-02"), IPLEDGE_2026)
    assert codes(decision) == ["PATIENT_NOT_ENROLLED", "COUNSELING_MISSING"]
    assert reason(decision, "COUNSELING_MISSING").message == (
        "Counseling by the prescriber is needed: the patient must be enrolled and then counseled."
    )
    assert reason(decision, "COUNSELING_MISSING").met_from == d("2026-03-02")
