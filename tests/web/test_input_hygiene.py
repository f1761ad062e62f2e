"""Text with control characters is refused with a message, never stored, never a 500 (NUL bytes
are refused by PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import login, post_form, shown_again
from tracker.models import Patient
from tracker.services import authorizations, patients, pharmacies, users
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed


@pytest.mark.parametrize(("first", "last", "message", "sent_back"), [
    # A NUL byte is refused before any form is read; the form is not shown again.
    ("Al\x00ex", "Rivera", "control characters", False),
    # The form is sent back to its page (Post/Redirect/Get) with the message on the field.
    ("Alex", "Riv\u202eare", "formatting characters", True),
])
def test_form_with_a_bad_character_in_a_name_is_refused_and_stores_nothing(
        client: FlaskClient, ctx: Context, first: str, last: str, message: str,
        sent_back: bool) -> None:
    doc = builders.prescriber(ctx)
    login(client, doc.email, builders.PASSWORD)
    response = post_form(client, "/patients/new", {
        "first_name": first, "last_name": last, "date_of_birth": "1995-04-02",
        "category": "can_get_pregnant"})
    if sent_back:
        response = shown_again(client, response, "/patients/new")
    else:
        assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert ctx.session.scalar(select(func.count()).select_from(Patient)) == 0


@pytest.mark.parametrize("bad", ["Al\x00ex", "Al\x1bex", "Al\x07ex", "Al\ud800ex"])
def test_services_refuse_control_characters_in_names(ctx: Context, bad: str) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    with pytest.raises(ValidationFailed) as invalid:
        patients.register_patient(doc, bad, "Rivera", date(1995, 4, 2), "can_get_pregnant")
    assert "first_name" in invalid.value.errors
    with pytest.raises(ValidationFailed):
        pharmacies.create_pharmacy(ctx, "Phar\x00macy", "7654321")


def test_reasons_may_span_lines_but_not_hold_nul(ctx: Context) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    with pytest.raises(ValidationFailed):
        authorizations.reverse(doc, auth.number, "wrong\x00patient")
    assert authorizations.reverse(doc, auth.number, "wrong patient\nre-entered").status == (
        "pending")


FORMAT_CHARACTERS = ["Al\u202eex", "Al\u200bex", "Al\u200dex", "Al\u2066ex", "Al\ufeffex"]


@pytest.mark.parametrize("bad", FORMAT_CHARACTERS)
def test_names_refuse_invisible_format_characters(ctx: Context, bad: str) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    with pytest.raises(ValidationFailed) as invalid:
        patients.register_patient(doc, "Alex", bad, date(1995, 4, 2), "can_get_pregnant")
    assert "formatting characters" in invalid.value.errors["last_name"][0]
    with pytest.raises(ValidationFailed) as invalid:
        users.create_user(ctx, role="prescriber", email="bidi@example.test", name=bad,
                           password=builders.PASSWORD, npi="1234567893")
    assert "formatting characters" in invalid.value.errors["name"][0]


@pytest.mark.parametrize("field", ["patient_signature", "guardian_signature"])
def test_signatures_refuse_invisible_format_characters(ctx: Context, field: str) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    minor = builders.patient(doc, born=date(2012, 1, 1))
    signed = {"patient_signature": f"{minor.first_name} {minor.last_name}",
              "guardian_signature": "Sam Rivera", "guardian_relationship": "mother",
              field: "Alex\u202e Rivera"}
    with pytest.raises(ValidationFailed) as invalid:
        patients.record_acknowledgment(doc, minor.id, doc.today(), **signed, witness=SIGNED)
    assert "formatting characters" in invalid.value.errors[field][0]


def test_api_refuses_a_zero_width_space_in_a_name(ctx: Context, api) -> None:  # type: ignore[no-untyped-def]
    doc = builders.prescriber(ctx)
    response = api(ctx, doc).post("/patients", json={
        "first_name": "Al\u200bex", "last_name": "Rivera", "date_of_birth": "1995-04-02",
        "category": "can_get_pregnant"})
    assert response.status_code == 422
    assert "formatting characters" in str(response.get_json())
