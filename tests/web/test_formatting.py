"""The pages write a date one way ("Dec 3, 2026") and a time one way ("Dec 3, 2026 at 2:14 PM
ET"), always in the program time zone, whatever the season or the server's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask, render_template_string

from tracker.web.formatting import cutoff, written_date, written_dates, written_time

EASTERN = "America/New_York"


@pytest.mark.parametrize(("day", "shown"), [
    (date(2026, 12, 3), "Dec 3, 2026"), (date(2027, 1, 31), "Jan 31, 2027"), (None, "")])
def test_a_date_is_month_day_year(day: date | None, shown: str) -> None:
    assert written_date(day) == shown


@pytest.mark.parametrize(("moment", "shown"), [
    (datetime(2026, 12, 3, 19, 14, tzinfo=UTC), "Dec 3, 2026 at 2:14 PM ET"),  # EST, UTC-5
    (datetime(2026, 7, 3, 18, 14, tzinfo=UTC), "Jul 3, 2026 at 2:14 PM ET"),  # EDT, UTC-4
    (datetime(2026, 12, 4, 4, 30, tzinfo=UTC), "Dec 3, 2026 at 11:30 PM ET"),  # the day before
    (datetime(2026, 12, 3, 5, 0, tzinfo=UTC), "Dec 3, 2026 at 12:00 AM ET"),
    (datetime(2026, 12, 3, 17, 5, tzinfo=UTC), "Dec 3, 2026 at 12:05 PM ET"),
    (None, ""),
])
def test_a_time_is_in_the_program_time_zone(moment: datetime | None, shown: str) -> None:
    assert written_time(moment, EASTERN) == shown


def test_another_program_zone_is_named_for_itself() -> None:
    moment = datetime(2026, 12, 3, 22, 14, tzinfo=UTC)
    assert written_time(moment, "America/Los_Angeles") == "Dec 3, 2026 at 2:14 PM PT"
    assert written_time(moment, "Europe/Berlin") == "Dec 3, 2026 at 11:14 PM CET"


def test_an_authorization_ends_at_the_last_minute_of_its_last_day() -> None:
    assert cutoff(date(2026, 12, 20), EASTERN) == "11:59 PM ET on Dec 20, 2026"


def test_engine_dates_are_written_out_and_non_dates_left_alone() -> None:
    assert written_dates("Opens 2026-12-03, closes 2026-12-09.") == (
        "Opens Dec 3, 2026, closes Dec 9, 2026.")
    assert written_dates("Code 2026-13-45 stays") == "Code 2026-13-45 stays"
    assert written_dates(None) == ""


def test_templates_write_with_the_same_filters(app: Flask) -> None:
    with app.test_request_context():
        shown = render_template_string(
            "{{ d|written_date }} / {{ t|written_time }} / {{ d|cutoff }} / {{ m|written_dates }}",
            d=date(2026, 12, 20), t=datetime(2026, 12, 15, 17, 0, tzinfo=UTC),
            m="due 2026-12-21")
    assert shown == ("Dec 20, 2026 / Dec 15, 2026 at 12:00 PM ET / 11:59 PM ET on Dec 20, 2026"
                     " / due Dec 21, 2026")


def test_a_prescriber_is_given_the_title_once() -> None:
    from tracker.services.text import as_doctor

    assert as_doctor("Dana Derm") == "Dr Dana Derm"
    assert as_doctor("Dr. Dana Derm") == "Dr. Dana Derm"
    assert as_doctor("dr Dana Derm") == "dr Dana Derm"
