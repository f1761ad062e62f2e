"""The OpenAPI 3.1 document, generated from the operation declarations (tracker.api.registry),
so that the routes, the role checks and the document cannot drift apart."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tracker.api import openapi_interop
from tracker.api.fields import INT_MAX, Calendar, Field, spec_schema
from tracker.api.idempotency import HEADER, KEY_MAX
from tracker.api.openapi_links import links
from tracker.api.openapi_responses import RETRY_AFTER, error_response, success_response
from tracker.api.registry import OPERATIONS, Operation
from tracker.api.shapes import SCHEMAS
from tracker.services.stored_reports import CHANGES_COUNTED_UP_TO

DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}
METHOD_LIST = {"type": "array", "items": {"type": "string"}}

_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    "Prescriber": {
        "type": "object",
        "required": ["id", "name", "npi", "home_testing_permitted"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "email": {"type": "string"}, "npi": {"type": "string"},
                       "active": {"type": "boolean"},
                       "home_testing_permitted": {"type": "boolean"}},
    },
    "Acknowledgment": {
        "type": "object",
        "required": ["id", "form_code", "form_version", "signed_on"],
        "properties": {"id": {"type": "integer"}, "form_code": {"type": "string"},
                       "form_version": {"type": "string"},
                       "category": {"type": "string",
                                    "enum": ["can_get_pregnant", "cannot_get_pregnant"]},
                       "signed_on": DATE, "meaning": {"type": "string"},
                       "signed_at": DATE_TIME},
    },
    "PortalInvitation": {
        "type": "object",
        "required": ["url", "code", "expires_at"],
        "properties": {
            "url": {"type": "string", "format": "uri",
                    "description": "The link printed on the patient's slip (it holds the code)."},
            "code": {"type": "string", "description": "The invitation code, to type when the "
                     "link cannot be opened; single use. A new invitation voids it."},
            "expires_at": DATE_TIME,
        },
    },
    "Counseling": {
        "type": "object",
        "required": ["id", "counseled_on"],
        "properties": {"id": {"type": "integer"}, "counseled_on": DATE},
    },
    "PregnancyTest": {
        "type": "object",
        "required": ["id", "collected_on", "result", "setting"],
        "properties": {"id": {"type": "integer"}, "collected_on": DATE,
                       "result": {"type": "string", "enum": ["negative", "positive"]},
                       "setting": {"type": "string", "enum": ["lab", "office", "home"]}},
    },
    "Contraception": {
        "type": "object",
        "required": ["id", "recorded_on", "started_on", "methods", "abstinence"],
        "properties": {"id": {"type": "integer"}, "recorded_on": DATE, "started_on": DATE,
                       "methods": METHOD_LIST, "abstinence": {"type": "boolean"}},
    },
    "Comprehension": {
        "type": "object",
        "required": ["id", "passed", "wrong"],
        "properties": {"id": {"type": "integer"}, "passed": {"type": "boolean"},
                       "wrong": {"type": "array", "items": {"type": "string"}}},
    },
    "Question": {
        "type": "object",
        "required": ["id", "statement"],
        "properties": {"id": {"type": "string"}, "statement": {"type": "string"}},
    },
    "ReportSummary": {
        "type": "object",
        "description": "The program report (docs/reports.md says how each number is counted).",
        "required": ["from", "to", "rule_set", "as_of", "active_patients", "new_enrollments",
                     "authorizations", "missed_windows", "dispenses", "refusals",
                     "refusal_events", "lockouts", "median_days_test_to_authorization",
                     "median_days_authorization_to_dispense", "delayed_fills",
                     "delayed_share", "delay_histogram", "comprehension_first_tries",
                     "comprehension_first_try_passes", "comprehension_first_try_rate",
                     "positive_tests", "positive_tests_unreported",
                     "registry_reports_outstanding", "prescribers_lapsed",
                     "pharmacies_lapsed", "pharmacies_due_for_renewal", "monthly",
                     "stored", "counted_at", "changes_since", "changes_since_capped"],
        "properties": {
            "from": DATE, "to": DATE, "as_of": DATE,
            "rule_set": {"type": ["string", "null"]},
            "active_patients": _COUNTS, "new_enrollments": _COUNTS,
            "authorizations": _COUNTS, "missed_windows": _COUNTS,
            "dispenses": _COUNT,
            "refusals": {"type": "object", "additionalProperties": _COUNTS,
                         "description": "Reason code -> audit action -> how many."},
            "refusal_events": _COUNTS,
            "lockouts": _COUNT,
            "median_days_test_to_authorization": _NUMBER_OR_NULL,
            "median_days_authorization_to_dispense": _NUMBER_OR_NULL,
            "delayed_fills": _COUNT, "delayed_share": _NUMBER_OR_NULL,
            "delay_histogram": _COUNTS,
            "comprehension_first_tries": _COUNT, "comprehension_first_try_passes": _COUNT,
            "comprehension_first_try_rate": _NUMBER_OR_NULL,
            "positive_tests": _COUNT, "positive_tests_unreported": _COUNT,
            "registry_reports_outstanding": _COUNT, "prescribers_lapsed": _COUNT,
            "pharmacies_lapsed": _COUNT, "pharmacies_due_for_renewal": _COUNT,
            "monthly": {"type": "object", "additionalProperties": _COUNTS,
                        "description": "YYYY-MM -> enrollments, authorizations, dispenses."},
            "stored": {"type": "boolean",
                       "description": "Whether this is the report stored by the nightly "
                                      "refresh (`tracker reports refresh`), counted for "
                                      "exactly this period and rule set as of today; false: "
                                      "counted now."},
            "counted_at": {**DATE_TIME, "description": "When the report's data was read "
                                                       "(UTC)."},
            "changes_since": {"type": ["integer", "null"], "minimum": 0,
                              "maximum": CHANGES_COUNTED_UP_TO,
                              "description": "A stored report: the events recorded in the "
                                             "audit trail after it was counted (every change "
                                             "is one; sign-ins and look-ups are too), counted "
                                             f"up to {CHANGES_COUNTED_UP_TO}; 0: the data is "
                                             "exactly what was "
                                             "counted. Null when counted now."},
            "changes_since_capped": {"type": "boolean",
                                     "description": "True when more events than "
                                                    "`changes_since` came after it."},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}},
    },
}


def _query(name: str, spec: dict[str, Any], calendar: Calendar) -> dict[str, Any]:
    """A query parameter; its schema may be a body Field (dates move with the calendar)."""
    schema = spec["schema"]
    if isinstance(schema, Field):
        schema = schema.schema(calendar)
    return {"name": name, "in": "query", **spec, "schema": schema}


def _parameters(op: Operation, calendar: Calendar) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    if "{id}" in op.path:
        params.append({"name": "id", "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1, "maximum": INT_MAX}})
    if "{number}" in op.path:
        params.append({"name": "number", "in": "path", "required": True,
                       "description": "The authorization number, e.g. 7K3M-Q9TX-2BND",
                       "schema": {"type": "string", "pattern": "^[0-9A-Za-z-]{1,20}$"}})
    for name, spec in op.query.items():
        params.append(_query(name, spec, calendar))
    if op.idempotent:
        params.append({"name": HEADER, "in": "header", "required": False,
                       "description": "The same key with the same body replays the first "
                                      "answer; with another body: 422. Answers are kept for "
                                      "TRACKER_IDEMPOTENCY_RETENTION_HOURS (default 72 h): "
                                      "retry within it, later the key is new again.",
                       "schema": {"type": "string", "pattern": f"^[!-~]{{1,{KEY_MAX}}}$"}})
    return params


def _request_body(op: Operation, calendar: Calendar) -> dict[str, Any] | None:
    if op.body is not None:
        return {"required": True, "content": {
            "application/json": {"schema": spec_schema(op.body, calendar)}}}
    if op.optional_body:
        return {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "maxProperties": 0}}}}
    return None


def _operation(op: Operation, calendar: Calendar) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in op.statuses:
        if code == op.status:
            responses[str(code)] = success_response(op, links(op.endpoint))
        else:
            responses[str(code)] = error_response(op, code)
    description = "Roles: " + ", ".join(op.roles) + "."
    if op.rules:
        # What JSON Schema cannot say (it depends on stored data): refused with 422.
        description += " Also refused with 422: " + op.rules
    out: dict[str, Any] = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "description": description,
        "x-roles": list(op.roles),
        "parameters": _parameters(op, calendar),
        "responses": responses,
        "security": [{"bearer": []}],
    }
    request_body = _request_body(op, calendar)
    if request_body is not None:
        out["requestBody"] = request_body
    return out


@lru_cache(maxsize=2)
def document(calendar: Calendar) -> dict[str, Any]:
    """The whole document, built once per program date: it depends on the declarations and on
    the date bounds (today's date, the first rule set's start)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault("/api/v1" + op.path, {})[op.method.lower()] = _operation(op, calendar)
    paths["/api/v1/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This document", "security": [],
        "responses": {"200": {"description": "The OpenAPI document",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    health = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
    paths["/healthz"] = {"get": {
        "operationId": "healthz", "summary": "Health check", "security": [],
        "responses": {
            "200": {"description": "The database is reachable", **health},
            "503": {"description": "The database is unreachable", "headers": RETRY_AFTER,
                    **health},
        },
    }}
    paths.update(openapi_interop.paths())
    return {
        "openapi": "3.1.0",
        "info": {"title": "tracker API", "version": "1.0.0",
                 "description": "Eligibility tracker for the isotretinoin pregnancy-prevention "
                                "program (iPLEDGE REMS). Dates are program dates "
                                "(America/New_York by default) written YYYY-MM-DD; times are UTC. "
                                "Errors "
                                "are RFC 9457 problem documents (OperationOutcome under "
                                "FHIR). Pharmacy staff see clinical "
                                "reasons only as PRESCRIBER_ACTION_REQUIRED."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **_EXTRA_SCHEMAS, **openapi_interop.SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `tracker tokens create` "
                                                          "or the admin pages"},
                                **openapi_interop.SECURITY_SCHEMES},
        },
    }
