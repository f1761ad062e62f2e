"""The engine's answer (API.md "Decision"): dispensable or not, and every reason why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tracker.domain.facts import RecordKind
from tracker.domain.reasons import Reason


@dataclass(frozen=True, slots=True)
class Window:
    """The days a fill may happen on, both ends included (program dates)."""

    opens_on: date
    closes_on: date


@dataclass(frozen=True, slots=True)
class Decision:
    """One evaluation of one prescription on one program date under one rule set.

    `dispensable` is exactly `not unmet`. `window` is the test window D..D+6 (can get pregnant)
    or the visit window V..V+29 (cannot get pregnant, 2021/2023 rules) when one applies.
    `do_not_dispense_after` is what an authorization issued from this decision gets (for a
    dispensing decision: the authorization's own date). `used` names the records the decision
    relied on as (kind, id) pairs, so an authorization can say what it was issued on.
    """

    dispensable: bool
    rule_set: str
    as_of: date
    unmet: tuple[Reason, ...]
    window: Window | None
    do_not_dispense_after: date | None
    used: tuple[tuple[RecordKind, int], ...]
