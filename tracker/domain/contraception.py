"""Contraception methods (RULES.md §6.2): two different methods, at least one primary, or a
commitment to abstinence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from types import MappingProxyType

# RULES.md §6.2, in the order the rule book lists them.
PRIMARY_METHODS: tuple[str, ...] = (
    "tubal_sterilization",
    "partner_vasectomy",
    "iud",
    "hormonal_implant",
    "hormonal_injection",
    "combined_pill",
    "patch",
    "vaginal_ring",
)
SECONDARY_METHODS: tuple[str, ...] = (
    "male_condom",
    "diaphragm_with_spermicide",
    "cervical_cap_with_spermicide",
    "vaginal_sponge",
)

METHOD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "tubal_sterilization": "Tubal sterilization",
        "partner_vasectomy": "Partner's vasectomy",
        "iud": "Intrauterine device (IUD)",
        "hormonal_implant": "Hormonal implant",
        "hormonal_injection": "Hormonal injection",
        "combined_pill": "Combined (estrogen and progestin) pill",
        "patch": "Contraceptive patch",
        "vaginal_ring": "Vaginal ring",
        "male_condom": "Male condom",
        "diaphragm_with_spermicide": "Diaphragm with spermicide",
        "cervical_cap_with_spermicide": "Cervical cap with spermicide",
        "vaginal_sponge": "Vaginal sponge",
    }
)

_PRIMARY = frozenset(PRIMARY_METHODS)
_KNOWN = _PRIMARY | frozenset(SECONDARY_METHODS)
# RULES.md §6.2: "Progestin-only pills are not an accepted method" - named in the error so the
# prescriber learns why, rather than reading "unknown code".
_PROGESTIN_ONLY_PILL = "progestin_only_pill"


def contraception_errors(methods: Collection[str], abstinence: bool) -> list[str]:
    """Why a contraception entry (or a patient's confirmation) is refused (RULES.md §6.2);
    empty when it is acceptable."""
    errors: list[str] = []
    counts = Counter(methods)
    for code in counts:
        if code == _PROGESTIN_ONLY_PILL:
            errors.append("Progestin-only pills (the mini-pill) are not an accepted method.")
        elif code not in _KNOWN:
            errors.append(f"Unknown method code '{code}'.")
    for code, count in counts.items():
        if count > 1:
            errors.append(f"The method '{code}' is listed more than once.")
    if abstinence:
        if counts:
            errors.append("Choose methods or abstinence, not both.")
    elif not acceptable_contraception(frozenset(counts), abstinence):
        errors.append(
            "Enter two different methods, at least one of them primary, or a commitment to "
            "abstinence."
        )
    return errors


def acceptable_contraception(methods: frozenset[str], abstinence: bool) -> bool:
    """RULES.md §6.2: abstinence alone, or two different known methods with at least one
    primary. The engine uses it so that no stored entry counts unless it meets the rule."""
    if abstinence:
        return not methods
    known = methods & _KNOWN
    return len(known) >= 2 and not known.isdisjoint(_PRIMARY)


def same_contraception(
    a_methods: Collection[str], a_abstinence: bool, b_methods: Collection[str], b_abstinence: bool
) -> bool:
    """RULES.md §6.3: the patient confirmed the same methods (order aside) or abstinence as the
    prescriber entered."""
    return bool(a_abstinence) == bool(b_abstinence) and frozenset(a_methods) == frozenset(
        b_methods
    )
