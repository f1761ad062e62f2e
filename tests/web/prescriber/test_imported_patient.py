"""The patient page says which records came from an import, and from which file."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flask.testing import FlaskClient

from tests.conftest import Clock
from tests.web.prescriber.conftest import page, text_of
from tracker.models import User
from tracker.services import pharmacies, records
from tracker.services.context import Context
from tracker.services.imports import import_file

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "import-example.jsonl"


def test_imported_records_say_when_and_from_which_file(
        browser: FlaskClient, ctx: Context, doc: Context, doctor: User,
        clock: Clock) -> None:
    pharmacies.create_pharmacy(ctx, "Example Pharmacy", "1234567", date(2026, 6, 1),
                               date(2026, 6, 1))
    report = import_file(ctx, doctor.email, "clinic-export.jsonl", EXAMPLE.read_bytes())
    patient_id = report.ids[1].patient_id  # Jordan: three counseling visits, three fills
    assert patient_id is not None
    clock.now += timedelta(minutes=5)  # later the same day, the prescriber enters a visit
    records.record_counseling(doc, patient_id, doc.today())
    shown = text_of(page(browser, f"/patients/{patient_id}"))
    # Registration, acknowledgment and three counseling visits came from the file; the
    # counseling entered today did not.
    stamp = "imported on Dec 15, 2026 at 12:00 PM ET from clinic-export.jsonl"
    assert shown.count(stamp) == 5
    newest = shown[shown.find("Records"):].split(" Counseling ")[1]
    assert newest.startswith("Dana Derm (prescriber) Dec 15, 2026 at 12:05 PM ET Correct")
