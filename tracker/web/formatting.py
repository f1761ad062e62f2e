"""Dates and times as the pages write them for people, one way each: a date is "Dec 3, 2026";
a time is "Dec 3, 2026 at 2:14 PM ET", always in the program time zone (config
PROGRAM_TIMEZONE), whatever the server's zone. Engine and service messages carry their dates
as YYYY-MM-DD and are rewritten here too. Date inputs keep their YYYY-MM-DD format.

Only `install` touches Flask: it registers the functions as Jinja filters, bound to the
app's program time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import partial
from zoneinfo import ZoneInfo

from flask import Flask

from tracker.services.text import as_doctor

# What people call the program's time zone; other zones are shown by their own abbreviation.
_ZONE_ABBREVIATIONS = {
    "America/New_York": "ET", "America/Detroit": "ET",
    "America/Indiana/Indianapolis": "ET", "America/Kentucky/Louisville": "ET",
    "America/Chicago": "CT", "America/Denver": "MT", "America/Boise": "MT",
    "America/Phoenix": "MT", "America/Los_Angeles": "PT",
    "America/Anchorage": "AKT", "Pacific/Honolulu": "HT",
    "America/Puerto_Rico": "AT",
}
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# RULES.md §1: an authorization ends at 23:59:59 program time on its last day.
_LAST_MINUTE = time(23, 59)


def written_date(day: date | None) -> str:
    """A date as people write it: "Dec 3, 2026" (empty for no date)."""
    if day is None:
        return ""
    return f"{day:%b} {day.day}, {day.year}"


def _clock(local: datetime, zone: str) -> str:
    """"2:14 PM ET": the hour of a time already in `zone`."""
    hour = local.hour % 12 or 12
    label = _ZONE_ABBREVIATIONS.get(zone) or local.tzname() or zone
    return f"{hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {label}"


def written_time(moment: datetime | None, zone: str) -> str:
    """A server time (UTC) in the program time zone: "Dec 3, 2026 at 2:14 PM ET" (empty for
    no time)."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{written_date(local.date())} at {_clock(local, zone)}"


def cutoff(day: date, zone: str) -> str:
    """The last moment an authorization may be dispensed: "11:59 PM ET on Dec 3, 2026"."""
    last_minute = datetime.combine(day, _LAST_MINUTE, tzinfo=ZoneInfo(zone))
    return f"{_clock(last_minute, zone)} on {written_date(day)}"


def written_dates(text: str | None) -> str:
    """An engine or service message with its YYYY-MM-DD dates written out."""

    def replace(match: re.Match[str]) -> str:
        try:
            return written_date(date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            return match[0]

    return _ISO_DATE.sub(replace, text or "")


def install(app: Flask) -> None:
    """Register the filters every template writes dates and times with."""
    zone = app.config["PROGRAM_TIMEZONE"]
    app.add_template_filter(written_date, "written_date")
    app.add_template_filter(partial(written_time, zone=zone), "written_time")
    app.add_template_filter(partial(cutoff, zone=zone), "cutoff")
    app.add_template_filter(written_dates, "written_dates")
    app.add_template_filter(as_doctor, "doctor")
