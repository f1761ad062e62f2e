"""The patient's email address, reminder language and opt-out: entered by the prescriber or
their office staff on the patient's page and through PATCH /api/v1/patients/{id}; validated
(a bad address stores nothing), and every change audited with the old and new values."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import login, post_form
from tracker.models import AuditEvent, Patient
from tracker.services.context import Context


def _events(ctx: Context, patient_id: int) -> list[AuditEvent]:
    return list(ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.patient_id == patient_id,
        AuditEvent.action == "patient.reminders_changed").order_by(AuditEvent.id)))


def _reload(ctx: Context, patient_id: int) -> Patient:
    patient = ctx.session.get(Patient, patient_id, populate_existing=True)
    assert patient is not None
    return patient


def test_staff_enter_the_address_and_language_on_the_patient_page(
        ctx: Context, client: FlaskClient) -> None:
    doc = builders.prescriber(ctx)
    staff = builders.staff(ctx, doc)
    p = builders.patient(builders.as_user(ctx, doc))
    login(client, staff.email, builders.PASSWORD)
    url = f"/patients/{p.id}/reminders"
    assert "Reminders" in client.get(f"/patients/{p.id}").get_data(as_text=True)
    response = post_form(client, url, {"email": " alex@example.org ", "language": "es"})
    assert response.status_code == 302
    patient = _reload(ctx, p.id)
    assert (patient.email, patient.language, patient.reminders_opted_out) == (
        "alex@example.org", "es", False)
    [event] = _events(ctx, p.id)
    assert event.actor_id == staff.id
    assert json.loads(event.old_values or "{}") == {"email": None, "language": "en"}
    assert json.loads(event.new_values or "{}") == {"email": "alex@example.org",
                                                    "language": "es"}
    response = post_form(client, url, {"email": "alex@example.org", "language": "es",
                                       "opted_out": "y"})
    assert response.status_code == 302
    assert _reload(ctx, p.id).reminders_opted_out is True
    assert json.loads(_events(ctx, p.id)[-1].new_values or "{}") == {
        "reminders_opted_out": True}


def test_a_bad_address_is_named_and_nothing_is_stored(ctx: Context,
                                                      client: FlaskClient) -> None:
    doc = builders.prescriber(ctx)
    p = builders.patient(builders.as_user(ctx, doc))
    login(client, doc.email, builders.PASSWORD)
    response = post_form(client, f"/patients/{p.id}/reminders",
                         {"email": "not an address", "language": "fr"})
    assert response.status_code == 303  # shown again by a GET (Post/Redirect/Get)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "not an address" in page
    assert "Enter a valid email address" in page
    assert "en (English) or es (Spanish)" in page
    patient = _reload(ctx, p.id)
    assert (patient.email, patient.language) == (None, "en")
    assert _events(ctx, p.id) == []


def test_the_api_changes_the_reminder_settings_alone_or_with_the_category(
        ctx: Context, api) -> None:  # type: ignore[no-untyped-def]
    doc = builders.prescriber(ctx)
    staff = builders.staff(ctx, doc)
    p = builders.patient(builders.as_user(ctx, doc))
    as_staff = api(ctx, staff)
    answer = as_staff.patch(f"/patients/{p.id}", json={"email": "alex@example.org",
                                                       "language": "es"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["email"], body["language"], body["reminders_opted_out"]) == (
        "alex@example.org", "es", False)
    assert body["category"] == "can_get_pregnant"
    answer = as_staff.patch(f"/patients/{p.id}", json={"email": None,
                                                       "reminders_opted_out": True})
    assert answer.status_code == 200
    assert (answer.get_json()["email"], answer.get_json()["reminders_opted_out"]) == (
        None, True)
    assert len(_events(ctx, p.id)) == 2


def test_the_api_refuses_a_bad_address_an_unknown_language_and_an_empty_change(
        ctx: Context, api) -> None:  # type: ignore[no-untyped-def]
    doc = builders.prescriber(ctx)
    p = builders.patient(builders.as_user(ctx, doc))
    as_doc = api(ctx, doc)
    for body, field in (({"email": "nope"}, "email"), ({"language": "fr"}, "language"),
                        ({}, "body"), ({"reason": "why"}, "reason"),
                        ({"reason": "why", "email": "a@example.org"}, "reason"),
                        ({"email": "a@example.org", "category": "cannot_get_pregnant",
                          "language": "xx"}, "language")):
        answer = as_doc.patch(f"/patients/{p.id}", json=body)
        assert answer.status_code == 422, body
        assert field in answer.get_json()["errors"], (body, answer.get_json())
    patient = _reload(ctx, p.id)
    assert (patient.email, patient.language, patient.category) == (
        None, "en", "can_get_pregnant")
    assert _events(ctx, p.id) == []


def test_another_prescribers_staff_cannot_see_or_change_it(ctx: Context, api) -> None:  # type: ignore[no-untyped-def]
    doc, other = builders.prescriber(ctx), builders.prescriber(ctx, name="Other Doc")
    p = builders.patient(builders.as_user(ctx, doc))
    answer = api(ctx, builders.staff(ctx, other)).patch(f"/patients/{p.id}",
                                                        json={"email": "x@example.org"})
    assert answer.status_code == 404
    assert _reload(ctx, p.id).email is None
