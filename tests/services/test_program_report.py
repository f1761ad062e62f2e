"""The program report counts what happened, measure by measure: a small history built through
the services (as the app would store it), each number counted by hand in the comments."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests import builders as b
from tests.builders import ANSWERS, SIGNED
from tests.conftest import TODAY, Clock
from tracker.services import authorizations, dispenses, patients, prescriptions, records, users
from tracker.services.context import Context
from tracker.services.errors import Forbidden, Refused, ValidationFailed
from tracker.services.queries.program_report import Period, build_report, choose_period

DEC = date(2026, 12, 1)
METHODS = ["iud", "male_condom"]


def day(n: int) -> date:
    """December n, 2026 (ipledge-2026 is in force from November 15)."""
    return DEC.replace(day=n)


@pytest.fixture
def history(ctx: Context, clock: Clock):  # type: ignore[no-untyped-def]
    """December 1-15, 2026, at one prescriber's office and three pharmacies."""
    admin = b.admin(ctx)
    doc = b.prescriber(ctx)
    gone = b.prescriber(ctx, name="Gone Doc")
    users.deactivate_user(b.as_user(ctx, admin), gone.id, "Retired")  # lapsed prescriber
    home = b.pharmacy(ctx, TODAY - timedelta(days=100), TODAY - timedelta(days=100))
    b.pharmacy(ctx, TODAY - timedelta(days=400), TODAY - timedelta(days=400))  # lapsed
    b.pharmacy(ctx, TODAY - timedelta(days=350), TODAY - timedelta(days=350))  # due soon
    counter = b.as_user(ctx, b.pharmacist(ctx, home))
    d = b.as_user(ctx, doc)

    # C: can get pregnant, first fill ready on Dec 1 (confirmation test Nov 30), authorized on
    # Dec 3, never picked up: the window closed on Dec 6 (expired unused); the counter tries
    # it on Dec 8 and is refused.
    clock.set_day(day(1))
    c = b.ready_for_first_fill(d, first="Casey", last="Cole")
    c_rx = b.prescription(d, c.id)
    clock.set_day(day(3))
    c_auth = authorizations.authorize(d, c_rx.id, signature=SIGNED)
    clock.set_day(day(8))
    with pytest.raises(Refused):
        dispenses.dispense(counter, c_rx.id, c_auth.number, 30, 30, True)

    # B: cannot get pregnant, enrolled Dec 2 (the one new enrollment); marking refused on
    # Dec 3 (never counseled), counseled and authorized Dec 4, dispensed Dec 5.
    clock.set_day(day(2))
    b_patient = b.enrolled_patient(d, "cannot_get_pregnant", signed_on=day(2), first="Blake",
                                   last="Bell")
    clock.set_day(day(3))
    b_rx = b.prescription(d, b_patient.id)
    with pytest.raises(Refused):
        authorizations.authorize(d, b_rx.id, signature=SIGNED)
    clock.set_day(day(4))
    records.record_counseling(d, b_patient.id, day(4))
    b_auth = authorizations.authorize(d, b_rx.id, signature=SIGNED)
    clock.set_day(day(5))
    dispenses.dispense(counter, b_rx.id, b_auth.number, 30, 30, True)

    # F: fails the comprehension questions on Dec 5, passes on Dec 6.
    f = b.enrolled_patient(d, first="Frankie", last="Fox", signed_on=day(5) - timedelta(60))
    wrong = dict(ANSWERS, **{"share-ok": True})
    records.record_comprehension(d, f.id, day(5), wrong, METHODS, False)
    clock.set_day(day(6))
    records.record_comprehension(d, f.id, day(6), ANSWERS, METHODS, False)

    # K: cannot get pregnant, authorized Dec 6 and reversed Dec 7.
    k = b.enrolled_patient(d, "cannot_get_pregnant", signed_on=day(6) - timedelta(60),
                           first="Kai", last="King")
    records.record_counseling(d, k.id, day(6))
    k_auth = authorizations.authorize(d, b.prescription(d, k.id).id, signature=SIGNED)
    clock.set_day(day(7))
    authorizations.reverse(d, k_auth.number, "Not picked up")

    # D: a positive test on Dec 8 (not reported to the registry); E: one on Nov 20, before the
    # period (not reported either); G: one on Dec 9, reported.
    clock.set_day(day(9))
    dd = b.enrolled_patient(d, first="Dee", last="Dunn", signed_on=day(9) - timedelta(60))
    records.record_pregnancy_test(d, dd.id, day(8), "positive", "lab")
    e = b.enrolled_patient(d, first="Eli", last="East", signed_on=day(9) - timedelta(60))
    records.record_pregnancy_test(d, e.id, date(2026, 11, 20), "positive", "lab")
    g = b.enrolled_patient(d, first="Gil", last="Gray", signed_on=day(9) - timedelta(60))
    g_test = records.record_pregnancy_test(d, g.id, day(9), "positive", "lab")
    records.report_positive_test(d, g.id, g_test.id)

    # A: first fill ready on Dec 10 (confirmation test Dec 9), prescription written and
    # authorized Dec 10, dispensed Dec 13.
    clock.set_day(day(10))
    a = b.ready_for_first_fill(d, first="Avery", last="Ash")
    a_rx = prescriptions.write_prescription(d, a.id, day(10), 30, 30)
    a_auth = authorizations.authorize(d, a_rx.id, signature=SIGNED)
    clock.set_day(day(13))
    dispenses.dispense(counter, a_rx.id, a_auth.number, 30, 30, True)

    # H: course ended Nov 20, before the period (not active); J: course ended Dec 3 (active
    # in the period); I: registered, never enrolled (not active).
    h = b.enrolled_patient(d, "cannot_get_pregnant", signed_on=date(2026, 8, 1),
                           first="Hal", last="Hill")
    patients.end_course(d, h.id, date(2026, 11, 20))
    j = b.enrolled_patient(d, "cannot_get_pregnant", signed_on=date(2026, 8, 1),
                           first="Jo", last="Jay")
    patients.end_course(d, j.id, day(3))
    b.patient(d, first="Ivy", last="Ives")
    clock.set_day(TODAY)
    return {"doc": doc, "gone": gone, "home": home, "admin": admin}


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


def test_the_period_is_checked_and_a_rule_set_clips_it(ctx: Context) -> None:
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
        (date(2018, 1, 1), TODAY, None, "from"),
        (day(1), TODAY, "ipledge-1999", "rule_set"),
        (date(2022, 1, 1), date(2022, 12, 31), "ipledge-2026", "rule_set"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            choose_period(ctx, first, last, rule_set)
        assert field in refused.value.errors, (first, last, rule_set)
