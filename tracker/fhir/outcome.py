"""FHIR answers: `application/fhir+json` bodies and errors as OperationOutcome (FHIR R4
"RESTful API": an error answers with an OperationOutcome), never a stack trace."""

from __future__ import annotations

import json
from typing import Any

from flask.wrappers import Response

FHIR_JSON = "application/fhir+json"
# The issue type (http://hl7.org/fhir/issue-type) of each status an answer can have.
_ISSUE_TYPES = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    412: "required",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}
_DETAILS = {
    400: "The request could not be read as a FHIR Parameters resource.",
    401: "Send valid credentials: Authorization: Bearer <API token> for FHIR, or the signed JWT "
         "of a registered CDS client for CDS Hooks.",
    415: "Send the body as application/fhir+json or application/json.",
}


def fhir_json(resource: dict[str, Any], status: int = 200) -> Response:
    """A FHIR resource as the answer's body."""
    return Response(json.dumps(resource, ensure_ascii=False), status=status,
                    mimetype=FHIR_JSON)


def operation_outcome(status: int, detail: str) -> Response:
    """An error as an OperationOutcome with one issue that says what to do."""
    issue = {
        "severity": "error" if status < 500 else "fatal",
        "code": _ISSUE_TYPES.get(status, "exception"),
        "diagnostics": detail,
    }
    response = fhir_json({"resourceType": "OperationOutcome", "issue": [issue]}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def error_answer(status: int, detail: str) -> Response:
    """The OperationOutcome of an error the HTTP plumbing answers (tracker.http.errors)."""
    return operation_outcome(status, _DETAILS.get(status, detail))
