"""The engine reads records in any order: the loader need not sort them."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from tracker.domain.facts import Case
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, Policy
from tracker.domain.rules import evaluate

from .builders import HOME, OFFICE, POS, History, codes, d, days, enrolled, qualified_first_fill

T = d("2026-12-10")


def reversed_records(case: Case) -> Case:
    """The same case with every record list in reverse order."""
    patient = case.patient
    changes = {
        f.name: tuple(reversed(getattr(patient, f.name)))
        for f in fields(patient)
        if f.name not in ("birth_date", "category_history")
    }
    return replace(case, patient=replace(patient, **changes))


def several_tests_in_the_window() -> History:
    history = enrolled(on=d("2026-01-01")).dispense(T - days(30)).counsel(T).counsel(T - days(3))
    history.contraceive(T).comprehend(T)
    history.test(T - days(5)).test(T - days(1)).test(T - days(4), setting=HOME)
    return history.test(T - days(2), setting=HOME)


def positives_then_negative() -> History:
    history = enrolled(on=d("2026-01-01")).dispense(T - days(30)).month(T)
    return history.test(T - days(20), POS).test(T - days(10), POS)


def two_screening_tests() -> History:
    history = qualified_first_fill(T)
    return history.test(T - days(40), setting=OFFICE)


def only_refused_tests() -> History:
    history = enrolled(on=d("2026-01-01")).dispense(T - days(30)).counsel(T).contraceive(T)
    history.comprehend(T)
    return history.test(T - days(4), setting=HOME).test(T - days(2), setting=OFFICE)


@pytest.mark.parametrize(
    ("build", "policy", "expected"),
    [
        (several_tests_in_the_window, IPLEDGE_2021, []),
        (positives_then_negative, IPLEDGE_2023, []),
        (two_screening_tests, IPLEDGE_2021, []),
        (only_refused_tests, IPLEDGE_2021, ["TEST_SETTING_NOT_ACCEPTED"]),
    ],
    ids=lambda value: getattr(value, "__name__", None) or getattr(value, "id", None),
)
def test_decision_does_not_depend_on_record_order(
    build: object, policy: Policy, expected: list[str]
) -> None:
    case = build().case()  # type: ignore[operator]
    decision = evaluate(case, T, policy)
    assert codes(decision) == expected
    assert evaluate(reversed_records(case), T, policy) == decision


def test_refused_test_named_is_the_newest_in_the_window() -> None:
    case = only_refused_tests().case()
    for ordered in (case, reversed_records(case)):
        decision = evaluate(ordered, T, IPLEDGE_2021)
        assert "2026-12-08" in decision.unmet[0].message
