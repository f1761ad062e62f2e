"""The administrator's import page: upload, the dry-run report, confirm (the file kept on the
server by its hash); administrators only, CSRF on, audited."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.conftest import csrf_token, login, shown_again
from tests.web.admin.conftest import events, text_of
from tracker.models import ImportedPatient, Patient
from tracker.services import pharmacies
from tracker.services.context import Context

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "import-example.jsonl"


def _upload(browser: FlaskClient, email: str, data: bytes, name: str = "clinic.jsonl"):  # type: ignore[no-untyped-def]
    page = text_of(browser.get("/admin/imports"))
    return browser.post("/admin/imports", data={
        "csrf_token": csrf_token(page), "prescriber_email": email,
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _patients(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Patient)) or 0


def test_upload_check_then_confirm_imports_the_kept_file(
        browser: FlaskClient, ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    pharmacies.create_pharmacy(ctx, "Example Pharmacy", "1234567", date(2026, 6, 1),
                               date(2026, 6, 1))
    # Post/Redirect/Get: each step's outcome is shown by a GET of the page, once.
    checked = shown_again(browser, _upload(browser, doc.email, EXAMPLE.read_bytes()),
                          "/admin/imports")
    page = text_of(checked)
    assert "3 new patient(s) to import" in page
    assert "new patient(s) to import" not in text_of(browser.get("/admin/imports"))
    assert _patients(ctx) == 0  # nothing written by the check
    assert len(events(ctx, "patients.import_checked")) == 1
    # The confirmation names the file by its hash; the file itself is not sent again.
    sha256 = re.search(r'name="sha256" type="hidden" value="([0-9a-f]{64})"', page)
    assert sha256 is not None
    form = page[page.index('action="/admin/imports/confirm"'):]
    fields = dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form))
    assert set(fields) == {"csrf_token", "prescriber_email", "sha256", "file_name"}
    without_token = {k: v for k, v in fields.items() if k != "csrf_token"}
    assert browser.post("/admin/imports/confirm", data=without_token).status_code in (400, 422)
    assert _patients(ctx) == 0
    done = shown_again(browser, browser.post("/admin/imports/confirm", data=fields),
                       "/admin/imports")
    assert "Imported 3 new patient(s)" in text_of(done)
    assert _patients(ctx) == 3
    assert len(events(ctx, "patient.imported")) == 3
    again = shown_again(browser, browser.post("/admin/imports/confirm", data=fields),
                        "/admin/imports")
    assert "no longer kept" in text_of(again)
    assert _patients(ctx) == 3


def test_a_bad_file_is_reported_line_by_line_and_cannot_be_confirmed(
        browser: FlaskClient, ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    answer = shown_again(browser, _upload(browser, doc.email,
                                          b'{"external_id": "x"}\nnot json\n'), "/admin/imports")
    page = text_of(answer)
    assert "line 1: first_name" in page and "line 2: line: Not valid JSON" in page
    assert "/admin/imports/confirm" not in page
    assert _patients(ctx) == 0


def test_only_administrators_import(client: FlaskClient, ctx: Context) -> None:
    doc = builders.prescriber(ctx)
    login(client, doc.email, builders.PASSWORD)
    assert client.get("/admin/imports").status_code == 403
    assert ctx.session.scalar(select(func.count()).select_from(ImportedPatient)) == 0


def test_an_upload_without_a_file_comes_back_with_the_email_typed(
        browser: FlaskClient, ctx: Context) -> None:
    page = text_of(browser.get("/admin/imports"))
    sent = browser.post("/admin/imports", data={
        "csrf_token": csrf_token(page), "prescriber_email": "doc@example.test"},
        content_type="multipart/form-data")
    shown = text_of(shown_again(browser, sent, "/admin/imports"))
    assert 'value="doc@example.test"' in shown
    assert re.search(r'<p class="error"[^>]*>Choose the JSON Lines file to check.</p>', shown)
    assert _patients(ctx) == 0
