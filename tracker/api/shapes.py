"""The JSON shapes of API.md (Patient, Prescription, Decision, Reason, Dispense), built from
the services' results, and their JSON Schemas for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from tracker.domain.decision import Decision
from tracker.domain.reasons import Reason, ReasonCode
from tracker.models import Authorization, Dispense, Prescription
from tracker.services.patients import PatientView
from tracker.services.rows import AuthorizationRow, CounterDispense, PrescriptionRow


def _d(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def reason_json(reason: Reason) -> dict[str, Any]:
    """API.md Reason; `closed_on` is added when a window or an authorization has closed."""
    out = {"code": reason.code.value, "message": reason.message, "met_from": _d(reason.met_from)}
    if reason.closed_on is not None:
        out["closed_on"] = _d(reason.closed_on)
    return out


def decision_json(decision: Decision) -> dict[str, Any]:
    """API.md Decision, as the engine made it (pharmacy staff get it folded already)."""
    window = decision.window
    return {
        "dispensable": decision.dispensable,
        "rule_set": decision.rule_set,
        "as_of": _d(decision.as_of),
        "unmet": [reason_json(r) for r in decision.unmet],
        "window": None if window is None else {"opens_on": _d(window.opens_on),
                                               "closes_on": _d(window.closes_on)},
        "do_not_dispense_after": _d(decision.do_not_dispense_after),
    }


def patient_json(v: PatientView) -> dict[str, Any]:
    """API.md Patient."""
    p = v.patient
    return {
        "id": p.id,
        "program_number": p.program_number,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "date_of_birth": _d(p.date_of_birth),
        "category": p.category,
        "enrolled": v.enrolled,
        "course_ended_on": _d(v.course_ended_on),
        "email": p.email,
        "language": p.language,
        "reminders_opted_out": p.reminders_opted_out,
    }


def authorization_json(auth: Authorization | AuthorizationRow | None) -> dict[str, Any] | None:
    """The authorization inside a Prescription, or None."""
    if auth is None:
        return None
    return {
        "number": auth.number,
        "issued_on": _d(auth.issued_on),
        "do_not_dispense_after": _d(auth.do_not_dispense_after),
        "rule_set": auth.rule_set,
        "state": auth.state,
    }


def prescription_json(rx: Prescription | PrescriptionRow,
                      auth: Authorization | AuthorizationRow | None) -> dict[str, Any]:
    """API.md Prescription with its live authorization, if any."""
    return {
        "id": rx.id,
        "number": rx.number,
        "patient_id": rx.patient_id,
        "written_on": _d(rx.written_on),
        "days_supply": rx.days_supply,
        "quantity": rx.quantity,
        "refills": rx.refills,
        "status": rx.status,
        "authorization": authorization_json(auth),
    }


def dispense_json(row: Dispense | CounterDispense, authorization_number: str) -> dict[str, Any]:
    """API.md Dispense."""
    return {
        "id": row.id,
        "prescription_id": row.prescription_id,
        "pharmacy_id": row.pharmacy_id,
        "dispensed_at": row.dispensed_at.isoformat().replace("+00:00", "Z"),
        "dispensed_on": _d(row.dispensed_on),
        "quantity": row.quantity,
        "days_supply": row.days_supply,
        "authorization_number": authorization_number,
    }


# --- JSON Schemas ------------------------------------------------------------------------------

DATE = {"type": "string", "format": "date"}
NULLABLE_DATE = {"anyOf": [DATE, {"type": "null"}]}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Reason": {
        "type": "object",
        "required": ["code", "message", "met_from"],
        "properties": {
            "code": {"type": "string", "enum": [c.value for c in ReasonCode]},
            "message": {"type": "string"},
            "met_from": NULLABLE_DATE,
            "closed_on": DATE,
        },
    },
    "Window": {
        "type": "object",
        "required": ["opens_on", "closes_on"],
        "properties": {"opens_on": DATE, "closes_on": DATE},
    },
    "Decision": {
        "type": "object",
        "required": ["dispensable", "rule_set", "as_of", "unmet", "window"],
        "properties": {
            "dispensable": {"type": "boolean"},
            "rule_set": {"type": "string", "enum": ["ipledge-2021", "ipledge-2023",
                                                    "ipledge-2026"]},
            "as_of": DATE,
            "unmet": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
            "window": {"anyOf": [{"$ref": "#/components/schemas/Window"}, {"type": "null"}]},
            "do_not_dispense_after": NULLABLE_DATE,
        },
    },
    "Patient": {
        "type": "object",
        "required": ["id", "program_number", "first_name", "last_name", "date_of_birth",
                     "category", "enrolled", "course_ended_on"],
        "properties": {
            "id": {"type": "integer"},
            "program_number": {"type": "string",
                               "description": "The patient's program number: random, unique, "
                                              "never reused; the FHIR case number."},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "date_of_birth": DATE,
            "category": {"type": "string", "enum": ["can_get_pregnant", "cannot_get_pregnant"]},
            "enrolled": {"type": "boolean"},
            "course_ended_on": NULLABLE_DATE,
            "email": {"type": ["string", "null"],
                      "description": "Where reminders go (none when null)."},
            "language": {"type": "string", "enum": ["en", "es"],
                         "description": "The language of the patient's reminders."},
            "reminders_opted_out": {"type": "boolean",
                                    "description": "The patient does not want reminders."},
        },
    },
    "Authorization": {
        "type": "object",
        "required": ["number", "issued_on", "do_not_dispense_after", "rule_set"],
        "properties": {
            "number": {"type": "string"},
            "issued_on": DATE,
            "do_not_dispense_after": NULLABLE_DATE,
            "rule_set": {"type": "string"},
            "state": {"type": "string", "enum": ["open", "dispensed", "reversed", "lapsed"]},
        },
    },
    "Prescription": {
        "type": "object",
        "required": ["id", "number", "patient_id", "written_on", "days_supply", "quantity",
                     "status", "authorization"],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string"},
            "patient_id": {"type": "integer"},
            "written_on": DATE,
            "days_supply": {"type": "integer", "minimum": 1, "maximum": 30},
            "quantity": {"type": "integer", "minimum": 1},
            "refills": {"type": "integer", "const": 0},
            "status": {"type": "string",
                       "enum": ["pending", "dispensable", "dispensed", "cancelled"]},
            "authorization": {"anyOf": [{"$ref": "#/components/schemas/Authorization"},
                                        {"type": "null"}]},
        },
    },
    "Dispense": {
        "type": "object",
        "required": ["id", "prescription_id", "pharmacy_id", "dispensed_at", "quantity",
                     "days_supply", "authorization_number"],
        "properties": {
            "id": {"type": "integer"},
            "prescription_id": {"type": "integer"},
            "pharmacy_id": {"type": "integer"},
            "dispensed_at": {"type": "string", "format": "date-time"},
            "dispensed_on": DATE,
            "quantity": {"type": "integer"},
            "days_supply": {"type": "integer"},
            "authorization_number": {"type": "string"},
        },
    },
    "Lookup": {
        "type": "object",
        "required": ["prescription", "patient", "decision"],
        "properties": {
            "prescription": {"$ref": "#/components/schemas/Prescription"},
            "patient": {
                "type": "object",
                "required": ["first_name", "last_name", "date_of_birth"],
                "properties": {"first_name": {"type": "string"},
                               "last_name": {"type": "string"}, "date_of_birth": DATE},
                "additionalProperties": False,
            },
            "decision": {"$ref": "#/components/schemas/Decision"},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object",
                       "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "unmet": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
            "incident": {"type": "string"},
            "code": {"type": "string", "description": "DATABASE_UNAVAILABLE on a 503"},
        },
    },
}
