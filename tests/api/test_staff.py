"""Office staff on the API: they register the patients of the prescriber they work for, naming
the prescriber by NPI when they work for several (API.md: 422 when it is needed and missing or
not theirs), and their token never signs."""

from __future__ import annotations

from flask import Flask

from tests import builders as b
from tests.api.scenarios import World, build_world
from tracker.models import Patient
from tracker.services import tokens
from tracker.services.context import Context

NEW = {"first_name": "Dana", "last_name": "Lee", "date_of_birth": "2001-02-03",
       "category": "can_get_pregnant"}


def test_staff_of_several_prescribers_name_the_prescriber(app: Flask, ctx: Context) -> None:
    w: World = build_world(app, ctx)
    staff = b.staff(ctx, w.prescriber, w.other_prescriber)
    outsider = b.prescriber(ctx, name="Not Theirs")
    token = tokens.create_token(ctx, staff)
    client = app.test_client()
    headers = {"Authorization": "Bearer " + token}

    missing = client.post("/api/v1/patients", json=NEW, headers=headers)
    assert missing.status_code == 422 and "prescriber_npi" in missing.get_json()["errors"]
    not_theirs = client.post("/api/v1/patients", json={**NEW, "prescriber_npi": outsider.npi},
                             headers=headers)
    assert not_theirs.status_code == 422
    made = client.post("/api/v1/patients",
                       json={**NEW, "prescriber_npi": w.other_prescriber.npi}, headers=headers)
    assert made.status_code == 201, made.get_data(as_text=True)
    patient = ctx.session.get(Patient, made.get_json()["id"])
    assert patient is not None and patient.prescriber_id == w.other_prescriber.id
    assert made.get_json()["program_number"] == patient.program_number
