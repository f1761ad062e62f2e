"""Anchors of the audit chain kept outside the database: the number of events and the head hash
at a moment, one line each, appended to a file or sent to syslog. A chain that no longer holds
an anchored (count, head) pair lost or rewrote events after that moment, which the keyed hashes
alone cannot show when the newest events are simply removed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tracker.services.audit import verify_trail
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed

_LINE = re.compile(r"\bevents=(\d+) head=([0-9a-f]{64})\b")


@dataclass(frozen=True)
class Anchor:
    at: datetime
    events: int
    head: str

    def line(self) -> str:
        return f"{self.at.isoformat(timespec='seconds')} tracker-audit-anchor " \
               f"events={self.events} head={self.head}"


def take_anchor(ctx: Context) -> Anchor:
    """The anchor of the chain as it is now; only a chain that verifies is anchored."""
    report = verify_trail(ctx)
    if not report.ok:
        raise ValidationFailed({"audit": [
            f"The audit trail does not verify (event {report.first_broken_id}: "
            f"{report.problem}); it is not anchored."]})
    return Anchor(ctx.now(), report.events, report.head)


def parse_anchors(text: str) -> dict[int, str]:
    """Every (count, head) of an anchor file or a syslog excerpt; other lines are ignored.
    Two different heads for one count cannot both be in a chain: the file is refused."""
    anchors: dict[int, str] = {}
    for match in _LINE.finditer(text):
        count, head = int(match.group(1)), match.group(2)
        if anchors.setdefault(count, head) != head:
            raise ValueError(f"the anchors give two different heads for {count} events")
    return anchors
