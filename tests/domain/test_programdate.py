"""RULES.md §1: every rule works on program dates in the program time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tracker.domain.programdate import program_date

from .builders import d

PACIFIC = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 21:30 Pacific on the last day of a window is 00:30 Eastern the next day: too late.
        (datetime(2026, 12, 7, 21, 30, tzinfo=PACIFIC), "2026-12-08"),
        (datetime(2026, 12, 7, 20, 59, 59, tzinfo=PACIFIC), "2026-12-07"),
        (datetime(2026, 12, 7, 23, 59, 59, tzinfo=ZoneInfo("America/New_York")), "2026-12-07"),
        (datetime(2026, 12, 8, 4, 59, 59, tzinfo=UTC), "2026-12-07"),  # EST is UTC-5
        (datetime(2026, 7, 8, 3, 59, 59, tzinfo=UTC), "2026-07-07"),  # EDT is UTC-4
        (datetime(2026, 7, 8, 4, 0, tzinfo=UTC), "2026-07-08"),
    ],
)
def test_program_date_is_the_eastern_calendar_date(moment: datetime, expected: str) -> None:
    assert program_date(moment) == d(expected)


def test_program_time_zone_is_configurable() -> None:
    moment = datetime(2026, 12, 7, 21, 30, tzinfo=PACIFIC)
    assert program_date(moment, "America/Los_Angeles") == d("2026-12-07")
    assert program_date(moment, "Pacific/Auckland") == d("2026-12-08")


def test_fixed_offset_moments_are_accepted() -> None:
    assert program_date(datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))) == d(
        "2025-12-31"
    )


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        program_date(datetime(2026, 12, 7, 21, 30))  # naive: the point of the test
