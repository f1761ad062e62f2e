"""Program dates (RULES.md §1): the calendar date in the program time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "America/New_York"  # RULES.md §1, config TRACKER_PROGRAM_TIMEZONE


def program_date(moment: datetime, zone: str = DEFAULT_ZONE) -> date:
    """The program date of an instant: its calendar date in `zone`.

    An authorization ends at 23:59:59 Eastern on its last day, so 21:30 Pacific on that day is
    already the next program date. `moment` must be timezone-aware: a naive datetime has no
    defined instant, and guessing the server's zone would move the cut-off.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("program_date needs a timezone-aware datetime")
    return moment.astimezone(ZoneInfo(zone)).date()
