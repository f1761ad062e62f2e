"""RULES.md §5 and §6 for a patient who can get pregnant, on fills after the first."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.decision import Window
from tracker.domain.facts import TestSetting as Setting
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.rules import evaluate

from .builders import (
    HOME,
    LAB,
    OFFICE,
    POS,
    History,
    codes,
    d,
    days,
    enrolled,
    qualified_later_fill,
    reason,
)

T = d("2026-12-10")
PREVIOUS = d("2026-11-10")  # the previous fill, 30 days before T


def later(previous: date = PREVIOUS) -> History:
    """Enrolled long ago, last dispensed on `previous`, nothing recorded since."""
    return enrolled(on=d("2026-01-01")).dispense(previous)


def test_later_fill_with_every_record_is_dispensable() -> None:
    history = qualified_later_fill(T, PREVIOUS)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert decision.dispensable and decision.unmet == ()
    assert decision.rule_set == "ipledge-2026" and decision.as_of == T
    assert decision.window == Window(T, T + days(6))
    assert decision.do_not_dispense_after == T + days(6)
    assert [kind for kind, _ in decision.used] == [
        "acknowledgment", "counseling", "contraception", "comprehension", "pregnancy_test",
    ]
    assert dict(decision.used)["pregnancy_test"] == history.tests[-1].id


def test_nothing_recorded_lists_every_requirement_with_today_as_earliest_date() -> None:
    decision = evaluate(later().case(), T, IPLEDGE_2026)
    assert codes(decision) == [
        "COUNSELING_MISSING", "CONTRACEPTION_MISSING", "COMPREHENSION_MISSING",
        "PREGNANCY_TEST_MISSING",
    ]
    assert {r.met_from for r in decision.unmet} == {T}
    assert reason(decision, "PREGNANCY_TEST_MISSING").message == (
        "A negative pregnancy test is needed: none is recorded from 2026-11-11 through "
        "2026-12-10."
    )
    assert reason(decision, "COUNSELING_MISSING").message == (
        "Counseling by the prescriber is needed: none is recorded from 2026-11-11 through "
        "2026-12-10."
    )


@pytest.mark.parametrize(
    ("missing", "code"),
    [
        ("counsel", "COUNSELING_MISSING"),
        ("contraceive", "CONTRACEPTION_MISSING"),
        ("comprehend", "COMPREHENSION_MISSING"),
        ("test", "PREGNANCY_TEST_MISSING"),
    ],
)
def test_each_monthly_requirement_is_reported_alone_when_only_it_is_missing(
    missing: str, code: str
) -> None:
    history = later()
    for step in ("counsel", "contraceive", "comprehend", "test"):
        if step != missing:
            getattr(history, step)(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == [code]


# --- §5 the cycle ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "code"),
    [
        ("counsel", "COUNSELING_MISSING"),
        ("contraceive", "CONTRACEPTION_MISSING"),
        ("comprehend", "COMPREHENSION_MISSING"),
    ],
)
@pytest.mark.parametrize(("age", "counts"), [(30, True), (31, False)])
def test_monthly_record_counts_from_t_minus_30_not_t_minus_31(
    step: str, code: str, age: int, counts: bool
) -> None:
    history = later(T - days(60))
    for other in ("counsel", "contraceive", "comprehend"):
        getattr(history, other)(T - days(age) if other == step else T)
    history.test(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ([] if counts else [code])


@pytest.mark.parametrize(
    ("step", "code"),
    [
        ("counsel", "COUNSELING_MISSING"),
        ("contraceive", "CONTRACEPTION_MISSING"),
        ("comprehend", "COMPREHENSION_MISSING"),
        ("test", "PREGNANCY_TEST_MISSING"),
    ],
)
@pytest.mark.parametrize(("after_dispense", "counts"), [(0, False), (1, True)])
def test_record_dated_on_the_day_of_the_previous_dispense_does_not_count(
    step: str, code: str, after_dispense: int, counts: bool
) -> None:
    previous = T - days(3)
    history = later(previous)
    for other in ("counsel", "contraceive", "comprehend", "test"):
        getattr(history, other)(previous + days(after_dispense) if other == step else T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ([] if counts else [code])


def test_one_test_qualifies_at_most_one_fill() -> None:
    history = enrolled(on=d("2026-10-01")).month(d("2026-12-01")).dispense(d("2026-12-02"))
    history.counsel(d("2026-12-05")).contraceive(d("2026-12-05")).comprehend(d("2026-12-05"))
    # 12-05 is inside the 12-01 test's window, but that test was used by the 12-02 fill.
    assert codes(evaluate(history.case(), d("2026-12-05"), IPLEDGE_2026)) == [
        "PREGNANCY_TEST_MISSING"
    ]


def test_tests_have_no_thirty_day_bound_only_the_window() -> None:
    history = later(T - days(90)).counsel(T).contraceive(T).comprehend(T).test(T - days(40))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ["WINDOW_EXPIRED"]
    assert reason(decision, "WINDOW_EXPIRED").closed_on == T - days(34)


# --- §6.4 the window and the newest test ---------------------------------------------------------


@pytest.mark.parametrize(("age", "dispensable"), [(0, True), (6, True), (7, False)])
def test_window_closes_after_day_seven(age: int, dispensable: bool) -> None:
    history = later().counsel(T).contraceive(T).comprehend(T).test(T - days(age))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert decision.dispensable is dispensable
    assert codes(decision) == ([] if dispensable else ["WINDOW_EXPIRED"])


def test_newest_qualifying_test_gives_the_latest_window() -> None:
    history = later().counsel(T).contraceive(T).comprehend(T).test(T - days(5)).test(T - days(1))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert decision.window == Window(T - days(1), T + days(5))
    assert dict(decision.used)["pregnancy_test"] == history.tests[-1].id


def test_window_expired_names_the_newest_negative_test() -> None:
    history = later().counsel(T).contraceive(T).comprehend(T)
    history.test(T - days(12)).test(T - days(9), setting=OFFICE)
    decision = evaluate(history.case(), T, IPLEDGE_2021)
    assert reason(decision, "WINDOW_EXPIRED").closed_on == T - days(3)


@pytest.mark.parametrize("policy", [IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026], ids=lambda p: p.id)
def test_newest_test_positive_blocks_even_with_an_older_negative_in_the_window(
    policy: Policy,
) -> None:
    history = later().counsel(T).contraceive(T).comprehend(T).test(T - days(3))
    history.test(T - days(1), POS)
    decision = evaluate(history.case(), T, policy)
    assert codes(decision) == ["PREGNANCY_TEST_POSITIVE"]
    positive = reason(decision, "PREGNANCY_TEST_POSITIVE")
    assert positive.met_from is None
    assert "2026-12-09" in positive.message
    assert decision.window is None


def test_positive_test_blocks_until_a_later_negative_test() -> None:
    history = later().counsel(T).contraceive(T).comprehend(T).test(T - days(20), POS)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["PREGNANCY_TEST_POSITIVE"]
    history.test(T - days(1))
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_negative_test_on_the_same_day_as_a_positive_does_not_lift_it() -> None:
    history = later().counsel(T).contraceive(T).comprehend(T).test(T, POS).test(T)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["PREGNANCY_TEST_POSITIVE"]


def test_positive_test_before_the_previous_dispense_is_behind_us() -> None:
    history = enrolled(on=d("2026-01-01")).test(PREVIOUS - days(40), POS).dispense(PREVIOUS)
    history.month(T)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


# --- §6.5 where the later fill's test was done -----------------------------------------------


@pytest.mark.parametrize(
    ("policy", "setting", "home_permitted", "accepted"),
    [
        (IPLEDGE_2021, LAB, False, True),
        (IPLEDGE_2021, OFFICE, False, False),
        (IPLEDGE_2021, HOME, False, False),
        (IPLEDGE_2021, HOME, True, False),
        (IPLEDGE_2023, LAB, False, True),
        (IPLEDGE_2023, OFFICE, True, False),
        (IPLEDGE_2023, HOME, False, False),
        (IPLEDGE_2023, HOME, True, True),
        (IPLEDGE_2026, LAB, False, True),
        (IPLEDGE_2026, OFFICE, False, True),
        (IPLEDGE_2026, HOME, False, False),
        (IPLEDGE_2026, HOME, True, True),
    ],
)
def test_later_fill_test_setting_follows_the_table(
    policy: Policy, setting: Setting, home_permitted: bool, accepted: bool
) -> None:
    history = later().month(T, setting=setting)
    decision = evaluate(history.case(home_testing=home_permitted), T, policy)
    assert codes(decision) == ([] if accepted else ["TEST_SETTING_NOT_ACCEPTED"])


def test_setting_not_accepted_names_what_is_accepted() -> None:
    history = later().month(T, setting=HOME)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    message = reason(decision, "TEST_SETTING_NOT_ACCEPTED").message
    assert message == (
        "The negative test collected on 2026-12-10 was done at the patient's home; this fill "
        "needs a test done at a CLIA-certified laboratory or a medical office."
    )
    assert reason(decision, "TEST_SETTING_NOT_ACCEPTED").met_from == T


def test_accepted_test_in_the_window_is_used_over_a_newer_refused_one() -> None:
    history = later().counsel(T).contraceive(T).comprehend(T)
    history.test(T - days(3)).test(T - days(1), setting=OFFICE)
    decision = evaluate(history.case(), T, IPLEDGE_2021)
    assert decision.dispensable
    assert decision.window == Window(T - days(3), T + days(3))


def test_refused_test_outside_the_window_is_only_an_expired_window() -> None:
    history = later().counsel(T).contraceive(T).comprehend(T).test(T - days(8), setting=HOME)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["WINDOW_EXPIRED"]


# --- §6.2 and §6.3 contraception and comprehension -------------------------------------------


@pytest.mark.parametrize(
    ("methods", "abstinence"),
    [(("iud",), False), (("male_condom", "vaginal_sponge"), False), ((), False),
     (("iud", "male_condom"), True), (("iud", "progestin_only_pill"), False)],
)
def test_contraception_entry_that_breaks_the_rule_never_counts(
    methods: tuple[str, ...], abstinence: bool
) -> None:
    history = later().counsel(T).comprehend(T, methods=methods, abstinence=abstinence).test(T)
    history.contraceive(T, methods=methods, abstinence=abstinence)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["CONTRACEPTION_MISSING"]


@pytest.mark.parametrize(
    ("confirmed", "abstinence", "matches"),
    [
        (("male_condom", "iud"), False, True),
        (("iud",), False, False),
        (("iud", "male_condom", "patch"), False, False),
        ((), True, False),
    ],
)
def test_patient_must_confirm_the_prescribers_contraception(
    confirmed: tuple[str, ...], abstinence: bool, matches: bool
) -> None:
    history = later().counsel(T).contraceive(T).test(T)
    history.comprehend(T, methods=confirmed, abstinence=abstinence)
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert codes(decision) == ([] if matches else ["CONTRACEPTION_MISMATCH"])
    if not matches:
        assert reason(decision, "CONTRACEPTION_MISMATCH").met_from == T


def test_abstinence_confirmed_as_abstinence_matches() -> None:
    history = later().counsel(T).contraceive(T, methods=(), abstinence=True).test(T)
    history.comprehend(T, methods=(), abstinence=True)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_latest_contraception_entry_is_the_one_compared() -> None:
    history = later().counsel(T).test(T).comprehend(T)
    history.contraceive(T - days(5), methods=("iud", "male_condom"))
    history.contraceive(T - days(2), methods=("patch", "male_condom"))
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["CONTRACEPTION_MISMATCH"]


def test_same_day_contraception_entries_the_later_entered_wins() -> None:
    history = later().counsel(T).test(T).comprehend(T)
    history.contraceive(T, methods=("patch", "male_condom"))
    history.contraceive(T, methods=("iud", "male_condom"))
    history.contraceive(T - days(1), methods=("patch", "male_condom"))
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_failed_attempts_change_nothing() -> None:
    history = later().counsel(T).contraceive(T).test(T).comprehend(T, passed=False)
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["COMPREHENSION_MISSING"]
    history.comprehend(T - days(1)).comprehend(T, passed=False)
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_newest_passing_attempt_is_the_one_compared() -> None:
    history = later().counsel(T).contraceive(T).test(T)
    history.comprehend(T - days(3)).comprehend(T - days(1), methods=("iud",))
    assert codes(evaluate(history.case(), T, IPLEDGE_2026)) == ["CONTRACEPTION_MISMATCH"]
    history.comprehend(T - days(1))  # same day, entered later
    assert evaluate(history.case(), T, IPLEDGE_2026).dispensable


def test_newest_counseling_is_used() -> None:
    history = later().contraceive(T).comprehend(T).test(T).counsel(T - days(4)).counsel(T)
    history.counsel(T - days(2))
    decision = evaluate(history.case(), T, IPLEDGE_2026)
    assert dict(decision.used)["counseling"] == history.counseling[1].id


# --- §1 evaluation as of a date ---------------------------------------------------------------


def test_evaluation_as_of_a_past_date_ignores_later_records() -> None:
    history = qualified_later_fill(T, PREVIOUS)
    before = evaluate(history.case(), T, IPLEDGE_2026)
    history.test(T + days(1), POS).dispense(T + days(2)).counsel(T + days(1))
    history.contraceive(T + days(1), methods=("patch", "male_condom")).comprehend(T + days(3))
    history.end_course(T + days(4))
    assert evaluate(history.case(), T, IPLEDGE_2026) == before
    assert not evaluate(history.case(), T + days(1), IPLEDGE_2026).dispensable


def test_on_the_day_of_a_dispense_the_next_fills_records_can_start_tomorrow() -> None:
    """§5: records count when dated after the dispense, so on the dispense day nothing can be
    met before the next day."""
    decision = evaluate(later(previous=T).case(), T, IPLEDGE_2026)
    assert codes(decision) == [
        "COUNSELING_MISSING", "CONTRACEPTION_MISSING", "COMPREHENSION_MISSING",
        "PREGNANCY_TEST_MISSING",
    ]
    assert {r.met_from for r in decision.unmet} == {T + days(1)}
    assert reason(decision, "COUNSELING_MISSING").message == (
        "Counseling by the prescriber is needed: only records dated from 2026-12-11, the day "
        "after the last dispense, count."
    )
