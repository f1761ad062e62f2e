"""RULES.md §2 (rule sets chosen by date) and §3 (an active pharmacy)."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.facts import TestSetting as Setting
from tracker.domain.policy import (
    DEFAULT_2026_EFFECTIVE,
    IPLEDGE_2021,
    IPLEDGE_2023,
    IPLEDGE_2026,
    Policy,
    pharmacy_problems,
    policy_for,
    rule_sets,
)

from .builders import d, pharmacy

LAB, OFFICE, HOME = Setting.LAB, Setting.OFFICE, Setting.HOME


@pytest.mark.parametrize("policy", [IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026], ids=lambda p: p.id)
def test_numbers_shared_by_every_rule_set_come_from_the_rule_book(policy: Policy) -> None:
    assert policy.cycle_days == 30  # §5
    assert policy.test_window_days == 7  # §6.4
    assert policy.screening_gap_days == 19  # §6.6
    assert policy.contraception_lead_days == 30  # §6.7
    assert policy.lockout_days == 19  # §6.8
    assert policy.cngp_window_days == 30  # §7 V..V+29
    assert policy.pharmacy_activation_days == 365  # §3
    assert policy.pharmacy_training_days == 365  # §3
    assert (policy.days_supply_min, policy.days_supply_max, policy.refills_max) == (1, 30, 0)
    assert policy.guardian_below_age == 18  # §4
    assert policy.post_treatment_test_days == 30  # §10
    assert policy.first_fill_screening_settings == {LAB, OFFICE}  # §6.5 table
    assert HOME not in policy.first_fill_confirmation_settings  # "never on the first fill"


@pytest.mark.parametrize(
    ("policy", "start", "confirmation", "later", "home", "lockout", "cngp_cycle", "training"),
    [
        (IPLEDGE_2021, date(2021, 12, 13), {LAB}, {LAB}, False, True, True, False),
        (IPLEDGE_2023, date(2023, 10, 1), {LAB}, {LAB}, True, True, True, False),
        (IPLEDGE_2026, date(2026, 11, 15), {LAB, OFFICE}, {LAB, OFFICE}, True, False, False, True),
    ],
    ids=["ipledge-2021", "ipledge-2023", "ipledge-2026"],
)
def test_rule_set_differences_follow_the_table(
    policy: Policy,
    start: date,
    confirmation: set[Setting],
    later: set[Setting],
    home: bool,
    lockout: bool,
    cngp_cycle: bool,
    training: bool,
) -> None:
    assert policy.in_force_from == start
    assert policy.first_fill_confirmation_settings == confirmation
    assert policy.later_fill_settings == later
    assert policy.home_tests_on_later_fills is home
    assert policy.lockout is lockout
    assert policy.cngp_counseling_every_cycle is cngp_cycle
    assert policy.cngp_window is cngp_cycle
    assert policy.pharmacy_training_required is training


def test_default_2026_start_is_the_rule_book_date() -> None:
    assert DEFAULT_2026_EFFECTIVE == date(2026, 11, 15)
    assert [p.id for p in rule_sets()] == ["ipledge-2021", "ipledge-2023", "ipledge-2026"]


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2020-01-01", "ipledge-2021"),  # before the first rule set: the first one
        ("2021-12-12", "ipledge-2021"),
        ("2021-12-13", "ipledge-2021"),
        ("2023-09-30", "ipledge-2021"),
        ("2023-10-01", "ipledge-2023"),
        ("2026-11-14", "ipledge-2023"),
        ("2026-11-15", "ipledge-2026"),
        ("2030-01-01", "ipledge-2026"),
    ],
)
def test_rule_set_is_the_newest_started_on_or_before_the_date(on: str, expected: str) -> None:
    assert policy_for(d(on), rule_sets()).id == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [("2027-02-28", "ipledge-2023"), ("2027-03-01", "ipledge-2026")],
)
def test_configured_2026_start_moves_the_switch_day(on: str, expected: str) -> None:
    sets = rule_sets(d("2027-03-01"))
    chosen = policy_for(d(on), sets)
    assert chosen.id == expected
    if expected == "ipledge-2026":
        assert chosen.in_force_from == d("2027-03-01")


def test_policy_for_does_not_depend_on_the_order_of_the_sets() -> None:
    sets = tuple(reversed(rule_sets()))
    assert policy_for(d("2024-01-01"), sets).id == "ipledge-2023"
    assert policy_for(d("2000-01-01"), sets).id == "ipledge-2021"


def test_policy_for_needs_rule_sets() -> None:
    with pytest.raises(ValueError, match="no rule sets"):
        policy_for(d("2026-01-01"), ())


@pytest.mark.parametrize("start", ["2023-10-01", "2022-01-01"])
def test_2026_cannot_start_before_the_2023_rules(start: str) -> None:
    with pytest.raises(ValueError, match="must start after 2023-10-01"):
        rule_sets(d(start))


# --- §3 pharmacy activation: (design default) the activation day is day 1 of 365 -------------


@pytest.mark.parametrize(
    ("on", "active"),
    [
        ("2026-01-01", True),  # day 1
        ("2026-12-31", True),  # day 365 = activated_on + 364
        ("2027-01-01", False),  # day 366
        ("2025-12-31", False),  # before the activation
    ],
)
def test_pharmacy_activation_lasts_365_days_counting_its_first_day(on: str, active: bool) -> None:
    problems = pharmacy_problems(pharmacy(d("2026-01-01"), None), d(on), IPLEDGE_2023)
    assert (problems == ()) is active


def test_lapsed_activation_says_what_to_renew() -> None:
    problems = pharmacy_problems(pharmacy(d("2026-01-01"), None), d("2027-01-01"), IPLEDGE_2023)
    assert problems == (
        "Renew the pharmacy activation: the activation of 2026-01-01 ran through 2026-12-31.",
    )


def test_future_activation_is_not_in_effect_yet() -> None:
    problems = pharmacy_problems(pharmacy(d("2026-02-01"), None), d("2026-01-15"), IPLEDGE_2023)
    assert problems == ("The pharmacy activation starts on 2026-02-01, after 2026-01-15.",)


@pytest.mark.parametrize(
    ("trained_on", "on", "expected"),
    [
        ("2026-01-01", "2026-12-31", ()),
        (
            "2026-01-01",
            "2027-01-01",
            (
                (
                    "Renew the staff training attestation: the attestation of 2026-01-01 ran "
                    "through 2026-12-31."
                ),
            ),
        ),
        (None, "2026-06-01", ("Record the staff training attestation: none is on file.",)),
        (
            "2026-07-01",
            "2026-06-01",
            ("The staff training attestation is dated 2026-07-01, after 2026-06-01.",),
        ),
    ],
)
def test_training_attestation_is_required_from_2026(
    trained_on: str | None, on: str, expected: tuple[str, ...]
) -> None:
    facts = pharmacy(d("2026-06-01"), d(trained_on) if trained_on else None)
    assert pharmacy_problems(facts, d(on), IPLEDGE_2026) == expected


def test_training_attestation_is_not_required_before_2026() -> None:
    assert pharmacy_problems(pharmacy(d("2026-06-01"), None), d("2026-06-01"), IPLEDGE_2023) == ()


def test_every_problem_is_listed() -> None:
    problems = pharmacy_problems(pharmacy(d("2024-01-01"), None), d("2026-06-01"), IPLEDGE_2026)
    assert len(problems) == 2
