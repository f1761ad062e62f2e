"""Post/Redirect/Get for forms that are not accepted, in every area (the prescriber's, office
staff's, the pharmacy counter's, the administrator's): the POST answers 303 to the page of the
form, whose GET shows what was typed and the messages in human words, once; nothing is stored,
no password is kept, and nothing typed travels to the browser (it is kept server-side)."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.conftest import login, post_form, shown_again
from tracker.models import Dispense, Patient, PregnancyTest, User
from tracker.services import authorizations
from tracker.services.context import Context


def _errors(page: str) -> list[str]:
    return [html.unescape(" ".join(m.split()))
            for m in re.findall(r'<p class="error"[^>]*>(.*?)</p>', page, flags=re.S)]


def _count(ctx: Context, model: type) -> int:
    ctx.session.expire_all()
    return int(ctx.session.scalar(select(func.count()).select_from(model)) or 0)


def _cookies(client: FlaskClient) -> str:
    return " ".join(c.value for c in client._cookies.values())  # type: ignore[attr-defined]


def test_a_prescriber_form_comes_back_by_get_with_the_values_and_the_messages_once(
        client: FlaskClient, ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    login(client, doc.email, builders.PASSWORD)
    sent = post_form(client, "/patients/new", {
        "first_name": "Marisol", "last_name": "Quintero", "date_of_birth": "2099-01-01",
        "category": ""})
    page = shown_again(client, sent, "/patients/new").get_data(as_text=True)
    assert 'value="Marisol"' in page and 'value="Quintero"' in page
    assert 'value="2099-01-01"' in page
    assert _errors(page) == ["The birth date cannot be in the future.",
                             "Choose whether the patient can or cannot get pregnant."]
    assert _count(ctx, Patient) == 0
    assert "Quintero" not in _cookies(client)
    # Shown once: opening the page again shows the empty form (Reload never sends anything).
    again = client.get("/patients/new").get_data(as_text=True)
    assert "Quintero" not in again and _errors(again) == []


def test_a_staff_record_form_comes_back_with_what_was_typed(client: FlaskClient,
                                                           ctx: Context) -> None:
    doctor = builders.prescriber(ctx)
    patient = builders.enrolled_patient(builders.as_user(ctx, doctor))
    staff = builders.staff(ctx, doctor)
    login(client, staff.email, builders.PASSWORD)
    url = f"/patients/{patient.id}/pregnancy-tests/new"
    sent = post_form(client, url, {"collected_on": "2026-12-14", "setting": "office"})
    page = shown_again(client, sent, url).get_data(as_text=True)
    assert 'value="2026-12-14"' in page
    assert re.search(r'value="office"[^>]*checked|checked[^>]*value="office"', page)
    assert _errors(page) == ["The result is negative or positive."]
    assert _count(ctx, PregnancyTest) == 0


def test_a_wrong_witness_password_is_never_kept_for_the_form_shown_again(
        client: FlaskClient, ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    patient = builders.patient(builders.as_user(ctx, doc))
    login(client, doc.email, builders.PASSWORD)
    url = f"/patients/{patient.id}/acknowledgment"
    sent = post_form(client, url, {"signed_on": "2026-12-15",
                                   "patient_signature": "Alex Rivera", "understood": "y",
                                   "witness_password": "a wrong guess 123"})
    page = shown_again(client, sent, url).get_data(as_text=True)
    assert 'value="Alex Rivera"' in page
    assert "a wrong guess 123" not in page
    assert _errors(page) == ["That is not your password; the signature was not recorded."]


def test_a_pharmacy_dispense_form_comes_back_on_the_status_page(client: FlaskClient,
                                                                ctx: Context) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=builders.SIGNED)
    pharmacist = builders.pharmacist(ctx)
    login(client, pharmacist.email, builders.PASSWORD)
    status = post_form(client, "/pharmacy", {"authorization_number": auth.number,
                                             "date_of_birth": "1995-04-02"})
    assert status.status_code == 303
    result = status.headers["Location"]
    sent = post_form(client, "/pharmacy/dispense", {
        "authorization_number": auth.number, "date_of_birth": "1995-04-02",
        "quantity": "sixty", "days_supply": "30"}, page_url=result)
    page = shown_again(client, sent, "/pharmacy/result/*").get_data(as_text=True)
    assert 'value="sixty"' in page
    assert _errors(page) == ["Give a whole number."]
    assert _count(ctx, Dispense) == 0


def test_an_admin_form_comes_back_with_the_values_and_the_messages(client: FlaskClient,
                                                                   ctx: Context) -> None:
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    before = _count(ctx, User)
    sent = post_form(client, "/admin/users/new", {
        "role": "prescriber", "name": "Ola Nwosu", "email": "ola@example.test", "npi": "123"})
    page = shown_again(client, sent, "/admin/users/new").get_data(as_text=True)
    assert 'value="Ola Nwosu"' in page and 'value="ola@example.test"' in page
    assert any("NPI" in message for message in _errors(page)), _errors(page)
    assert _count(ctx, User) == before


def test_the_page_a_form_was_sent_back_to_fills_in_only_that_form(client: FlaskClient,
                                                                  ctx: Context) -> None:
    admin = builders.admin(ctx)
    staff = builders.staff(ctx, builders.prescriber(ctx))
    login(client, admin.email, builders.PASSWORD)
    url = f"/admin/users/{staff.id}"
    sent = post_form(client, f"{url}/works-for", {"works_for": "ghost@example.test"},
                     page_url=url)
    page = shown_again(client, sent, url).get_data(as_text=True)
    assert _errors(page) == ["No prescriber has the email ghost@example.test."]
    # The deactivation form on the same page is left as it was.
    assert page.count("ghost@example.test") == 2  # the typed value and the message


def test_what_was_kept_is_dropped_when_another_page_is_opened_first(client: FlaskClient,
                                                                    ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    login(client, doc.email, builders.PASSWORD)
    sent = post_form(client, "/patients/new", {"first_name": "Marisol", "last_name": "",
                                               "date_of_birth": "", "category": ""})
    assert sent.status_code == 303
    assert client.get("/worklist").status_code == 200
    later = client.get("/patients/new").get_data(as_text=True)
    assert "Marisol" not in later and _errors(later) == []
