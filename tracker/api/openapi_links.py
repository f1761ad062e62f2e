"""OpenAPI links: which operations take the answer of another one (the patient a registration
created, the prescription written for them, the authorization issued for it). Clients and
stateful test generators follow them to reach every operation with real data.

Keyed by operationId (the view's name); a link names its target and the runtime expressions
(OpenAPI 3.1 §4.8.20) that fill the target's parameters and body."""

from __future__ import annotations

from typing import Any

_PATIENT_ID = "$response.body#/id"
_RX_ID = "$response.body#/id"
_NUMBER = "$response.body#/authorization/number"

# The operations on one patient, reached from the Patient a registration answers.
_PATIENT_TARGETS = {
    "GetPatient": "get_patient",
    "ChangeCategory": "patch_patient",
    "RecordAcknowledgment": "post_acknowledgment",
    "RecordCounseling": "post_counseling",
    "RecordPregnancyTest": "post_pregnancy_test",
    "RecordContraception": "post_contraception",
    "RecordComprehension": "post_comprehension",
    "EndCourse": "post_course_end",
}


def _to(operation_id: str, description: str, parameters: dict[str, str] | None = None,
        body: dict[str, str] | None = None) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": operation_id, "description": description}
    if parameters:
        link["parameters"] = parameters
    if body:
        link["requestBody"] = body
    return link


def _patient_links() -> dict[str, Any]:
    found = {name: _to(target, "The registered patient", {"path.id": _PATIENT_ID})
             for name, target in _PATIENT_TARGETS.items()}
    found["WritePrescription"] = _to("create_prescription", "A prescription for the patient",
                                     body={"patient_id": _PATIENT_ID})
    return found


def _prescription_links() -> dict[str, Any]:
    return {
        "GetPrescription": _to("get_prescription", "The prescription", {"path.id": _RX_ID}),
        "Eligibility": _to("get_eligibility", "Whether it can be marked dispensable",
                           {"path.id": _RX_ID}),
        "Authorize": _to("post_authorize", "Mark it dispensable", {"path.id": _RX_ID}),
    }


def _authorization_links() -> dict[str, Any]:
    """From a prescription with its authorization: what the pharmacy does with the number."""
    return {
        "LookUp": _to("get_authorization", "The pharmacy looks the authorization up",
                      {"path.number": _NUMBER}),
        "Reverse": _to("post_reverse", "Reverse the authorization", {"path.number": _NUMBER}),
        "Dispense": _to("post_dispense", "Dispense the prescription", {"path.id": _RX_ID},
                        body={"authorization_number": _NUMBER}),
    }


def _lookup_links() -> dict[str, Any]:
    """From the pharmacy's lookup: dispensing or reversing what was found."""
    number = "$response.body#/prescription/authorization/number"
    return {
        "Dispense": _to("post_dispense", "Dispense the prescription found",
                        {"path.id": "$response.body#/prescription/id"},
                        body={"authorization_number": number}),
        "Reverse": _to("post_reverse", "Reverse the authorization found",
                       {"path.number": number},
                       body={"date_of_birth": "$response.body#/patient/date_of_birth"}),
    }


_LINKS = {
    "create_patient": _patient_links,
    "create_prescription": _prescription_links,
    "post_authorize": _authorization_links,
    "get_authorization": _lookup_links,
}


def links(operation_id: str) -> dict[str, Any]:
    """The links of an operation's success answer (none for most)."""
    make = _LINKS.get(operation_id)
    return make() if make is not None else {}
