"""Rule sets as data (RULES.md §2).

Every number and setting of RULES.md lives in a `Policy` value. A new version of the program is a
new `Policy`, never a new `if` on a rule-set id: the engine reads only the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from tracker.domain.facts import PharmacyFacts, TestSetting

_LAB_ONLY = frozenset({TestSetting.LAB})
_LAB_OR_OFFICE = frozenset({TestSetting.LAB, TestSetting.OFFICE})


@dataclass(frozen=True, slots=True)
class Policy:
    """One rule set of the program (RULES.md §2), with every number the rules use."""

    id: str
    name: str
    in_force_from: date
    # §5: monthly records count when dated on or after T - cycle_days (and after the last dispense).
    cycle_days: int
    # §6.4: a negative test collected on D covers D .. D + (test_window_days - 1); D is day 1.
    test_window_days: int
    # §6.6: first fill, confirmation C >= screening S + screening_gap_days.
    screening_gap_days: int
    # §6.7: first fill, contraception started on or before C - contraception_lead_days.
    contraception_lead_days: int
    # §6.8: missed first window; the new confirmation test on or after C0 + lockout_days.
    lockout: bool
    lockout_days: int
    # §6.5: accepted test settings.
    first_fill_screening_settings: frozenset[TestSetting]
    first_fill_confirmation_settings: frozenset[TestSetting]
    later_fill_settings: frozenset[TestSetting]
    # §6.5: home tests on later fills (never on the first) when the prescriber permits them.
    home_tests_on_later_fills: bool
    # §7: cannot get pregnant. Counseling every cycle (2021/2023) or once since enrollment (2026),
    # and the visit window V .. V + (cngp_window_days - 1) when cngp_window applies.
    cngp_counseling_every_cycle: bool
    cngp_window: bool
    cngp_window_days: int
    # §3: a pharmacy is active while its activation (and, from 2026, its staff training
    # attestation) is within the last N days.
    pharmacy_activation_days: int
    pharmacy_training_required: bool
    pharmacy_training_days: int
    # §8: days' supply 1..30 and no refills; §4: a guardian co-signs under this age.
    days_supply_min: int = 1
    days_supply_max: int = 30
    refills_max: int = 0
    guardian_below_age: int = 18
    # §10: a patient who can get pregnant has a pregnancy test due this many days after the
    # last dose (a follow-up task on the worklist, not a dispensing gate).
    post_treatment_test_days: int = 30


# RULES.md §2, row ipledge-2021: the base rules.
IPLEDGE_2021 = Policy(
    id="ipledge-2021",
    name="Dec 2021 modification (gender-neutral categories)",
    in_force_from=date(2021, 12, 13),
    cycle_days=30,  # §5 "on or after T - 30 days"
    test_window_days=7,  # §6.4 "D ... D+6 (D is day 1, the window has 7 days)"
    screening_gap_days=19,  # §6.6 "C >= S + 19 days"
    contraception_lead_days=30,  # §6.7 "on or before C - 30 days"
    lockout=True,  # §6.8 ipledge-2021 and ipledge-2023 only
    lockout_days=19,  # §6.8 "on or after C0 + 19 days"
    first_fill_screening_settings=_LAB_OR_OFFICE,  # §6.5 table: "screening: lab or office"
    first_fill_confirmation_settings=_LAB_ONLY,  # §6.5 table: "confirmation: lab"
    later_fill_settings=_LAB_ONLY,  # §6.5 table: later fills "lab"
    home_tests_on_later_fills=False,
    cngp_counseling_every_cycle=True,  # §7 "counseling confirmed in the cycle"
    cngp_window=True,  # §7 "T within V ... V+29"
    cngp_window_days=30,
    pharmacy_activation_days=365,  # §3 "within the last 365 days"
    pharmacy_training_required=False,  # §3 "(from ipledge-2026) its staff training attestation"
    pharmacy_training_days=365,
)

# RULES.md §2, row ipledge-2023: FDA enforcement discretion on pregnancy testing.
IPLEDGE_2023 = replace(
    IPLEDGE_2021,
    id="ipledge-2023",
    name="FDA enforcement discretion on pregnancy testing",
    in_force_from=date(2023, 10, 1),  # §2 (design default of RULES.md)
    home_tests_on_later_fills=True,  # §6.5 "lab; home if the prescriber permits home testing"
)

# RULES.md §2: the date the Feb 2026 modification applies from unless configured otherwise
# (config TRACKER_POLICY_2026_EFFECTIVE).
DEFAULT_2026_EFFECTIVE = date(2026, 11, 15)

# RULES.md §2, row ipledge-2026: Feb 2026 modification.
IPLEDGE_2026 = replace(
    IPLEDGE_2023,
    id="ipledge-2026",
    name="Feb 2026 modification",
    in_force_from=DEFAULT_2026_EFFECTIVE,
    lockout=False,  # §6.8 "There is no lockout from ipledge-2026 on"
    first_fill_confirmation_settings=_LAB_OR_OFFICE,  # §6.5 table: "lab or office"
    later_fill_settings=_LAB_OR_OFFICE,  # §6.5 table: "lab or office; home if permitted"
    cngp_counseling_every_cycle=False,  # §7 "counseling recorded at least once since enrollment"
    cngp_window=False,  # §7 "no window from the visit"
    pharmacy_training_required=True,  # §3 "(from ipledge-2026) its staff training attestation"
)


def rule_sets(effective_2026: date = DEFAULT_2026_EFFECTIVE) -> tuple[Policy, ...]:
    """The rule sets in force order, with the 2026 modification starting on `effective_2026`.

    Raises ValueError when the configured date does not come after the 2023 rule set's start,
    which would make the 2023 rules never apply or apply after 2026's.
    """
    if effective_2026 <= IPLEDGE_2023.in_force_from:
        raise ValueError(
            f"the 2026 rule set cannot start on {effective_2026.isoformat()}: it must start after "
            f"{IPLEDGE_2023.in_force_from.isoformat()}"
        )
    return (IPLEDGE_2021, IPLEDGE_2023, replace(IPLEDGE_2026, in_force_from=effective_2026))


def policy_for(on: date, sets: tuple[Policy, ...]) -> Policy:
    """RULES.md §2: the newest rule set whose start is on or before `on`; before the first one
    starts, the first one (there is nothing older to apply)."""
    if not sets:
        raise ValueError("no rule sets given")
    chosen: Policy | None = None
    first = sets[0]
    for policy in sets:
        start = policy.in_force_from
        if start < first.in_force_from:
            first = policy
        if start <= on and (chosen is None or start > chosen.in_force_from):
            chosen = policy
    return first if chosen is None else chosen


def _within(since: date | None, on: date, days: int) -> bool:
    # (design default) "within the last 365 days" counts the activation day as day 1, as the
    # test window counts D as day 1 (RULES.md §6.4): active from `since` through since + 364.
    return since is not None and since <= on <= since + timedelta(days=days - 1)


def pharmacy_problems(pharmacy: PharmacyFacts, on: date, policy: Policy) -> tuple[str, ...]:
    """RULES.md §3: what the pharmacy must renew to be active on `on`; empty when it is active."""
    problems: list[str] = []
    activated = pharmacy.activated_on
    if not _within(activated, on, policy.pharmacy_activation_days):
        last = activated + timedelta(days=policy.pharmacy_activation_days - 1)
        if activated > on:
            problems.append(
                f"The pharmacy activation starts on {activated.isoformat()}, after "
                f"{on.isoformat()}."
            )
        else:
            problems.append(
                f"Renew the pharmacy activation: the activation of {activated.isoformat()} "
                f"ran through {last.isoformat()}."
            )
    if policy.pharmacy_training_required:
        trained = pharmacy.trained_on
        if trained is None:
            problems.append("Record the staff training attestation: none is on file.")
        elif not _within(trained, on, policy.pharmacy_training_days):
            last = trained + timedelta(days=policy.pharmacy_training_days - 1)
            if trained > on:
                problems.append(
                    f"The staff training attestation is dated {trained.isoformat()}, after "
                    f"{on.isoformat()}."
                )
            else:
                problems.append(
                    f"Renew the staff training attestation: the attestation of "
                    f"{trained.isoformat()} ran through {last.isoformat()}."
                )
    return tuple(problems)
