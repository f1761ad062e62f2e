"""Requests shaped like the reference clients' and checks of every answer against the FHIR R4
models (fhirclient), with the status codes checked by hand: the models accept invented codes."""

from __future__ import annotations

from datetime import date
from typing import Any

from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.guidanceresponse import GuidanceResponse
from fhirclient.models.operationoutcome import OperationOutcome
from fhirclient.models.parameters import Parameters
from werkzeug.test import TestResponse

ETASU = "/fhir/r4/GuidanceResponse/$rems-etasu"
ALIAS = "/4_0_0/GuidanceResponse/$rems-etasu"
STATUSES = {"success", "data-required", "failure"}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def etasu_body(first: str = "Alex", last: str = "Rivera", born: date = date(1995, 4, 2),
               case_number: str | None = None, case_name: str = "caseNumber",
               medication_code: str = "6064") -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "patient", "resource": {
            "resourceType": "Patient", "id": "pat-1",
            "name": [{"use": "official", "family": last, "given": [first]}],
            "birthDate": born.isoformat()}},
        {"name": "medication", "resource": {
            "resourceType": "Medication", "id": "med-1",
            "code": {"coding": [{"system": RXNORM, "code": medication_code,
                                 "display": "isotretinoin"}]}}},
    ]
    if case_number is not None:
        parameters.append({"name": case_name, "valueString": case_number})
    return {"resourceType": "Parameters", "parameter": parameters}


def guidance(response: TestResponse) -> dict[str, Any]:
    """The rems-etasu GuidanceResponse of a 200 answer, validated as FHIR R4."""
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/fhir+json"
    body = response.get_json(force=True)
    Parameters(body)  # raises on anything that is not a valid R4 Parameters
    first = body["parameter"][0]
    assert first["name"] == "rems-etasu"
    resource = first["resource"]
    GuidanceResponse(resource)
    assert resource["status"] in STATUSES
    assert resource["moduleUri"] == "http://hl7.org/fhir/us/medication-rems"
    assert resource["outputParameters"]["reference"] == "#etasuOutputParameters"
    # One client resolves the reference, another takes contained[0]: the same resource.
    by_id = [c for c in resource["contained"] if c["id"] == "etasuOutputParameters"]
    assert by_id == [resource["contained"][0]]
    for item in resource["contained"][0].get("parameter", []):
        if "resource" in item:
            assert item["resource"]["status"] in {"success", "data-required"}
            assert item["resource"]["note"][0]["text"]
    return resource


def requirements(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p["resource"] for p in resource["contained"][0]["parameter"]
            if "resource" in p}


def case_number_of(resource: dict[str, Any]) -> str:
    last = resource["contained"][0]["parameter"][-1]
    assert last["name"] == "case_number"
    return str(last["valueString"])


def outcome(response: TestResponse, status: int) -> dict[str, Any]:
    """An error answer: the status, and an OperationOutcome that says what to do."""
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/fhir+json"
    body = response.get_json(force=True)
    OperationOutcome(body)
    assert body["issue"][0]["diagnostics"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def capability(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200
    body = response.get_json(force=True)
    CapabilityStatement(body)
    return body
