"""Errors are RFC 9457 problem documents that never carry a traceback, SQL or a file path,
whatever went wrong; an unexpected failure gets an incident id that is also in the log."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from tests.api.scenarios import World, build_world, is_problem, valid_request
from tracker.api.registry import OPERATIONS, Operation
from tracker.models import Patient
from tracker.services import patients
from tracker.services.context import Context

LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|site-packages|/work/|/usr/|/tmp/|sqlalchemy|psycopg|sqlite|"
    r"\bSELECT\b|\bINSERT\b|\bUPDATE\b|\bFROM\b|\bWHERE\b|IntegrityError|OperationalError",
    re.IGNORECASE,
)


@pytest.fixture
def w(app: Flask, ctx: Context) -> World:
    return build_world(app, ctx)


def _no_leak(response: Any) -> None:
    text = response.get_data(as_text=True)
    assert not LEAKS.search(text), text[:500]


@pytest.mark.parametrize("failure", [
    OperationalError("SELECT * FROM patients WHERE id = ?", (1,),
                     Exception('File "/work/main/tracker/db.py", line 3, in connect')),
    RuntimeError("/srv/tracker/.venv/lib/python3.11/site-packages/x.py exploded"),
], ids=["database", "bug"])
def test_an_unexpected_failure_answers_a_bare_500_with_an_incident_id(
    w: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    failure: Exception
) -> None:
    def explode(*_args: Any, **_kw: Any) -> Any:
        raise failure

    monkeypatch.setattr(patients, "register_patient", explode)
    method, path, kw = valid_request("create_patient", w)
    with caplog.at_level(logging.ERROR, logger="tracker.errors"):
        response = w.send("prescriber", method, path, **kw)
    assert is_problem(response, 500)
    _no_leak(response)
    incident = response.get_json()["incident"]
    assert re.fullmatch(r"[0-9a-f]{12}", incident)
    assert incident in response.get_json()["detail"]
    assert any(incident in record.getMessage() for record in caplog.records)


def test_a_failed_request_stores_nothing(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    real = patients.register_patient

    def half_done(*args: Any, **kw: Any) -> Any:
        real(*args, **kw)  # the patient row is flushed...
        raise RuntimeError("...and then something breaks")

    monkeypatch.setattr(patients, "register_patient", half_done)
    method, path, kw = valid_request("create_patient", w)
    w.token_for("prescriber")
    events = w.audit_count()
    assert is_problem(w.send("prescriber", method, path, **kw), 500)
    assert w.count(Patient) == 0
    assert w.audit_count() == events


GARBAGE: list[Any] = [
    {"first_name": {"$ne": None}},
    {"patient_id": "1 OR 1=1", "written_on": "2026-12-15'; DROP TABLE patients; --"},
    {"category": ["can_get_pregnant"], "answers": [True] * 8},
    {"quantity": 1e308, "days_supply": -0.0, "methods": [None, 1, {}]},
    {"x" * 300: "y"},
]


@pytest.mark.parametrize("op", OPERATIONS, ids=[f"{o.method} {o.path}" for o in OPERATIONS])
def test_no_error_of_any_operation_leaks_internals(w: World, op: Operation) -> None:
    method, path, kw = valid_request(op.endpoint, w)
    who = op.roles[0]
    wrong_role = "admin" if "admin" not in op.roles else "prescriber"
    attempts: list[tuple[str | None, str, dict[str, Any]]] = [
        ("no token", path, kw), (wrong_role, path, kw)]
    unknown = re.sub(r"/\d+|/[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", "/999999", path)
    if unknown != path:
        attempts.append((who, unknown, kw))
    if op.takes_body:
        attempts += [(who, path, {"json": body}) for body in GARBAGE]
        attempts += [(who, path, {"data": b"{'a': 1", "content_type": "application/json"}),
                     (who, path, {"data": "a=1", "content_type": "text/plain"})]
    for person, target, arguments in attempts:
        response = w.send(person, method, target, **arguments)
        assert 400 <= response.status_code < 500, (person, target, response.status_code)
        assert response.mimetype == "application/problem+json"
        _no_leak(response)


def test_an_unknown_api_path_is_a_problem_document(w: World) -> None:
    response = w.send("prescriber", "GET", "/no/such/thing")
    assert is_problem(response, 404)


def test_a_method_the_path_does_not_take_is_a_problem_document_naming_the_allowed(
    w: World
) -> None:
    response = w.send("prescriber", "DELETE", f"/patients/{w.patient.id}")
    assert is_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PATCH"}
