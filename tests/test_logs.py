"""Logs carry ids and outcomes, never patient data, passwords or tokens, and cannot be split
into forged lines by user input."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from tests import builders
from tests.conftest import csrf_token
from tracker.logs import SingleLineFormatter
from tracker.services.context import Context


def test_a_whole_journey_logs_no_patient_data_password_or_token(
    ctx: Context, api, client: FlaskClient, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    doc = builders.prescriber(ctx)
    counter = builders.pharmacist(ctx)
    as_doc, as_rx = api(ctx, doc), api(ctx, counter)
    today = ctx.today()
    p = as_doc.post("/patients", json={"first_name": "Zelda", "last_name": "Quixote",
                                       "date_of_birth": "1991-07-19",
                                       "category": "can_get_pregnant"}).get_json()
    pid = p["id"]
    as_doc.post(f"/patients/{pid}/acknowledgments",
                json={"signed_on": str(today - timedelta(40)),
                      "patient_signature": "Zelda Quixote"})
    as_doc.post(f"/patients/{pid}/pregnancy-tests",
                json={"collected_on": str(today - timedelta(1)), "result": "positive",
                      "setting": "lab"})
    rx = as_doc.post("/prescriptions", json={"patient_id": pid, "written_on": str(today),
                                             "days_supply": 30, "quantity": 30,
                                             "refills": 0}).get_json()
    as_doc.post(f"/prescriptions/{rx['id']}/authorize")
    as_rx.get("/authorizations/XXXX-XXXX-XXXX?date_of_birth=1991-07-19")
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": doc.email, "password": "Wrong but secret 123",
                                "csrf_token": csrf_token(page)})
    logged = caplog.text
    assert "request_id=" in logged
    for secret in ("Zelda", "Quixote", "1991-07-19", "positive", "Wrong but secret 123",
                   builders.PASSWORD, as_doc.headers["Authorization"][7:],
                   as_rx.headers["Authorization"][7:]):
        assert secret not in logged


def test_user_input_cannot_start_a_new_log_line() -> None:
    record = logging.LogRecord("tracker", logging.WARNING, __file__, 1,
                               "lookup failed for %s", ("A\nFORGED admin logged in\r",), None)
    line = SingleLineFormatter("%(message)s").format(record)
    assert "\n" not in line and "\r" not in line
    assert "\\nFORGED" in line
