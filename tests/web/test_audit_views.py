"""The audit trail for admins: per patient and per user, integrity shown, exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import login
from tracker.models import Authorization, Prescription
from tracker.services import authorizations, records
from tracker.services.context import Context
from tracker.services.queries import audit_events
from tracker.web import audit_views
from tracker.web.audit_words import action_label
from tracker.web.formatting import written_date, written_time


@pytest.fixture
def story(ctx: Context):  # type: ignore[no-untyped-def]
    doc_user = builders.prescriber(ctx)
    doc = builders.as_user(ctx, doc_user)
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    authorizations.authorize(doc, rx.id, signature=SIGNED)
    return doc_user, patient


def test_admin_sees_who_did_what_to_a_patient_and_that_it_verifies(
    client: FlaskClient, ctx: Context, story  # type: ignore[no-untyped-def]
) -> None:
    doc_user, patient = story
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    page = client.get(f"/audit/patients/{patient.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Patient registered" in text and "Marked dispensable (authorization issued)" in text
    assert "patient.registered" not in text
    assert doc_user.name in text
    assert "The audit chain verifies" in text
    assert "signature verifies" in text and "DOES NOT" not in text
    assert page.headers["Cache-Control"] == "no-store"


def test_trail_of_a_user_lists_their_actions(client: FlaskClient, ctx: Context,
                                             story) -> None:  # type: ignore[no-untyped-def]
    doc_user, _ = story
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    text = client.get(f"/audit/users/{doc_user.id}").get_data(as_text=True)
    assert "Pregnancy test recorded" in text and "Signed in" not in text


def test_exports_hold_every_event_of_the_patient(client: FlaskClient, ctx: Context,
                                                 story) -> None:  # type: ignore[no-untyped-def]
    _, patient = story
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    as_json = client.get(f"/audit/patients/{patient.id}/export.json").get_json()
    as_csv = list(csv.DictReader(io.StringIO(
        client.get(f"/audit/patients/{patient.id}/export.csv").get_data(as_text=True))))
    assert len(as_json) == len(as_csv) >= 7
    assert all(row["patient_id"] == patient.id for row in as_json)
    assert {row["action"] for row in as_csv} >= {"patient.registered", "authorization.issued"}


@pytest.mark.parametrize("role", ["prescriber", "pharmacist"])
def test_only_admins_read_the_audit_trail(client: FlaskClient, ctx: Context, story,  # type: ignore[no-untyped-def]
                                          role: str) -> None:
    _, patient = story
    user = builders.prescriber(ctx) if role == "prescriber" else builders.pharmacist(ctx)
    login(client, user.email, builders.PASSWORD)
    assert client.get(f"/audit/patients/{patient.id}").status_code == 403
    assert client.get(f"/audit/patients/{patient.id}/export.csv").status_code == 403


def test_unknown_patient_is_404(client: FlaskClient, ctx: Context) -> None:
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    assert client.get("/audit/patients/999999").status_code == 404
    assert client.get("/audit/things/1").status_code == 404


def test_long_trail_is_paged_with_the_common_pager(
    client: FlaskClient, ctx: Context, story, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    _, patient = story
    monkeypatch.setattr("tracker.web.audit_views.PER_PAGE", 3)
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    first = client.get(f"/audit/patients/{patient.id}").get_data(as_text=True)
    assert "Page 1 of " in first
    assert f'href="/audit/patients/{patient.id}?page=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = client.get(f"/audit/patients/{patient.id}?page=2").get_data(as_text=True)
    assert f'href="/audit/patients/{patient.id}?page=1" rel="prev"' in second


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_export_writes_formula_starts_as_text(client: FlaskClient, ctx: Context,
                                                 story, start: str) -> None:  # type: ignore[no-untyped-def]
    doc_user, patient = story
    doc = builders.as_user(ctx, doc_user)
    first = records.record_counseling(doc, patient.id, doc.today())
    records.record_counseling(doc, patient.id, doc.today(), corrects_id=first.id,
                              reason=start + 'HYPERLINK("http://x.test")')
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/audit/patients/{patient.id}/export.csv").get_data(as_text=True))))
    reasons = [row["reason"] for row in rows if row["reason"]]
    assert reasons == ["'" + start + 'HYPERLINK("http://x.test")']


@pytest.mark.parametrize("start", ["\t", "\r"])
def test_csv_export_escapes_a_leading_tab_or_carriage_return(start: str) -> None:
    # Services strip leading whitespace from reasons today; the export does not rely on it.
    row = dict.fromkeys(audit_events.EXPORT_FIELDS, "")
    row["reason"] = start + "=1+1"
    exported = list(csv.DictReader(io.StringIO("".join(audit_views._csv([row])))))
    assert exported[0]["reason"] == "'" + start + "=1+1"


@pytest.fixture
def reader(client: FlaskClient, ctx: Context) -> Context:
    """An admin, signed in with `client`, and acting as such for the queries."""
    admin = builders.admin(ctx)
    login(client, admin.email, builders.PASSWORD)
    return builders.as_user(ctx, admin)  # type: ignore[no-any-return]


def test_the_trail_writes_changes_and_times_for_people(
    client: FlaskClient, reader: Context, story  # type: ignore[no-untyped-def]
) -> None:
    _, patient = story
    text = client.get(f"/audit/patients/{patient.id}").get_data(as_text=True)
    counseled = next(e for e in audit_events.all_events(reader, patient_id=patient.id)
                     if e.event.action == "counseling.recorded").event
    counseled_on = date.fromisoformat(json.loads(counseled.new_values or "{}")["counseled_on"])
    assert f"Counseled on: {written_date(counseled_on)}" in text
    assert "{&#34;" not in text and '{"' not in text
    assert written_time(counseled.occurred_at, "America/New_York") in text
    assert " ET" in text and "UTC" not in text


def test_action_names_are_words_even_for_one_not_listed() -> None:
    assert action_label("authorization.looked_up") == "Looked up at the counter"
    assert action_label("course.ended") == "Course ended"
    assert action_label("thing.done_again") == "Thing: done again"


def test_admin_search_finds_a_patient_by_name_or_number_and_opens_the_trail(
    client: FlaskClient, ctx: Context, reader: Context, story  # type: ignore[no-untyped-def]
) -> None:
    doc_user, patient = story
    other = builders.patient(builders.as_user(ctx, doc_user), first="Zed", last="Quill")
    rx = ctx.session.scalars(select(Prescription).where(
        Prescription.patient_id == patient.id)).one()
    auth = ctx.session.scalars(select(Authorization).where(
        Authorization.patient_id == patient.id)).one()
    trail = f"/audit/patients/{patient.id}"
    for query in (f"{patient.last_name}, {patient.first_name}", rx.number, auth.number,
                  patient.program_number):
        found = client.get("/audit/", query_string={"q": query})
        assert found.status_code == 302, query
        assert found.headers["Location"] == trail
    assert client.get("/audit/", query_string={"q": "Quill"}).headers["Location"] == (
        f"/audit/patients/{other.id}")
    nobody = client.get("/audit/", query_string={"q": "Nobody-By-This-Name"})
    assert nobody.status_code == 200
    assert "No patient matches" in nobody.get_data(as_text=True)


def test_only_admins_search_the_trail(client: FlaskClient, ctx: Context, story) -> None:  # type: ignore[no-untyped-def]
    _, patient = story
    login(client, builders.prescriber(ctx).email, builders.PASSWORD)
    assert client.get("/audit/", query_string={"q": patient.last_name}).status_code == 403
