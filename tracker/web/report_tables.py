"""The program report's tables, each a header and rows of plain values: the page shows them
and each downloads as CSV, from the same rows, so the two never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tracker.domain.reasons import ReasonCode
from tracker.services.queries.program_report import (
    CATEGORIES,
    DELAY_BINS,
    DISPENSE_REFUSED,
    MARKING_REFUSED,
    Report,
)

CATEGORY_LABELS = {"can_get_pregnant": "Can get pregnant",
                   "cannot_get_pregnant": "Cannot get pregnant"}
Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's name and the page's anchor
    caption: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def _share(value: float | None) -> Cell:
    return None if value is None else round(value * 100, 1)


def summary(r: Report) -> Table:
    a = r.authorizations
    rows: list[tuple[Cell, ...]] = []
    for c in CATEGORIES:
        rows.append((f"Active patients: {CATEGORY_LABELS[c].lower()}", r.active_patients[c]))
    for c in CATEGORIES:
        rows.append((f"New enrollments: {CATEGORY_LABELS[c].lower()}", r.new_enrollments[c]))
    rows += [
        ("Authorizations issued", a["issued"]),
        ("… dispensed", a["dispensed"]),
        ("… reversed", a["reversed"]),
        ("… expired unused", a["expired_unused"]),
        ("… still open", a["open"]),
        ("Missed 7-day windows (can get pregnant)", r.missed_windows["can_get_pregnant"]),
        ("Missed 30-day windows (cannot get pregnant)", r.missed_windows["cannot_get_pregnant"]),
        ("Dispenses", r.dispenses),
        ("Refused “Mark dispensable”", r.refusal_events[MARKING_REFUSED]),
        ("Refused dispenses", r.refusal_events[DISPENSE_REFUSED]),
        ("Patients refused for a lockout after a missed first window", r.lockouts),
        ("Median days, confirmation test to authorization", r.median_test_to_authorization),
        ("Median days, authorization to dispense", r.median_authorization_to_dispense),
        ("Fills delayed", r.delayed_fills),
        ("Fills delayed, % of dispenses", _share(r.delayed_share)),
        ("Comprehension first tries", r.comprehension_first_tries),
        ("Comprehension first-try pass rate, %", _share(r.comprehension_first_try_rate)),
        ("Positive pregnancy tests", r.positive_tests),
        ("… not reported to the registry", r.positive_tests_unreported),
        ("Registry reports outstanding (any date)", r.registry_reports_outstanding),
        ("Prescribers lapsed (deactivated)", r.prescribers_lapsed),
        ("Pharmacies lapsed", r.pharmacies_lapsed),
        ("Pharmacies due for renewal", r.pharmacies_due),
    ]
    return Table("summary", "Summary", ("Measure", "Value"), rows)


def monthly(r: Report) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (month, s.get("enrollments", 0), s.get("authorizations", 0), s.get("dispenses", 0))
        for month, s in r.monthly.items()]
    return Table("monthly", "Month by month",
                 ("Month", "New enrollments", "Authorizations issued", "Dispenses"), rows)


def refusal_reasons(r: Report) -> Table:
    order = {code.value: i for i, code in enumerate(ReasonCode)}
    rows: list[tuple[Cell, ...]] = []
    for code in sorted(r.refusals, key=lambda c: (-sum(r.refusals[c].values()), order.get(c, 99))):
        by = r.refusals[code]
        rows.append((code, by.get(MARKING_REFUSED, 0), by.get(DISPENSE_REFUSED, 0),
                     sum(by.values()), r.patients_refused.get(code, 0)))
    return Table("refusals", "Refusals by reason code",
                 ("Reason code", "At “Mark dispensable”", "At the counter", "Total",
                  "Patients"), rows)


def delays(r: Report) -> Table:
    rows: list[tuple[Cell, ...]] = [(label, r.delay_histogram.get(label, 0))
                                    for label, _, _ in DELAY_BINS]
    return Table("delays", "Days from prescription written to dispense",
                 ("Days", "Dispenses"), rows)


def prescribers(r: Report) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (p.name, p.npi, "active" if p.active else "lapsed (deactivated)", p.issued, p.dispensed,
         p.reversed, p.expired_unused, p.open, p.marking_refusals) for p in r.prescribers]
    return Table("prescribers", "Per prescriber",
                 ("Prescriber", "NPI", "Standing", "Authorizations issued", "Dispensed",
                  "Reversed", "Expired unused", "Open", "Refused markings"), rows)


def pharmacies(r: Report) -> Table:
    rows: list[tuple[Cell, ...]] = [
        (p.name, p.ncpdp_id, p.standing, p.dispenses,
         None if p.mean_days_to_dispense is None else round(p.mean_days_to_dispense, 1),
         p.counter_refusals) for p in r.pharmacies]
    return Table("pharmacies", "Per pharmacy",
                 ("Pharmacy", "NCPDP id", "Standing today", "Dispenses",
                  "Mean days, authorization to dispense", "Refused dispenses"), rows)


TABLES: dict[str, Callable[[Report], Table]] = {
    "summary": summary, "monthly": monthly, "refusals": refusal_reasons, "delays": delays,
    "prescribers": prescribers, "pharmacies": pharmacies,
}
