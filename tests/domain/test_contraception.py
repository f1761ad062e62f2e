"""RULES.md §6.2: two different methods, at least one primary, or abstinence."""

from __future__ import annotations

import pytest

from tracker.domain.contraception import (
    METHOD_LABELS,
    PRIMARY_METHODS,
    SECONDARY_METHODS,
    acceptable_contraception,
    contraception_errors,
    same_contraception,
)

NEED_TWO = (
    "Enter two different methods, at least one of them primary, or a commitment to abstinence."
)


def test_methods_are_those_of_the_rule_book_in_order() -> None:
    assert PRIMARY_METHODS == (
        "tubal_sterilization", "partner_vasectomy", "iud", "hormonal_implant",
        "hormonal_injection", "combined_pill", "patch", "vaginal_ring",
    )
    assert SECONDARY_METHODS == (
        "male_condom", "diaphragm_with_spermicide", "cervical_cap_with_spermicide",
        "vaginal_sponge",
    )


def test_every_method_has_a_plain_label() -> None:
    assert set(METHOD_LABELS) == set(PRIMARY_METHODS) | set(SECONDARY_METHODS)
    assert all(label and label[0].isupper() for label in METHOD_LABELS.values())
    with pytest.raises(TypeError):
        METHOD_LABELS["iud"] = "changed"  # type: ignore[index]


@pytest.mark.parametrize(
    ("methods", "abstinence", "errors"),
    [
        (["iud", "male_condom"], False, []),
        (["iud", "patch"], False, []),
        ([], True, []),
        (["iud"], False, [NEED_TWO]),
        (["male_condom", "vaginal_sponge"], False, [NEED_TWO]),
        ([], False, [NEED_TWO]),
        (["iud", "iud"], False, ["The method 'iud' is listed more than once.", NEED_TWO]),
        (["iud", "male_condom"], True, ["Choose methods or abstinence, not both."]),
        (["iud", "progestin_only_pill"], False,
         ["Progestin-only pills (the mini-pill) are not an accepted method.", NEED_TWO]),
        (["iud", "male_condom", "gel"], False, ["Unknown method code 'gel'."]),
        (["iud", "rhythm"], False, ["Unknown method code 'rhythm'.", NEED_TWO]),
    ],
)
def test_contraception_entry_errors(
    methods: list[str], abstinence: bool, errors: list[str]
) -> None:
    assert contraception_errors(methods, abstinence) == errors


@pytest.mark.parametrize(
    ("methods", "abstinence", "acceptable"),
    [
        (("iud", "male_condom"), False, True),
        (("tubal_sterilization", "partner_vasectomy"), False, True),
        ((), True, True),
        (("iud",), False, False),
        (("iud", "male_condom"), True, False),
        (("male_condom", "vaginal_sponge"), False, False),
        (("iud", "progestin_only_pill"), False, False),
        ((), False, False),
    ],
)
def test_engine_counts_only_acceptable_entries(
    methods: tuple[str, ...], abstinence: bool, acceptable: bool
) -> None:
    assert acceptable_contraception(frozenset(methods), abstinence) is acceptable


@pytest.mark.parametrize(
    ("a", "a_abst", "b", "b_abst", "same"),
    [
        (["iud", "male_condom"], False, ("male_condom", "iud"), False, True),
        (["iud", "male_condom"], False, ["iud", "patch"], False, False),
        ([], True, (), True, True),
        ([], True, (), False, False),
        (["iud"], False, ["iud", "iud"], False, True),
    ],
)
def test_same_contraception_ignores_order(
    a: list[str], a_abst: bool, b: list[str], b_abst: bool, same: bool
) -> None:
    assert same_contraception(a, a_abst, b, b_abst) is same
