"""A program report as JSON text and back, losing nothing: every field of `Report`, with its
type (counts keyed by a number stay keyed by a number, counters stay counters) and its order
(the page, the CSV files and the API show dicts in the order they were counted), so a stored
report renders exactly like the one counted live."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from datetime import date
from typing import Any

from tracker.services.queries.program_report import (
    Period,
    PharmacyRow,
    PrescriberRow,
    Report,
)

# The layout below; a stored report of another layout is not read (counted live instead).
FORMAT = 1
# Fields kept as JSON has them: numbers, and dicts of name -> number or name -> name -> number.
_AS_THEY_ARE = (
    "active_patients", "new_enrollments", "authorizations", "missed_windows", "dispenses",
    "refusals", "refusal_events", "patients_refused", "delay_histogram", "delayed_fills",
    "comprehension_first_tries", "comprehension_first_try_passes", "positive_tests",
    "positive_tests_unreported", "registry_reports_outstanding", "prescribers_lapsed",
    "pharmacies_lapsed", "pharmacies_due")
# Counters keyed by a number (days; a prescriber's or a pharmacy's id): JSON's keys are text,
# so they are kept as [key, count] pairs, in their order.
_BY_NUMBER = ("test_to_authorization_days", "authorization_to_dispense_days",
              "marking_refusals", "counter_refusals")
_OTHERS = ("period", "as_of", "monthly", "prescribers", "pharmacies")
FIELDS = frozenset(_AS_THEY_ARE + _BY_NUMBER + _OTHERS)  # every field of Report (tested)


class UnreadableReport(ValueError):
    """Stored text that is not a report of this layout."""


def report_to_json(report: Report) -> str:
    p = report.period
    data: dict[str, Any] = {
        "format": FORMAT,
        "period": {"first": p.first.isoformat(), "last": p.last.isoformat(),
                   "rule_set": p.rule_set},
        "as_of": report.as_of.isoformat(),
        **{name: getattr(report, name) for name in _AS_THEY_ARE},
        **{name: [[key, n] for key, n in getattr(report, name).items()]
           for name in _BY_NUMBER},
        "monthly": report.monthly,
        "prescribers": [asdict(row) for row in report.prescribers],
        "pharmacies": [asdict(row) for row in report.pharmacies],
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def report_from_json(text: str) -> Report:
    """The report written by `report_to_json`, or UnreadableReport."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UnreadableReport(str(exc)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT \
            or set(data) != FIELDS | {"format"}:
        raise UnreadableReport("not a stored report of this layout")
    try:
        p = data["period"]
        values: dict[str, Any] = {name: data[name] for name in _AS_THEY_ARE}
        values |= {name: Counter({int(key): int(n) for key, n in data[name]})
                   for name in _BY_NUMBER}
        return Report(
            period=Period(date.fromisoformat(p["first"]), date.fromisoformat(p["last"]),
                          p["rule_set"]),
            as_of=date.fromisoformat(data["as_of"]),
            monthly={month: Counter(series) for month, series in data["monthly"].items()},
            prescribers=[PrescriberRow(**row) for row in data["prescribers"]],
            pharmacies=[PharmacyRow(**row) for row in data["pharmacies"]],
            **values)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnreadableReport(f"a field does not read back: {exc}") from exc
