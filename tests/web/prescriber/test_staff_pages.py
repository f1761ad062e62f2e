"""The pages as office staff use them: the prescriber's patients, with every signed act left to
the prescriber ("waits for Dr … to sign"), a prescriber choice when they work for several; and
the prescriber's list of their staff in Settings, where the prescriber ends a staff member's
work for them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import login, post_form, shown_again
from tests.web.prescriber.conftest import events, page, text_of
from tracker.models import Patient, User
from tracker.services.context import Context


def _as_staff(client: FlaskClient, ctx: Context, *works_for: User) -> User:
    staff = builders.staff(ctx, *works_for)
    login(client, staff.email, builders.PASSWORD)
    return staff


def test_staff_see_the_signed_acts_wait_for_the_prescriber(client: FlaskClient, ctx: Context,
                                                           doctor: User, doc: Context) -> None:
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    _as_staff(client, ctx, doctor)
    html = page(client, f"/patients/{patient.id}")
    assert f"/patients/{patient.id}/acknowledgment\"" not in html
    assert f"/patients/{patient.id}/counseling/new\"" not in html
    assert f"/patients/{patient.id}/pregnancy-tests/new" in html
    shown = text_of(html)
    assert "Waits for Dr Dana Derm to sign." in shown
    rx_html = page(client, f"/prescriptions/{rx.id}")
    assert f"/prescriptions/{rx.id}/authorize" not in rx_html
    assert "Ready for Dr Dana Derm to sign." in text_of(rx_html)
    assert client.get(f"/patients/{patient.id}/acknowledgment").status_code == 403
    worklist = text_of(page(client, "/worklist"))
    assert "Waits for Dr Dana Derm to sign." in worklist


def test_staff_of_several_prescribers_choose_one(client: FlaskClient, ctx: Context,
                                                 doctor: User, db: Session) -> None:
    second = builders.prescriber(ctx, name="Second Doc")
    _as_staff(client, ctx, doctor, second)
    form = page(client, "/patients/new")
    assert "Choose the prescriber" in form
    response = post_form(client, "/patients/new", {
        "first_name": "Alex", "last_name": "Rivera", "date_of_birth": "1995-04-02",
        "category": "cannot_get_pregnant", "prescriber_npi": second.npi or ""})
    assert response.status_code == 302
    patient = db.query(Patient).filter_by(last_name="Rivera").one()
    assert patient.prescriber_id == second.id
    worklist = page(client, f"/worklist?prescriber={second.id}")
    assert "Rivera, Alex" in worklist and "Every prescriber you work for" in worklist
    assert "Rivera, Alex" not in page(client, f"/worklist?prescriber={doctor.id}")


def test_a_prescriber_sees_and_ends_their_staff(browser: FlaskClient, ctx: Context,
                                                doctor: User, db: Session) -> None:
    staff = builders.staff(ctx, doctor, name="Sam Staff")
    settings = text_of(page(browser, "/settings"))
    assert "Sam Staff" in settings and staff.email in settings
    response = post_form(browser, f"/settings/staff/{staff.id}/end", {},
                         page_url="/settings")
    assert response.status_code == 302
    assert "No staff work for you." in text_of(page(browser, "/settings"))
    assert len(events(db, "staff.work_ended")) == 1


def test_an_administrator_creates_staff_for_a_prescriber(client: FlaskClient, ctx: Context,
                                                         doctor: User) -> None:
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    response = post_form(client, "/admin/users/new", {
        "role": "staff", "name": "Nora Nurse", "email": "nora@example.test",
        "works_for": doctor.email}, page_url="/admin/users/new")
    assert response.status_code == 200
    assert "nora@example.test" in response.get_data(as_text=True)
    refused = post_form(client, "/admin/users/new", {
        "role": "staff", "name": "Nick Nurse", "email": "nick@example.test",
        "works_for": "ghost@example.test"}, page_url="/admin/users/new")
    shown = shown_again(client, refused, "/admin/users/new").get_data(as_text=True)
    assert "No prescriber has the email ghost@example.test." in shown
    assert "nick@example.test" in shown  # what was typed is filled in
