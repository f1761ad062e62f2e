"""The pharmacy's dispense history: its own dispenses only, newest first, paged, with a period
filter and an audited CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock, csrf_token, login
from tracker.models import AuditEvent, Dispense, User
from tracker.services import authorizations, dispenses
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound
from tracker.services.queries import dispense_history


@pytest.fixture
def pharmacist(ctx: Context) -> User:
    """Staff of a pharmacy active since October, so that it may dispense on earlier days."""
    since = date(2026, 10, 1)
    return builders.pharmacist(ctx, builders.pharmacy(ctx, since, since))


def dispensed(doc: Context, counter: Context, last: str = "Rivera",
              first: str = "Alex") -> Dispense:
    """A patient authorized and dispensed today at the counter's pharmacy."""
    patient = builders.ready_for_first_fill(doc, last=last, first=first)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    return dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)


def test_history_lists_the_pharmacys_own_dispenses_newest_first_in_pages(
    ctx: Context, client: FlaskClient, pharmacist: User, clock: Clock
) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    counter = builders.as_user(ctx, pharmacist)
    other_counter = builders.as_user(ctx, builders.pharmacist(
        ctx, builders.pharmacy(ctx, date(2026, 10, 1), date(2026, 10, 1))))
    for n in range(26):
        clock.set_day(date(2026, 11, 1 + n))
        dispensed(doc, counter, last=f"Patient{n:02d}")
    clock.set_day(date(2026, 12, 15))
    elsewhere = dispensed(doc, other_counter, last="Elsewhere")
    login(client, pharmacist.email, builders.PASSWORD)
    first = client.get("/pharmacy/dispenses").get_data(as_text=True)
    assert "1–25 of 26" in first
    assert first.index("Patient25") < first.index("Patient24")
    assert "Patient00" not in first and "Elsewhere" not in first
    assert 'href="/pharmacy/dispenses?page=2"' in first
    second = client.get("/pharmacy/dispenses?page=2").get_data(as_text=True)
    assert "Patient00" in second and "Patient25" not in second
    assert client.get(f"/pharmacy/dispenses/{elsewhere.id}").status_code == 404


def test_history_can_be_limited_to_a_period(ctx: Context, client: FlaskClient,
                                            pharmacist: User, clock: Clock) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    counter = builders.as_user(ctx, pharmacist)
    for day, name in ((1, "Early"), (10, "Middle"), (20, "Late")):
        clock.set_day(date(2026, 11, day))
        dispensed(doc, counter, last=name)
    login(client, pharmacist.email, builders.PASSWORD)
    page = client.get("/pharmacy/dispenses?date_from=2026-11-05&date_to=2026-11-15") \
        .get_data(as_text=True)
    assert "Middle" in page and "Early" not in page and "Late" not in page
    backwards = client.get("/pharmacy/dispenses?date_from=2026-11-15&date_to=2026-11-05")
    assert backwards.status_code == 422
    assert "The end date cannot be before the start date." in backwards.get_data(as_text=True)
    garbled = client.get("/pharmacy/dispenses?date_from=soon")
    assert garbled.status_code == 422
    assert "Enter the date as YYYY-MM-DD." in garbled.get_data(as_text=True)


def test_csv_export_is_audited_and_writes_typed_formulas_as_text(
    ctx: Context, client: FlaskClient, pharmacist: User
) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx, name="Dana Derm"))
    counter = builders.as_user(ctx, pharmacist)
    dispensed(doc, counter, last="=HYPERLINK(1)", first="Sam")
    login(client, pharmacist.email, builders.PASSWORD)
    page = client.get("/pharmacy/dispenses").get_data(as_text=True)
    response = client.post("/pharmacy/dispenses/export",
                           data={"csrf_token": csrf_token(page), "date_from": "",
                                 "date_to": ""})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    row = rows[0]
    assert row["patient_last_name"] == "'=HYPERLINK(1)"
    assert row["patient_first_name"] == "Sam" and row["prescriber"] == "Dana Derm"
    assert row["dispensed_at"] == "2026-12-15 12:00:00"
    assert (row["quantity"], row["days_supply"], row["medication_guide_given"]) == \
        ("30", "30", "yes")
    text = response.get_data(as_text=True).lower()
    assert "pregnan" not in text and "contracept" not in text
    event = ctx.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "dispenses.exported"))
    assert event is not None and event.actor_id == pharmacist.id
    assert '"rows":1' in (event.new_values or "")


def test_export_without_csrf_token_is_refused(client: FlaskClient, pharmacist: User) -> None:
    login(client, pharmacist.email, builders.PASSWORD)
    assert client.post("/pharmacy/dispenses/export", data={}).status_code == 400


def test_history_service_is_for_pharmacy_staff_only(ctx: Context) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    with pytest.raises(Forbidden):
        dispense_history.list_dispenses(doc)


def test_one_dispense_of_another_pharmacy_is_not_found(ctx: Context, pharmacist: User) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    row = dispensed(doc, builders.as_user(ctx, builders.pharmacist(ctx)))
    mine = builders.as_user(ctx, pharmacist)
    with pytest.raises(NotFound):
        dispense_history.get_dispense(mine, row.id)
