"""Reading the `$rems-etasu` input: a FHIR R4 Parameters resource with `patient` (a Patient),
`medication` (a Medication or MedicationRequest) and optionally the case number as a string,
named `caseNumber` (as the reference clients send it) or `case_number` (as the guide's text
names it). What cannot be read is a 400 that says what is wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from tracker.services.rems_status import PatientQuery

CASE_NUMBER_NAMES = ("caseNumber", "case_number")


class Unreadable(Exception):
    """The body is not a Parameters resource this operation can read; the message says why."""


@dataclass(frozen=True)
class EtasuRequest:
    """What the caller asks about: the patient as named, the patient resource's id to refer
    to it by, and the medication resource."""

    query: PatientQuery
    patient_reference: str | None
    medication: dict[str, Any]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json(raw: bytes) -> Any:
    """A body as strict JSON (no NaN or Infinity, UTF-8 only)."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Unreadable("The body is not JSON.") from exc


def _parameters(body: Any) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise Unreadable("Send a FHIR Parameters resource (resourceType 'Parameters').")
    found: dict[str, list[dict[str, Any]]] = {}
    items = body.get("parameter", [])
    if not isinstance(items, list):
        raise Unreadable("Parameters.parameter must be a list.")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise Unreadable("Every parameter needs a name.")
        found.setdefault(item["name"], []).append(item)
    return found


def _one_resource(found: dict[str, list[dict[str, Any]]], name: str,
                  kinds: tuple[str, ...]) -> dict[str, Any]:
    items = found.get(name, [])
    resource = items[0].get("resource") if len(items) == 1 else None
    if not isinstance(resource, dict) or resource.get("resourceType") not in kinds:
        raise Unreadable(f"Send exactly one parameter '{name}' holding a "
                         f"{' or '.join(kinds)} resource.")
    return resource


def _case_number(found: dict[str, list[dict[str, Any]]]) -> str | None:
    for name in CASE_NUMBER_NAMES:
        for item in found.get(name, []):
            value = item.get("valueString")
            if not isinstance(value, str):
                raise Unreadable(f"Parameter '{name}' must be a valueString.")
            if value.strip():
                return value.strip()
    return None


def _names(patient: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The given names and family name of the patient's official name (else the first)."""
    names = [n for n in patient.get("name", []) or [] if isinstance(n, dict)]
    if not isinstance(patient.get("name", []), list):
        raise Unreadable("Patient.name must be a list.")
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = chosen.get("given", [])
    family = chosen.get("family")
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given) or (
            family is not None and not isinstance(family, str)):
        raise Unreadable("Patient.name must have string given and family names.")
    return tuple(g for g in given if g.strip()), (family or "").strip() or None


def _birth_date(patient: dict[str, Any]) -> date | None:
    value = patient.get("birthDate")
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Unreadable("Patient.birthDate must be a full date, YYYY-MM-DD.") from exc


def read_etasu_request(body: Any) -> EtasuRequest:
    """The patient, case number and medication of a `$rems-etasu` Parameters resource."""
    found = _parameters(body)
    patient = _one_resource(found, "patient", ("Patient",))
    medication = _one_resource(found, "medication", ("Medication", "MedicationRequest"))
    given, family = _names(patient)
    patient_id = patient.get("id")
    reference = f"Patient/{patient_id}" if isinstance(patient_id, str) and patient_id else None
    query = PatientQuery(_case_number(found), given, family, _birth_date(patient))
    return EtasuRequest(query, reference, medication)
