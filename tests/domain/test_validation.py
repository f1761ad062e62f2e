"""Entry checks: RULES.md §1 (clinical dates), §4 (signatures, guardians), §8 (prescriptions)."""

from __future__ import annotations

from datetime import date

import pytest

from tracker.domain.validation import (
    age_on,
    clinical_date_error,
    days_supply_error,
    needs_guardian,
    refills_error,
    signature_matches,
)

from .builders import d

TODAY = d("2026-11-26")
BIRTH = d("2000-03-15")


@pytest.mark.parametrize(
    ("value", "birth", "error"),
    [
        ("2026-11-26", BIRTH, None),
        ("2000-03-15", BIRTH, None),
        ("2026-11-27", BIRTH,
         "The date 2026-11-27 is in the future; the latest accepted date is 2026-11-26."),
        ("2000-03-14", BIRTH,
         "The date 2000-03-14 is before the patient's birth date 2000-03-15."),
        ("1990-01-01", None, None),
    ],
)
def test_clinical_date_is_not_in_the_future_nor_before_birth(
    value: str, birth: date | None, error: str | None
) -> None:
    assert clinical_date_error(d(value), TODAY, birth) == error


@pytest.mark.parametrize(
    ("days_supply", "ok"),
    [(1, True), (30, True), (0, False), (31, False), (-5, False), (True, False), ("30", False),
     (30.0, False), (None, False)],
)
def test_days_supply_is_a_whole_number_from_1_to_30(days_supply: object, ok: bool) -> None:
    error = days_supply_error(days_supply)
    assert (error is None) is ok
    if not ok:
        assert error == "The days' supply must be a whole number from 1 to 30."


@pytest.mark.parametrize(
    ("refills", "ok"), [(0, True), (1, False), (-1, False), (False, False), ("0", False)]
)
def test_no_refills(refills: object, ok: bool) -> None:
    assert (refills_error(refills) is None) is ok


@pytest.mark.parametrize(
    ("typed", "matches"),
    [
        ("Ada Lovelace", True),
        ("  ada   LOVELACE ", True),
        ("ADA\tLovelace", True),
        ("Ada Lovelace-King", False),
        ("Lovelace Ada", False),
        ("AdaLovelace", False),
        ("", False),
    ],
)
def test_signature_is_the_registered_name_case_and_spacing_aside(
    typed: str, matches: bool
) -> None:
    assert signature_matches(typed, "Ada", "Lovelace") is matches


def test_signature_compares_names_with_inner_spaces() -> None:
    assert signature_matches("maria de la cruz", "María".replace("í", "i"), "de la  Cruz")


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        ("2008-06-15", "2026-06-14", 17),
        ("2008-06-15", "2026-06-15", 18),
        ("2008-02-29", "2026-02-28", 17),  # (design default) a leap-day birthday...
        ("2008-02-29", "2026-03-01", 18),  # ...comes on 1 March in other years
        ("2008-02-29", "2028-02-29", 20),
    ],
)
def test_age_counts_whole_years(birth: str, on: str, age: int) -> None:
    assert age_on(d(birth), d(on)) == age


@pytest.mark.parametrize(("signed_on", "needed"), [("2026-06-14", True), ("2026-06-15", False)])
def test_guardian_signs_for_a_patient_under_18_on_the_signing_date(
    signed_on: str, needed: bool
) -> None:
    assert needs_guardian(d("2008-06-15"), d(signed_on)) is needed
