"""The program report counts what happened, measure by measure, in the history of
tests/report_history.py, each number counted by hand in the comments."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests import builders as b
from tests.builders import SIGNED
from tests.conftest import TODAY, Clock
from tests.report_history import DEC, build_history, day
from tracker.services import authorizations, dispenses, records
from tracker.services.context import Context
from tracker.services.errors import Forbidden, ValidationFailed
from tracker.services.queries.program_report import Period, build_report, choose_period


@pytest.fixture
def history(ctx: Context, clock: Clock) -> dict[str, Any]:
    return build_history(ctx, clock)


def report_for(ctx: Context, admin, first: date = DEC, last: date = TODAY):  # type: ignore[no-untyped-def]
    return build_report(b.as_user(ctx, admin), Period(first, last))


def test_patients_enrollments_authorizations_and_dispenses(ctx: Context, history) -> None:  # type: ignore[no-untyped-def]
    r = report_for(ctx, history["admin"])
    # Enrolled and not ended before Dec 1: can get pregnant C, F, D, E, G, A; cannot: B, K, J.
    assert r.active_patients == {"can_get_pregnant": 6, "cannot_get_pregnant": 3}
    assert r.new_enrollments == {"can_get_pregnant": 0, "cannot_get_pregnant": 1}  # B
    # Issued C (expired unused), B and A (dispensed), K (reversed).
    assert r.authorizations == {"issued": 4, "dispensed": 2, "reversed": 1,
                                "expired_unused": 1, "open": 0}
    assert r.missed_windows == {"can_get_pregnant": 1, "cannot_get_pregnant": 0}
    assert r.dispenses == 2
    assert r.monthly == {"2026-12": {"enrollments": 1, "authorizations": 4, "dispenses": 2}}


def test_refusals_by_reason_and_who(ctx: Context, history) -> None:  # type: ignore[no-untyped-def]
    r = report_for(ctx, history["admin"])
    # B's marking on Dec 3 (not counseled); C at the counter on Dec 8 (the window closed).
    assert r.refusal_events == {"authorization.refused": 1, "dispense.refused": 1}
    assert r.refusals == {"COUNSELING_MISSING": {"authorization.refused": 1},
                          "AUTHORIZATION_EXPIRED": {"dispense.refused": 1}}
    assert r.patients_refused == {"COUNSELING_MISSING": 1, "AUTHORIZATION_EXPIRED": 1}
    assert r.lockouts == 0  # no lockout under ipledge-2026
    doc = next(p for p in r.prescribers if p.id == history["doc"].id)
    assert (doc.issued, doc.dispensed, doc.reversed, doc.expired_unused, doc.open,
            doc.marking_refusals) == (4, 2, 1, 1, 0, 1)
    home = next(p for p in r.pharmacies if p.id == history["home"].id)
    assert (home.dispenses, home.counter_refusals, home.mean_days_to_dispense) == (2, 1, 2.0)
    assert home.standing == "active"


def test_days_delays_comprehension_and_registry(ctx: Context, history) -> None:  # type: ignore[no-untyped-def]
    r = report_for(ctx, history["admin"])
    # Confirmation to authorization: C Nov 30 -> Dec 3 (3 days), A Dec 9 -> Dec 10 (1 day).
    assert r.test_to_authorization_days == {3: 1, 1: 1}
    assert r.median_test_to_authorization == 2.0
    # Authorization to dispense: B 1 day, A 3 days.
    assert r.median_authorization_to_dispense == 2.0
    # Prescription written to dispense: B Dec 3 -> 5, A Dec 10 -> 13.
    assert r.delay_histogram["2 days"] == 1 and r.delay_histogram["3 days"] == 1
    assert sum(r.delay_histogram.values()) == 2
    # B's prescription was refused once before it was authorized: one of two fills delayed.
    assert (r.delayed_fills, r.delayed_share) == (1, 0.5)
    # First tries: C (Dec 1, passed), F (Dec 5, failed), A (Dec 10, passed); F's second
    # attempt on Dec 6 follows a failure.
    assert (r.comprehension_first_tries, r.comprehension_first_try_passes) == (3, 2)
    # Positive tests in the period: D (not reported) and G (reported); E's is older.
    assert (r.positive_tests, r.positive_tests_unreported) == (2, 1)
    assert r.registry_reports_outstanding == 2  # D and E
    assert r.prescribers_lapsed == 1
    assert (r.pharmacies_lapsed, r.pharmacies_due) == (1, 1)


def test_a_shorter_period_counts_only_its_days(ctx: Context, history) -> None:  # type: ignore[no-untyped-def]
    r = report_for(ctx, history["admin"], day(4), day(6))
    # Issued B (Dec 4) and K (Dec 6); dispensed B (Dec 5); no enrollment (B signed Dec 2).
    assert r.authorizations["issued"] == 2 and r.dispenses == 1
    assert r.new_enrollments == {"can_get_pregnant": 0, "cannot_get_pregnant": 0}
    assert r.refusal_events == {"authorization.refused": 0, "dispense.refused": 0}
    # F's failed attempt on Dec 5 is a first try; the pass on Dec 6 is not.
    assert (r.comprehension_first_tries, r.comprehension_first_try_passes) == (1, 0)


def test_only_admins_and_auditors_read_it(ctx: Context, history) -> None:  # type: ignore[no-untyped-def]
    auditor = b.auditor(ctx)
    assert build_report(b.as_user(ctx, auditor), Period(day(1), day(15))).dispenses == 2
    with pytest.raises(Forbidden):
        build_report(b.as_user(ctx, history["doc"]), Period(day(1), day(15)))


def test_the_period_is_checked_and_a_rule_set_clips_it(ctx: Context, clock: Clock) -> None:
    # ipledge-2026 is in force from Nov 15, 2026 in the tests.
    assert choose_period(ctx, date(2026, 10, 1), TODAY, "ipledge-2026") == Period(
        date(2026, 11, 15), TODAY, "ipledge-2026")
    assert choose_period(ctx, date(2026, 10, 1), TODAY, "ipledge-2023") == Period(
        date(2026, 10, 1), date(2026, 11, 14), "ipledge-2023")
    default = choose_period(ctx, None, None)
    assert default.last == TODAY and default.first == date(2026, 1, 1)
    for first, last, rule_set, field in [
        (day(10), day(9), None, "from"),
        (day(1), TODAY + timedelta(days=1), None, "to"),
        (date(2018, 1, 1), TODAY, None, "from"),  # before the first rule set
        (day(1), TODAY, "ipledge-1999", "rule_set"),
        (date(2022, 1, 1), date(2022, 12, 31), "ipledge-2026", "rule_set"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            choose_period(ctx, first, last, rule_set)
        assert field in refused.value.errors, (first, last, rule_set)
    clock.set_day(date(2030, 1, 1))
    with pytest.raises(ValidationFailed) as refused:
        choose_period(ctx, date(2022, 1, 1), date(2029, 6, 30))
    assert refused.value.errors["from"] == ["A period is at most seven years long."]


def test_a_fill_that_needed_a_second_authorization_is_delayed(ctx: Context,
                                                              clock: Clock) -> None:
    admin, d = b.admin(ctx), b.as_user(ctx, b.prescriber(ctx))
    home = b.pharmacy(ctx, TODAY - timedelta(days=100), TODAY - timedelta(days=100))
    counter = b.as_user(ctx, b.pharmacist(ctx, home))
    clock.set_day(day(4))
    fills = []
    for name in ("Once", "Twice"):
        patient = b.enrolled_patient(d, "cannot_get_pregnant", signed_on=day(4) - timedelta(60),
                                     first=name, last="Fill")
        records.record_counseling(d, patient.id, day(4))
        rx = b.prescription(d, patient.id)
        fills.append((rx, authorizations.authorize(d, rx.id, signature=SIGNED)))
    # Twice's first authorization is reversed, a second one issued: its fill needed two.
    rx, first = fills[1]
    authorizations.reverse(d, first.number, "Wrong quantity")
    fills[1] = (rx, authorizations.authorize(d, rx.id, signature=SIGNED))
    clock.set_day(day(5))
    for rx, auth in fills:
        dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    clock.set_day(TODAY)
    r = report_for(ctx, admin)
    assert (r.dispenses, r.delayed_fills, r.authorizations["reversed"]) == (2, 1, 1)
