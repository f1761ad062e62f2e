"""`$rems-etasu`: the answers of the US Medication REMS guide, from the same engine as the
patient page, to exactly the callers who may see the patient."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import builders as b
from tests.fhir.helpers import (
    ALIAS,
    ETASU,
    capability,
    case_number_of,
    etasu_body,
    guidance,
    outcome,
    requirements,
)
from tracker.services.context import Context
from tracker.services.tokens import create_token

CLINICAL = {"Patient Enrollment", "Counseling", "Contraception", "Comprehension",
            "Pregnancy Test"}


def _bearer(ctx: Context, user: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + create_token(ctx, user)}


def _post(client: FlaskClient, headers: dict[str, str], body: Any, path: str = ETASU,
          content_type: str = "application/fhir+json"):  # type: ignore[no-untyped-def]
    return client.post(path, json=body, headers={**headers, "Content-Type": content_type})


@pytest.fixture
def doctor(ctx: Context) -> Any:
    return b.prescriber(ctx)


def test_a_ready_patient_is_success_with_the_case_number(ctx: Context, client: FlaskClient,
                                                         doctor: Any) -> None:
    patient = b.ready_for_first_fill(b.as_user(ctx, doctor))
    resource = guidance(_post(client, _bearer(ctx, doctor), etasu_body()))
    assert resource["status"] == "success"
    assert case_number_of(resource) == patient.program_number
    found = requirements(resource)
    assert CLINICAL | {"Prescriber Enrollment"} <= set(found)
    assert {r["status"] for r in found.values()} == {"success"}
    assert resource["subject"] == {"reference": "Patient/pat-1"}


def test_nothing_recorded_is_data_required_naming_what_is_missing(
        ctx: Context, client: FlaskClient, doctor: Any) -> None:
    b.patient(b.as_user(ctx, doctor))
    resource = guidance(_post(client, _bearer(ctx, doctor), etasu_body(), path=ALIAS))
    assert resource["status"] == "data-required"
    found = requirements(resource)
    missing = {name for name, r in found.items() if r["status"] == "data-required"}
    assert {"Patient Enrollment", "Counseling", "Contraception", "Comprehension",
            "Pregnancy Test"} <= missing
    assert found["Prescriber Enrollment"]["status"] == "success"
    assert "acknowledgment" in found["Patient Enrollment"]["note"][0]["text"].lower()


def test_a_wait_names_the_date_it_can_be_met(ctx: Context, client: FlaskClient,
                                            doctor: Any) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    resource = guidance(_post(client, _bearer(ctx, doctor), etasu_body()))
    texts = " ".join(r["note"][0]["text"] for r in requirements(resource).values())
    assert "Can be met from 20" in texts


def test_an_unknown_patient_is_failure(ctx: Context, client: FlaskClient, doctor: Any) -> None:
    resource = guidance(_post(client, _bearer(ctx, doctor), etasu_body(first="Nobody")))
    assert resource["status"] == "failure"
    assert resource["contained"][0].get("parameter") is None


@pytest.mark.parametrize("name", ["caseNumber", "case_number"])
def test_the_case_number_finds_the_patient_whatever_the_name_sent(
        ctx: Context, client: FlaskClient, doctor: Any, name: str) -> None:
    patient = b.ready_for_first_fill(b.as_user(ctx, doctor), first="Jo", last="Park",
                                     born=date(2000, 1, 1))
    body = etasu_body(first="Joanna", last="Parker", born=date(2000, 1, 1),
                      case_number=patient.program_number.lower(), case_name=name)
    body["parameter"][0]["resource"]["name"] = []
    resource = guidance(_post(client, _bearer(ctx, doctor), body))
    assert resource["status"] == "success"
    assert case_number_of(resource) == patient.program_number


def test_a_case_number_with_another_birth_date_is_failure(ctx: Context, client: FlaskClient,
                                                          doctor: Any) -> None:
    patient = b.ready_for_first_fill(b.as_user(ctx, doctor))
    body = etasu_body(born=date(1995, 4, 3), case_number=patient.program_number)
    assert guidance(_post(client, _bearer(ctx, doctor), body))["status"] == "failure"


def test_another_prescribers_patient_is_failure(ctx: Context, client: FlaskClient,
                                                doctor: Any) -> None:
    other = b.prescriber(ctx, name="Olive Other")
    patient = b.ready_for_first_fill(b.as_user(ctx, other))
    headers = _bearer(ctx, doctor)
    assert guidance(_post(client, headers, etasu_body()))["status"] == "failure"
    by_number = etasu_body(case_number=patient.program_number)
    resource = guidance(_post(client, headers, by_number))
    assert resource["status"] == "failure"
    assert patient.program_number not in str(resource)


def test_another_medication_is_failure(ctx: Context, client: FlaskClient, doctor: Any) -> None:
    b.ready_for_first_fill(b.as_user(ctx, doctor))
    resource = guidance(_post(client, _bearer(ctx, doctor), etasu_body(medication_code="161")))
    assert resource["status"] == "failure"


def test_a_medication_request_with_an_ndc_is_read(ctx: Context, client: FlaskClient,
                                                  doctor: Any) -> None:
    b.ready_for_first_fill(b.as_user(ctx, doctor))
    body = etasu_body()
    body["parameter"][1]["resource"] = {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "subject": {"reference": "Patient/pat-1"},
        "medicationCodeableConcept": {"coding": [
            {"system": "http://hl7.org/fhir/sid/ndc", "code": "0245-0571-01"}]}}
    assert guidance(_post(client, _bearer(ctx, doctor), body,
                          content_type="application/json"))["status"] == "success"


def test_pharmacy_staff_get_the_folded_view(ctx: Context, client: FlaskClient,
                                            doctor: Any) -> None:
    b.enrolled_patient(b.as_user(ctx, doctor))
    pharmacist = b.pharmacist(ctx)
    resource = guidance(_post(client, _bearer(ctx, pharmacist), etasu_body()))
    assert resource["status"] == "data-required"
    found = requirements(resource)
    assert set(found) == {"Prescriber Enrollment", "Prescriber action required"}
    assert found["Prescriber action required"]["status"] == "data-required"
    text = str(resource).lower()
    for clinical in ("pregnan", "contracept", "comprehension", "counsel"):
        assert clinical not in text


def test_pharmacy_staff_see_success_when_every_requirement_is_met(
        ctx: Context, client: FlaskClient, doctor: Any) -> None:
    patient = b.ready_for_first_fill(b.as_user(ctx, doctor))
    resource = guidance(_post(client, _bearer(ctx, b.pharmacist(ctx)),
                              etasu_body(case_number=patient.program_number)))
    assert resource["status"] == "success"
    assert {r["status"] for r in requirements(resource).values()} == {"success"}


def test_an_admin_may_not_ask(ctx: Context, client: FlaskClient) -> None:
    outcome(_post(client, _bearer(ctx, b.admin(ctx)), etasu_body()), 403)


def test_without_a_token_the_answer_is_401(client: FlaskClient) -> None:
    body = outcome(_post(client, {}, etasu_body()), 401)
    assert body["issue"][0]["code"] == "login"
    outcome(_post(client, {"Authorization": "Bearer trk_" + "x" * 43}, etasu_body()), 401)


def test_another_media_type_is_415(ctx: Context, client: FlaskClient, doctor: Any) -> None:
    response = client.post(ETASU, data="patient=1", headers={
        **_bearer(ctx, doctor), "Content-Type": "application/x-www-form-urlencoded"})
    outcome(response, 415)


@pytest.mark.parametrize("body", [
    "not json",
    '{"resourceType": "Patient"}',
    '{"resourceType": "Parameters", "parameter": [{"name": "patient"}]}',
    '{"resourceType": "Parameters", "parameter": "x"}',
])
def test_a_malformed_body_is_400_saying_what_is_wrong(ctx: Context, client: FlaskClient,
                                                      doctor: Any, body: str) -> None:
    response = client.post(ETASU, data=body, headers={
        **_bearer(ctx, doctor), "Content-Type": "application/fhir+json"})
    outcome(response, 400)


def test_a_malformed_birth_date_is_400(ctx: Context, client: FlaskClient, doctor: Any) -> None:
    body = etasu_body()
    body["parameter"][0]["resource"]["birthDate"] = "04/02/1995"
    body_answer = outcome(_post(client, _bearer(ctx, doctor), body), 400)
    assert "birthDate" in body_answer["issue"][0]["diagnostics"]


def test_a_get_is_405_as_an_operation_outcome(client: FlaskClient) -> None:
    outcome(client.get(ETASU), 405)


def test_the_capability_statement_names_the_operation(client: FlaskClient) -> None:
    body = capability(client.get("/fhir/r4/metadata"))
    assert body["fhirVersion"] == "4.0.1"
    operations = body["rest"][0]["resource"][0]["operation"]
    assert [op["name"] for op in operations] == ["rems-etasu"]


@pytest.fixture
def cors_app(app: Flask) -> Any:
    original = app.config.get("CORS_ORIGINS", ())
    app.config["CORS_ORIGINS"] = ("https://ehr.example.org",)
    yield app
    app.config["CORS_ORIGINS"] = original


def test_cors_answers_an_allowed_origin(cors_app: Flask, client: FlaskClient, ctx: Context,
                                        doctor: Any) -> None:
    preflight = client.options(ETASU, headers={
        "Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    b.ready_for_first_fill(b.as_user(ctx, doctor))
    answer = _post(client, {**_bearer(ctx, doctor), "Origin": "https://ehr.example.org"},
                   etasu_body())
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_cors_refuses_another_origin(cors_app: Flask, client: FlaskClient) -> None:
    preflight = client.options(ETASU, headers={
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = client.get("/fhir/r4/metadata", headers={"Origin": "https://evil.example.com"})
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_office_staff_see_their_prescribers_patients_only(ctx: Context, client: FlaskClient,
                                                          doctor: Any) -> None:
    """API.md: staff act on the patients of the prescribers they work for."""
    patient = b.ready_for_first_fill(b.as_user(ctx, doctor))
    ours = _bearer(ctx, b.staff(ctx, doctor))
    theirs = _bearer(ctx, b.staff(ctx, b.prescriber(ctx, name="Olive Other"), name="Ola Other"))
    by_number = etasu_body(case_number=patient.program_number)
    assert guidance(_post(client, ours, by_number))["status"] == "success"
    assert guidance(_post(client, theirs, by_number))["status"] == "failure"
