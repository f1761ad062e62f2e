"""The `$rems-etasu` answer of the US Medication REMS guide: a Parameters whose first parameter,
`rems-etasu`, holds a GuidanceResponse (`success`: every requirement met, a fill could be
authorized today; `data-required`: some not met; `failure`: no such patient for this caller, or
not a medication of this program). Its contained Parameters `etasuOutputParameters` has one
nested GuidanceResponse per requirement and, last, the case number."""

from __future__ import annotations

from typing import Any

from tracker.fhir.requirements import PATIENT, NamedRequirement, named_requirements
from tracker.services.rems_status import RemsStatus

GUIDE = "http://hl7.org/fhir/us/medication-rems"  # the guide's canonical URL
OUTPUT_ID = "etasuOutputParameters"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
CASE_NUMBER_SYSTEM = "urn:tracker:program-number"


def _patient_subject(status: RemsStatus | None, reference: str | None) -> dict[str, Any]:
    if reference is not None:
        return {"reference": reference}
    if status is None:
        return {"display": "Patient"}
    return {"identifier": {"system": CASE_NUMBER_SYSTEM, "value": status.case_number}}


def _prescriber_subject(status: RemsStatus) -> dict[str, Any]:
    doctor = status.patient.prescriber
    subject: dict[str, Any] = {"display": doctor.name}
    if doctor.npi:
        subject["identifier"] = {"system": NPI_SYSTEM, "value": doctor.npi}
    return subject


def _nested(item: NamedRequirement, status: RemsStatus,
            patient: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": item.name,
        "resource": {
            "resourceType": "GuidanceResponse",
            "status": "success" if item.met else "data-required",
            "moduleUri": GUIDE,
            "subject": patient if item.stakeholder == PATIENT else _prescriber_subject(status),
            "note": [{"text": item.text}],
        },
    }


def _answer(guidance: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters",
            "parameter": [{"name": "rems-etasu", "resource": guidance}]}


def etasu_answer(status: RemsStatus, patient_reference: str | None) -> dict[str, Any]:
    """The answer for a patient found: every requirement that applies, met or not."""
    patient = _patient_subject(status, patient_reference)
    items = named_requirements(status)
    output = [_nested(item, status, patient) for item in items]
    output.append({"name": "case_number", "valueString": status.case_number})
    met = status.decision.dispensable
    return _answer({
        "resourceType": "GuidanceResponse",
        "contained": [{"resourceType": "Parameters", "id": OUTPUT_ID, "parameter": output}],
        "status": "success" if met else "data-required",
        "moduleUri": GUIDE,
        "subject": patient,
        "occurrenceDateTime": status.today.isoformat(),
        "outputParameters": {"reference": "#" + OUTPUT_ID},
    })


def etasu_failure(reason: str, patient_reference: str | None) -> dict[str, Any]:
    """The answer when there is nothing to tell this caller: an empty output, so that clients
    that read it unconditionally still find it."""
    return _answer({
        "resourceType": "GuidanceResponse",
        "contained": [{"resourceType": "Parameters", "id": OUTPUT_ID}],
        "status": "failure",
        "moduleUri": GUIDE,
        "subject": _patient_subject(None, patient_reference),
        "note": [{"text": reason}],
        "outputParameters": {"reference": "#" + OUTPUT_ID},
    })
