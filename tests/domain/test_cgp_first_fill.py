"""RULES.md §6 items 5-7 for the first fill of a course: screening, settings, the 30-day wait."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.decision import Window
from tracker.domain.facts import TestSetting as Setting
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.rules import evaluate

from .builders import (
    CGP,
    CNGP,
    HOME,
    LAB,
    OFFICE,
    POS,
    History,
    codes,
    d,
    days,
    enrolled,
    qualified_first_fill,
    reason,
)

T = d("2026-06-20")
POLICIES = [IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026]


SCREENING = T - days(25)
STARTED = T - days(45)


def first(
    screening: date | None = SCREENING,
    screening_setting: Setting = OFFICE,
    started: date = STARTED,
) -> History:
    """Enrolled 60 days before T; counseling, contraception and comprehension on T; an
    optional screening test; no confirmation test yet."""
    history = enrolled(on=T - days(60))
    if screening is not None:
        history.test(screening, setting=screening_setting)
    return history.counsel(T).contraceive(T, started_on=started).comprehend(T)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
def test_first_fill_with_screening_wait_and_confirmation_is_dispensable(policy: Policy) -> None:
    history = qualified_first_fill(T)
    decision = evaluate(history.case(), T, policy)
    assert decision.dispensable
    assert decision.window == Window(T, T + days(6))
    tests = [record for kind, record in decision.used if kind == "pregnancy_test"]
    assert tests == [history.tests[1].id, history.tests[0].id]  # confirmation, then screening


@pytest.mark.parametrize(("gap", "met"), [(18, False), (19, True), (20, True)])
def test_confirmation_needs_nineteen_days_after_screening(gap: int, met: bool) -> None:
    history = first(screening=T - days(gap)).test(T)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ([] if met else ["SCREENING_TEST_MISSING"])
    if not met:
        missing = reason(decision, "SCREENING_TEST_MISSING")
        assert missing.met_from == T + days(1)
        assert missing.message == (
            "A screening test is needed at least 19 days before the confirmation test collected "
            "on 2026-06-20; the earliest negative test that can serve as one was collected on "
            "2026-06-02, so the confirmation test can be collected from 2026-06-21."
        )


@pytest.mark.parametrize(("lead", "met"), [(29, False), (30, True), (31, True)])
def test_contraception_starts_thirty_days_before_the_confirmation_test(
    lead: int, met: bool
) -> None:
    history = first(started=T - days(lead)).test(T)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ([] if met else ["CONTRACEPTION_LEAD_TIME"])
    if not met:
        wait = reason(decision, "CONTRACEPTION_LEAD_TIME")
        assert wait.met_from == T + days(1)
        assert wait.message == (
            "The contraception started on 2026-05-22; the confirmation test must be collected "
            "at least 30 days later, from 2026-06-21."
        )


def test_abstinence_also_waits_thirty_days() -> None:
    history = enrolled(on=T - days(60)).test(T - days(25), setting=OFFICE).counsel(T).test(T)
    history.contraceive(T, started_on=T - days(10), methods=(), abstinence=True)
    history.comprehend(T, methods=(), abstinence=True)
    wait = reason(evaluate(history.case(), T, IPLEDGE_2026), "CONTRACEPTION_LEAD_TIME")
    assert wait.message.startswith("The abstinence started on 2026-06-10;")


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.id)
@pytest.mark.parametrize(("setting", "accepted"), [(LAB, True), (OFFICE, True), (HOME, False)])
def test_screening_test_in_a_lab_or_office_never_at_home(
    policy: Policy, setting: Setting, accepted: bool
) -> None:
    history = first(screening_setting=setting).test(T)
    decision = evaluate(history.case(home_testing=True), T, policy)
    assert codes(decision) == ([] if accepted else ["SCREENING_TEST_MISSING"])


@pytest.mark.parametrize(
    ("policy", "setting", "accepted"),
    [
        (IPLEDGE_2021, LAB, True),
        (IPLEDGE_2021, OFFICE, False),
        (IPLEDGE_2023, LAB, True),
        (IPLEDGE_2023, OFFICE, False),
        (IPLEDGE_2023, HOME, False),
        (IPLEDGE_2026, LAB, True),
        (IPLEDGE_2026, OFFICE, True),
        (IPLEDGE_2026, HOME, False),
    ],
)
def test_first_fill_confirmation_setting_follows_the_table_even_if_home_is_permitted(
    policy: Policy, setting: Setting, accepted: bool
) -> None:
    history = first().test(T, setting=setting)
    decision = evaluate(history.case(home_testing=True), T, policy)
    assert codes(decision) == ([] if accepted else ["TEST_SETTING_NOT_ACCEPTED"])


def test_a_lone_confirmation_test_can_serve_as_the_screening_test() -> None:
    history = first(screening=None).test(T - days(2))
    missing = reason(evaluate(history.case(), T, IPLEDGE_2026), "SCREENING_TEST_MISSING")
    assert missing.met_from == T + days(17)


def test_no_screening_test_at_all_gives_the_date_after_a_screening_today() -> None:
    history = first(screening=None).test(T, setting=HOME)
    decision = evaluate(history.case(), T, IPLEDGE_2021)
    assert codes(decision) == ["TEST_SETTING_NOT_ACCEPTED", "SCREENING_TEST_MISSING"]
    missing = reason(decision, "SCREENING_TEST_MISSING")
    assert missing.met_from == T + days(19)
    assert missing.message == (
        "A negative screening test done at a CLIA-certified laboratory or a medical office is "
        "needed at least 19 days before the confirmation test; with a screening test today the "
        "confirmation test can be collected from 2026-07-09."
    )


def test_without_a_confirmation_test_every_date_is_still_reported() -> None:
    history = first(screening=T - days(10), started=T - days(5))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == [
        "WINDOW_EXPIRED", "SCREENING_TEST_MISSING", "CONTRACEPTION_LEAD_TIME",
    ]
    assert reason(decision, "SCREENING_TEST_MISSING").met_from == T + days(9)
    assert reason(decision, "SCREENING_TEST_MISSING").message == (
        "A screening test is needed at least 19 days before the confirmation test; the earliest "
        "negative test that can serve as one was collected on 2026-06-10, so the confirmation "
        "test can be collected from 2026-06-29."
    )
    assert reason(decision, "CONTRACEPTION_LEAD_TIME").met_from == T + days(25)


def test_without_any_test_the_test_and_screening_are_both_missing() -> None:
    decision = evaluate(first(screening=None).case(), T, IPLEDGE_2026)
    assert codes(decision) == ["PREGNANCY_TEST_MISSING", "SCREENING_TEST_MISSING"]
    assert reason(decision, "PREGNANCY_TEST_MISSING").message == (
        "A negative pregnancy test is needed: none is recorded."
    )


def test_without_a_confirmation_test_met_screening_and_wait_are_not_reported() -> None:
    decision = evaluate(first().case(), T, IPLEDGE_2026)
    assert codes(decision) == ["WINDOW_EXPIRED"]


def test_earliest_dates_are_never_in_the_past() -> None:
    """The existing confirmation test is too early, but a new test today would do."""
    history = first(screening=T - days(20), started=T - days(32)).test(T - days(5))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ["SCREENING_TEST_MISSING", "CONTRACEPTION_LEAD_TIME"]
    assert {r.met_from for r in decision.unmet} == {T}


def test_screening_test_before_a_positive_test_no_longer_counts() -> None:
    history = first(screening=T - days(30)).test(T - days(20), POS).test(T - days(18)).test(T)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ["SCREENING_TEST_MISSING"]
    assert reason(decision, "SCREENING_TEST_MISSING").met_from == T + days(1)


def test_positive_test_on_a_first_fill_still_tells_the_screening_date() -> None:
    history = first(screening=T - days(30)).test(T - days(1), POS)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ["PREGNANCY_TEST_POSITIVE", "SCREENING_TEST_MISSING"]
    assert reason(decision, "SCREENING_TEST_MISSING").met_from == T + days(19)


def test_later_fills_need_no_screening_test_nor_wait() -> None:
    history = enrolled(on=T - days(90)).dispense(T - days(30))
    history.counsel(T).contraceive(T, started_on=T - days(1)).comprehend(T).test(T)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_change_to_can_get_pregnant_starts_the_pre_treatment_rules_over() -> None:
    history = History(category=CNGP, registered_on=d("2026-01-01")).ack(d("2026-01-01"))
    history.counsel(d("2026-04-01")).dispense(d("2026-04-02"))
    history.change_category(T - days(10), CGP).ack(T - days(10))
    history.counsel(T).contraceive(T, started_on=T - days(45)).comprehend(T).test(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["SCREENING_TEST_MISSING"]


def test_new_course_starts_with_the_first_fill_rules() -> None:
    history = enrolled(on=d("2026-01-01")).dispense(d("2026-02-01"))
    history.end_course(d("2026-03-01")).ack(T - days(1))
    history.counsel(T).contraceive(T, started_on=T - days(45)).comprehend(T).test(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["SCREENING_TEST_MISSING"]
