"""Requests exactly as the US Medication REMS reference clients (the test EHR and the SMART app)
send them: at `/4_0_0/GuidanceResponse/$rems-etasu`, FHIR JSON both ways, a whole Patient
resource from the EHR (identifiers, names, birth date, address) and a Medication coded in RxNorm
6064, with the case number as `caseNumber` or without it. The answer is read the way the clients
read it: `parameter[0]` named `rems-etasu`, the requirements through
`outputParameters.reference` or simply `contained[0]`, the case number as the last parameter."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhirclient.models.guidanceresponse import GuidanceResponse
from fhirclient.models.medication import Medication
from fhirclient.models.parameters import Parameters
from fhirclient.models.patient import Patient
from flask.testing import FlaskClient

from tests import builders as b
from tests.fhir.helpers import ALIAS, RXNORM
from tracker.services.context import Context
from tracker.services.tokens import create_token

FHIR_JSON = "application/fhir+json"
BORN = date(1996, 6, 1)


def _ehr_patient() -> dict[str, Any]:
    """A Patient as an EHR holds it: identifiers, an official and a nickname, contact data."""
    return {
        "resourceType": "Patient", "id": "ehr-patient-7",
        "meta": {"versionId": "3", "lastUpdated": "2026-11-30T09:12:44.120-05:00"},
        "identifier": [
            {"system": "http://hl7.org/fhir/sid/us-medicare", "value": "1EG4TE5MK72"},
            {"use": "usual", "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
             "system": "urn:oid:2.16.840.1.113883.19.5", "value": "MRN-0048213"},
        ],
        "name": [{"use": "official", "family": "Okafor", "given": ["Ada", "Nkem"]},
                 {"use": "nickname", "given": ["Dee"]}],
        "gender": "female",
        "birthDate": BORN.isoformat(),
        "address": [{"use": "home", "type": "both", "line": ["48 Linden Street"],
                     "city": "Dayton", "state": "OH", "postalCode": "45402"}],
    }


def _medication() -> dict[str, Any]:
    return {
        "resourceType": "Medication", "id": "ehr-med-isotretinoin",
        "code": {"coding": [
            {"system": RXNORM, "code": "6064", "display": "isotretinoin"},
        ], "text": "isotretinoin"},
    }


def _request(case_number: str | None) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "patient", "resource": _ehr_patient()},
        {"name": "medication", "resource": _medication()},
    ]
    if case_number is not None:
        parameters.append({"name": "caseNumber", "valueString": case_number})
    body = {"resourceType": "Parameters", "parameter": parameters}
    Parameters(body)  # what the clients send is itself valid FHIR R4
    Patient(_ehr_patient())
    Medication(_medication())
    return body


def _send(client: FlaskClient, token: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(ALIAS, json=body, headers={
        "Authorization": "Bearer " + token, "Content-Type": FHIR_JSON, "Accept": FHIR_JSON})


@pytest.mark.parametrize("by_case_number", [True, False], ids=["caseNumber", "name-birthDate"])
def test_the_reference_clients_request_gets_the_guides_answer(
        ctx: Context, client: FlaskClient, by_case_number: bool) -> None:
    doctor = b.prescriber(ctx)
    patient = b.ready_for_first_fill(b.as_user(ctx, doctor), first="Ada", last="Okafor",
                                     born=BORN)
    body = _request(patient.program_number if by_case_number else None)

    response = _send(client, create_token(ctx, doctor), body)

    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == FHIR_JSON
    answer = response.get_json(force=True)
    Parameters(answer)
    assert answer["resourceType"] == "Parameters"
    assert answer["parameter"][0]["name"] == "rems-etasu"
    guidance = answer["parameter"][0]["resource"]
    GuidanceResponse(guidance)
    assert guidance["resourceType"] == "GuidanceResponse"
    assert guidance["status"] == "success"
    assert guidance["subject"] == {"reference": "Patient/ehr-patient-7"}
    assert guidance["outputParameters"] == {"reference": "#etasuOutputParameters"}

    # The SMART app resolves the reference; the EHR takes contained[0]: the same Parameters.
    reference = guidance["outputParameters"]["reference"].removeprefix("#")
    resolved = next(c for c in guidance["contained"] if c.get("id") == reference)
    taken = guidance["contained"][0]
    assert resolved is taken or resolved == taken
    assert taken["resourceType"] == "Parameters" and taken["id"] == "etasuOutputParameters"
    Parameters(taken)

    *requirements, last = taken["parameter"]
    assert last == {"name": "case_number", "valueString": patient.program_number}
    names = [p["name"] for p in requirements]
    assert {"Patient Enrollment", "Prescriber Enrollment", "Counseling", "Contraception",
            "Comprehension", "Pregnancy Test"} <= set(names)
    for item in requirements:
        nested = item["resource"]
        GuidanceResponse(nested)
        assert nested["status"] == "success", (item["name"], nested)
        assert nested["moduleUri"] == guidance["moduleUri"]
        # the stakeholder: the patient by reference, the prescriber by name and NPI
        assert nested["subject"].get("reference") or nested["subject"].get("display")
        assert nested["note"][0]["text"]


def test_the_reference_clients_request_for_a_patient_with_a_gap_is_data_required(
        ctx: Context, client: FlaskClient) -> None:
    """The same request for a patient enrolled today: `data-required`, with each missing
    requirement saying what is missing, and the case number still last."""
    doctor = b.prescriber(ctx)
    patient = b.enrolled_patient(b.as_user(ctx, doctor), first="Ada", last="Okafor", born=BORN)

    answer = _send(client, create_token(ctx, doctor), _request(None)).get_json(force=True)

    Parameters(answer)
    guidance = answer["parameter"][0]["resource"]
    assert guidance["status"] == "data-required"
    *requirements, last = guidance["contained"][0]["parameter"]
    assert last == {"name": "case_number", "valueString": patient.program_number}
    missing = {p["name"] for p in requirements if p["resource"]["status"] == "data-required"}
    assert {"Pregnancy Test", "Comprehension"} <= missing
