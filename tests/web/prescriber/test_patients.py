"""Registering a patient, the patient's page (checklist, timeline, records with who entered
them), changing the category, ending a course and reporting a positive test to the registry."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests import builders
from tests.builders import SIGNED
from tests.conftest import login
from tests.web.prescriber.conftest import (
    SHOWN_AGAIN,
    errors_of,
    events,
    page,
    statements,
    submit,
    text_of,
)
from tracker.models import Acknowledgment, Patient, PregnancyTest
from tracker.services import authorizations, dispenses, patients, records
from tracker.services.context import Context

DAY = timedelta(days=1)


def _patients(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Patient)) or 0


def test_register_a_patient_then_go_to_the_acknowledgment(browser: FlaskClient, db: Session,
                                                          doctor) -> None:  # type: ignore[no-untyped-def]
    form = page(browser, "/patients/new")
    # RULES.md §3 criteria as help text.
    assert "bilateral oophorectomy" in form and "tubal ligation still counts" in form
    assert '<label for="first_name">First name</label>' in form
    location = submit(browser, "/patients/new",
                      {"first_name": " Maya ", "last_name": "Lopez", "date_of_birth": "1998-03-14",
                       "category": "can_get_pregnant"})
    stored = db.scalar(select(Patient).where(Patient.last_name == "Lopez"))
    assert stored is not None and stored.prescriber_id == doctor.id
    assert (stored.first_name, str(stored.date_of_birth)) == ("Maya", "1998-03-14")
    assert location.endswith(f"/patients/{stored.id}/acknowledgment")
    assert len(events(db, "patient.registered")) == 1
    assert "Maya Lopez is registered." in text_of(page(browser, location))


def test_registration_names_every_missing_field_and_stores_nothing(browser: FlaskClient,
                                                                   db: Session) -> None:
    before = _patients(db)
    answer = submit(browser, "/patients/new", {"first_name": "", "last_name": " ",
                                               "date_of_birth": "", "category": ""},
                    status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "Enter the first name.", "Enter the last name.", "Enter the birth date (YYYY-MM-DD).",
        "Choose whether the patient can or cannot get pregnant."]
    assert _patients(db) == before


def test_registration_refuses_a_birth_date_in_the_future_or_not_a_date(browser: FlaskClient,
                                                                        db: Session) -> None:
    data = {"first_name": "Al", "last_name": "Bo", "category": "cannot_get_pregnant"}
    future = submit(browser, "/patients/new", {**data, "date_of_birth": "2027-01-01"},
                    status=SHOWN_AGAIN)
    assert errors_of(future) == ["The birth date cannot be in the future."]
    garbled = submit(browser, "/patients/new", {**data, "date_of_birth": "14/03/1998"},
                     status=SHOWN_AGAIN)
    assert errors_of(garbled) == ["Enter a real date as YYYY-MM-DD or MM/DD/YYYY."]
    assert _patients(db) == 0


def test_patient_page_shows_checklist_timeline_and_who_entered_each_record(
    browser: FlaskClient, doc: Context
) -> None:
    p = builders.ready_for_first_fill(doc)
    builders.prescription(doc, p.id)
    html = page(browser, f"/patients/{p.id}")
    shown = text_of(html)
    assert "Every requirement is met today." in shown
    assert "This would be the first fill of the course." in shown
    assert "Negative screening test at least 19 days before the confirmation test Met " \
           "Negative office test collected Nov 5, 2026" in shown
    assert "Window: Dec 14, 2026 to Dec 20, 2026." in shown
    # The timeline: a server-side SVG, every mark titled.
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="group"' in html
    assert "<title>Negative pregnancy test (laboratory), collected Dec 14, 2026</title>" in html
    assert "<title>Test window: Dec 14, 2026 to Dec 20, 2026</title>" in html
    assert "style=" not in html  # the CSP forbids inline styles
    # Every record with who entered it and when (server time, program time zone).
    assert "Pregnancy test: negative Done at: CLIA-certified laboratory Dana Derm (prescriber) " \
           "Dec 15, 2026 at 12:00 PM ET" in shown
    assert "Registered: can get pregnant" in shown


def test_timeline_shows_authorizations_and_dispenses(browser: FlaskClient, ctx: Context,
                                                     doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    counter = builders.pharmacist(ctx)
    dispenses.dispense(builders.as_user(ctx, counter), rx.id, auth.number, 30, 30, True)
    html = page(browser, f"/patients/{p.id}")
    assert (f"<title>Authorization {auth.number} (dispensed), issued Dec 15, 2026, do not "
            f"dispense after Dec 20, 2026</title>") in html
    assert f"<title>Dispensed Dec 15, 2026 ({rx.number}, 30 days)</title>" in html


def test_records_and_prescriptions_on_the_patient_page_are_paged(browser: FlaskClient,
                                                                  doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    for n in range(30):
        records.record_counseling(doc, p.id, doc.today() - n * DAY)
    for _ in range(12):
        builders.prescription(doc, p.id)
    first = page(browser, f"/patients/{p.id}")
    assert "Page 1 of 2" in first
    assert f'href="/patients/{p.id}?rx_page=1&amp;records_page=2" rel="next"' in first
    assert f'href="/patients/{p.id}?records_page=1&amp;rx_page=2" rel="next"' in first
    second = text_of(page(browser, f"/patients/{p.id}?records_page=2"))
    # 30 counseling entries, the registration and the acknowledgment, 25 a page, newest
    # first: the 6 oldest counseling entries and the acknowledgment are on page 2.
    assert second.count("Counseling Dana Derm") == 6
    assert "Acknowledgment signed" in second


def test_change_of_category_asks_for_the_new_acknowledgment(browser: FlaskClient, db: Session,
                                                            doc: Context) -> None:
    p = builders.enrolled_patient(doc, "cannot_get_pregnant")
    location = submit(browser, f"/patients/{p.id}/category",
                      {"category": "can_get_pregnant", "reason": "Menopause not confirmed"})
    assert location.endswith(f"/patients/{p.id}/acknowledgment")
    ack_page = text_of(page(browser, location))
    assert "The category is changed." in ack_page
    assert "Isotretinoin and pregnancy: what I must know before treatment" in ack_page
    db.expire_all()
    assert db.get(Patient, p.id).category == "can_get_pregnant"  # type: ignore[union-attr]
    history = text_of(page(browser, f"/patients/{p.id}"))
    assert "Category changed: can get pregnant Reason: Menopause not confirmed" in history
    assert "Registered: cannot get pregnant" in history
    assert "Have the patient sign the acknowledgment for the category 'can get pregnant'" in (
        text_of(page(browser, "/worklist")))
    same = submit(browser, f"/patients/{p.id}/category", {"category": "can_get_pregnant"},
                  status=SHOWN_AGAIN)
    assert errors_of(same) == ["The patient already has this category."]
    none = submit(browser, f"/patients/{p.id}/category", {"reason": "x" * 501},
                  status=SHOWN_AGAIN)
    assert errors_of(none) == ["At most 500 characters."]
    unknown = submit(browser, f"/patients/{p.id}/category", {"category": "maybe"},
                     status=SHOWN_AGAIN)
    assert errors_of(unknown) == ["Choose whether the patient can or cannot get pregnant."]


def test_end_of_course_puts_the_post_treatment_test_on_the_worklist(browser: FlaskClient,
                                                                     doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    submit(browser, f"/patients/{p.id}/course-end", {"last_dose_on": "2026-12-10"})
    shown = text_of(page(browser, f"/patients/{p.id}"))
    assert "Ended: last dose Dec 10, 2026." in shown
    assert "Post-treatment pregnancy test due on Jan 9, 2027" in shown
    again = submit(browser, f"/patients/{p.id}/course-end", {"last_dose_on": "2026-12-11"},
                   status=SHOWN_AGAIN)
    assert errors_of(again) == ["The patient has no course under way."]


def test_end_of_course_refuses_a_future_date(browser: FlaskClient, doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    answer = submit(browser, f"/patients/{p.id}/course-end", {"last_dose_on": "2026-12-16"},
                    status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "The date Dec 16, 2026 is in the future; the latest accepted date is Dec 15, 2026."]
    assert patients.view(doc, p).enrolled


def test_positive_test_is_reported_to_the_registry(browser: FlaskClient, db: Session,
                                                   doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    test = records.record_pregnancy_test(doc, p.id, doc.today() - DAY, "positive", "lab")
    assert "Report the positive pregnancy test" in text_of(page(browser, "/worklist"))
    url = f"/patients/{p.id}/pregnancy-tests/{test.id}/report"
    location = submit(browser, url, {}, page_url=f"/patients/{p.id}")
    assert location.endswith(f"/patients/{p.id}")
    shown = text_of(page(browser, location))
    assert "Reported to the pregnancy registry by Dana Derm on Dec 15, 2026" in shown
    assert "Report the positive pregnancy test" not in text_of(page(browser, "/worklist"))
    db.expire_all()
    assert db.get(PregnancyTest, test.id).registry_reported_at is not None  # type: ignore[union-attr]
    assert len(events(db, "pregnancy_test.registry_reported")) == 1
    twice = submit(browser, url, {}, page_url=f"/patients/{p.id}", status=SHOWN_AGAIN)
    assert "This test has already been reported to the registry." in twice


def test_negative_test_cannot_be_reported(browser: FlaskClient, doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    test = records.record_pregnancy_test(doc, p.id, doc.today(), "negative", "lab")
    answer = submit(browser, f"/patients/{p.id}/pregnancy-tests/{test.id}/report", {},
                    page_url=f"/patients/{p.id}", status=SHOWN_AGAIN)
    assert "Only a positive pregnancy test is reported to the registry." in answer


def test_patient_page_costs_the_same_statements_however_long_the_history(
    browser: FlaskClient, ctx: Context, doc: Context, connection: Connection
) -> None:
    short = builders.ready_for_first_fill(doc)
    long = builders.ready_for_first_fill(doc, first="Lee", last="Long")
    counter = builders.as_user(ctx, builders.pharmacist(ctx))
    for n in range(6):
        records.record_counseling(doc, long.id, doc.today() - n * DAY)
        # Older than the screening test, so that the first fill is still possible.
        records.record_pregnancy_test(doc, long.id, doc.today() - (50 + n) * DAY, "positive",
                                      "home")
    rx = builders.prescription(doc, long.id)
    records.record_pregnancy_test(doc, long.id, doc.today(), "negative", "lab")
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    builders.prescription(doc, long.id)
    counts = []
    for p in (short, long):
        page(browser, f"/patients/{p.id}")
        with statements(connection) as seen:
            page(browser, f"/patients/{p.id}")
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


def test_the_patient_page_and_the_printed_acknowledgment_show_the_program_number(
    ctx: Context, client: FlaskClient
) -> None:
    doc_user = builders.prescriber(ctx)
    doc = builders.as_user(ctx, doc_user)
    patient = builders.enrolled_patient(doc)
    assert re.fullmatch(r"P-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}",
                        patient.program_number)
    login(client, doc_user.email, builders.PASSWORD)
    assert patient.program_number in client.get(f"/patients/{patient.id}").get_data(as_text=True)
    ack = ctx.session.scalars(select(Acknowledgment).where(
        Acknowledgment.patient_id == patient.id)).one()
    printed = client.get(f"/patients/{patient.id}/acknowledgments/{ack.id}")
    assert patient.program_number in printed.get_data(as_text=True)


def test_the_birth_date_takes_what_its_hint_says(browser: FlaskClient, db: Session) -> None:
    form = page(browser, "/patients/new")
    assert "Pick the date, or type it as YYYY-MM-DD or MM/DD/YYYY." in text_of(form)
    data = {"first_name": "Maya", "last_name": "Lopez", "category": "cannot_get_pregnant"}
    submit(browser, "/patients/new", {**data, "date_of_birth": "03/14/1998"}, status=302)
    stored = db.scalars(select(Patient).where(Patient.last_name == "Lopez")).one()
    assert str(stored.date_of_birth) == "1998-03-14"
    for typed in ("02/30/1998", "3/14/98", "1998/03/14"):
        answer = submit(browser, "/patients/new", {**data, "date_of_birth": typed},
                        status=SHOWN_AGAIN)
        assert errors_of(answer) == ["Enter a real date as YYYY-MM-DD or MM/DD/YYYY."]
