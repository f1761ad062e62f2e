"""The engine reads records in any order: the loader need not sort them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

import pytest

from tracker.domain.facts import Case
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.rules import evaluate

from .builders import (
    CNGP,
    HOME,
    OFFICE,
    POS,
    History,
    codes,
    d,
    days,
    enrolled,
    qualified_first_fill,
)

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
    build: Callable[[], History], policy: Policy, expected: list[str]
) -> None:
    case = build().case()
    decision = evaluate(case, T, policy)
    assert codes(decision) == expected
    assert evaluate(reversed_records(case), T, policy) == decision


def test_refused_test_named_is_the_newest_in_the_window() -> None:
    case = only_refused_tests().case()
    for ordered in (case, reversed_records(case)):
        decision = evaluate(ordered, T, IPLEDGE_2021)
        assert "2026-12-08" in decision.unmet[0].message


def same_day_records() -> History:
    """Two of each record on the same day: the one entered later (higher id) is used."""
    history = enrolled(on=d("2026-01-01")).ack(d("2026-01-01"))
    history.dispense(T - days(30)).counsel(T).counsel(T).contraceive(T).comprehend(T)
    return history.test(T).test(T).test(T, setting=HOME).test(T, setting=OFFICE)


def same_day_screening_tests() -> History:
    history = qualified_first_fill(T)
    return history.test(T - days(25), setting=OFFICE)


def same_day_cngp_visits() -> History:
    return enrolled(category=CNGP, on=d("2026-01-01")).counsel(T).counsel(T)


@pytest.mark.parametrize(
    ("build", "policy"),
    [(same_day_records, IPLEDGE_2021), (same_day_screening_tests, IPLEDGE_2021),
     (same_day_cngp_visits, IPLEDGE_2023), (same_day_cngp_visits, IPLEDGE_2026)],
    ids=["cgp", "screening", "cngp-2023", "cngp-2026"],
)
def test_same_day_records_are_chosen_by_entry_order_not_list_order(
    build: Callable[[], History], policy: Policy
) -> None:
    case = build().case()
    decision = evaluate(case, T, policy)
    assert evaluate(reversed_records(case), T, policy) == decision


def test_same_day_refused_tests_name_the_later_entered() -> None:
    history = enrolled(on=d("2026-01-01")).dispense(T - days(30)).counsel(T).contraceive(T)
    history.comprehend(T).test(T, setting=HOME).test(T, setting=OFFICE)
    case = history.case()
    for ordered in (case, reversed_records(case)):
        message = evaluate(ordered, T, IPLEDGE_2021).unmet[0].message
        assert "a medical office" in message.split(";")[0]
