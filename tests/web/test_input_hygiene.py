"""Text with control characters is refused with a message, never stored, never a 500 (NUL bytes
are refused by PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import login, post_form
from tracker.models import Patient
from tracker.services import authorizations, patients, pharmacies
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed


def test_form_with_a_nul_byte_is_refused_and_stores_nothing(client: FlaskClient,
                                                            ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    login(client, doc.email, builders.PASSWORD)
    response = post_form(client, "/patients/new", {
        "first_name": "Al\x00ex", "last_name": "Rivera", "date_of_birth": "1995-04-02",
        "category": "can_get_pregnant"})
    assert response.status_code == 422
    assert "control characters" in response.get_data(as_text=True)
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
