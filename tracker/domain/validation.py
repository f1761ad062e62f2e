"""Entry checks that refuse bad input before anything is stored (RULES.md §1, §4, §8).

Each `*_error` function returns one plain sentence naming what is accepted, or None.
"""

from __future__ import annotations

from datetime import date

from tracker.domain.policy import IPLEDGE_2026, Policy


def clinical_date_error(value: date, today: date, birth_date: date | None) -> str | None:
    """RULES.md §1: a clinical date may not lie after today's program date nor before the
    patient's birth date."""
    if value > today:
        return (
            f"The date {value.isoformat()} is in the future; the latest accepted date is "
            f"{today.isoformat()}."
        )
    if birth_date is not None and value < birth_date:
        return (
            f"The date {value.isoformat()} is before the patient's birth date "
            f"{birth_date.isoformat()}."
        )
    return None


def days_supply_error(n: object, policy: Policy = IPLEDGE_2026) -> str | None:
    """RULES.md §8: the days' supply is a whole number from 1 to 30."""
    low, high = policy.days_supply_min, policy.days_supply_max
    # bool is an int subclass, but True is not a days' supply
    if isinstance(n, bool) or not isinstance(n, int) or not low <= n <= high:
        return f"The days' supply must be a whole number from {low} to {high}."
    return None


def refills_error(n: object, policy: Policy = IPLEDGE_2026) -> str | None:
    """RULES.md §8: no refills; every fill needs its own prescription."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= policy.refills_max:
        return "Refills are not allowed: every fill needs a new prescription (enter 0)."
    return None


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def signature_matches(typed: str, first: str, last: str) -> bool:
    """RULES.md §4: the typed signature is the registered full name, case and spacing aside."""
    return _normalized(typed) == _normalized(f"{first} {last}")


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a date. (design default) Someone born on 29 February turns a year
    older on 1 March in years without that day."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def needs_guardian(birth: date, signed_on: date, policy: Policy = IPLEDGE_2026) -> bool:
    """RULES.md §4: a patient under 18 on the signing date also needs a guardian's signature."""
    return age_on(birth, signed_on) < policy.guardian_below_age
