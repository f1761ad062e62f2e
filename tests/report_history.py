"""A small history for the program report's tests, built through the services (as the app
would store it): December 1-15, 2026, one prescriber's office, three pharmacies. The tests count
its numbers by hand from the comments here."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests import builders as b
from tests.builders import ANSWERS, SIGNED
from tests.conftest import TODAY, Clock
from tracker.services import authorizations, dispenses, patients, prescriptions, records, users
from tracker.services.context import Context
from tracker.services.errors import Refused

DEC = date(2026, 12, 1)
METHODS = ["iud", "male_condom"]


def day(n: int) -> date:
    """December n, 2026 (ipledge-2026 is in force from November 15)."""
    return DEC.replace(day=n)


def build_history(ctx: Context, clock: Clock) -> dict[str, Any]:
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
