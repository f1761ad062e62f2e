"""The requirements of the guide (Patient Enrollment, Prescriber Enrollment, Counseling, ...)
read from the engine's checklist of the next fill: each checklist row belongs to one named
requirement, met when all of its rows are. Pharmacy staff get the minimum-necessary view of
API.md instead: the prescriber's enrollment and one "Prescriber action required"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.domain.next_steps import Requirement
from tracker.domain.reasons import Reason, ReasonCode
from tracker.services.rems_status import RemsStatus

PATIENT = "patient"
PRESCRIBER = "prescriber"
PRESCRIBER_ACTION = "Prescriber action required"

# (name in the guide's words, whose requirement it is, the checklist rows it gathers)
_GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("Patient Enrollment", PATIENT, frozenset({"enrollment"})),
    ("Prescriber Enrollment", PRESCRIBER, frozenset({"prescriber"})),
    ("Counseling", PATIENT, frozenset({"counseling", "counseling_once", "visit_window"})),
    ("Contraception", PATIENT, frozenset({"contraception", "lead_time"})),
    ("Comprehension", PATIENT, frozenset({"comprehension"})),
    ("Pregnancy Test", PATIENT, frozenset({"pregnancy_test", "screening", "lockout"})),
    ("Prescription", PATIENT, frozenset({"prescription", "one_authorization"})),
    ("Other Requirements", PATIENT, frozenset({"other"})),
)


@dataclass(frozen=True)
class NamedRequirement:
    """One requirement of the guide: met or not, in words with the dates, and from when it
    can be met (None: met, or no date can be given)."""

    name: str
    stakeholder: str  # PATIENT or PRESCRIBER
    met: bool
    text: str
    met_from: date | None


def _reason_text(reason: Reason) -> str:
    if reason.met_from is not None:
        return f"{reason.message} Can be met from {reason.met_from}."
    return reason.message


def _earliest(reasons: list[Reason]) -> date | None:
    """The day every reason can be met: the latest of their dates (None when one has none)."""
    dates = [r.met_from for r in reasons]
    if not dates or any(d is None for d in dates):
        return None
    return max(d for d in dates if d is not None)


def _group(name: str, stakeholder: str, rows: list[Requirement]) -> NamedRequirement:
    reasons = [reason for row in rows for reason in row.reasons]
    if not reasons:
        evidence = [f"{e.text} {e.on}" for row in rows for e in row.evidence]
        text = "Met" + (": " + "; ".join(evidence) if evidence else "") + "."
        return NamedRequirement(name, stakeholder, True, text, None)
    unique = list(dict.fromkeys(reasons))
    return NamedRequirement(name, stakeholder, False, " ".join(_reason_text(r) for r in unique),
                            _earliest(unique))


def _clinical(status: RemsStatus) -> tuple[NamedRequirement, ...]:
    out = []
    for name, stakeholder, keys in _GROUPS:
        rows = [row for row in status.checklist if row.key in keys]
        if rows:
            out.append(_group(name, stakeholder, rows))
    return tuple(out)


def _folded(status: RemsStatus) -> tuple[NamedRequirement, ...]:
    unmet = status.decision.unmet
    prescriber = [r for r in unmet if r.code == ReasonCode.PRESCRIBER_INACTIVE]
    action = [r for r in unmet if r.code != ReasonCode.PRESCRIBER_INACTIVE]
    return (
        _group("Prescriber Enrollment", PRESCRIBER,
               [Requirement("prescriber", "", not prescriber, tuple(prescriber))]),
        _group(PRESCRIBER_ACTION, PRESCRIBER,
               [Requirement("action", "", not action, tuple(action))]),
    )


def named_requirements(status: RemsStatus) -> tuple[NamedRequirement, ...]:
    """The guide's requirements for the caller: every one that applies to the patient's next
    fill, or the folded pair for pharmacy staff."""
    return _folded(status) if status.folded else _clinical(status)
