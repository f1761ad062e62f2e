"""The responses of an API operation in the OpenAPI document: its success and its problem
documents (RFC 9457), each error status with the words of API.md and, for the refusals a client
must handle (409, 422, 429), an example. A new status is one entry in ERROR_TEXT."""

from __future__ import annotations

from typing import Any

from tracker.api.registry import Operation
from tracker.http.errors import TITLES

PROBLEM = {"$ref": "#/components/schemas/Problem"}

ERROR_TEXT = {
    400: "Malformed JSON",
    401: "No token, or one that is unknown, revoked or of a deactivated user",
    403: "The role may not do this",
    404: "Not found (another prescriber's patient or prescription answers the same)",
    409: "Refused by a rule (every unmet requirement in `unmet`), or a request with the same "
         "Idempotency-Key is still in progress",
    413: "The body is larger than the API reads",
    415: "The body is not application/json",
    422: "Invalid input: `errors` names each field and what it accepts",
    429: "Too many failed attempts: the authorization number (5 wrong birth dates in 24 hours) "
         "or the user's lookups (30 failures in an hour) are locked; `Retry-After` says for "
         "how many seconds",
    503: "The database cannot be reached for a moment (a restart, a failover): nothing can be "
         "confirmed. Send the request again after `Retry-After` seconds; a write that takes "
         "an Idempotency-Key is applied at most once when sent again with the same key. "
         "`code` is DATABASE_UNAVAILABLE",
}

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending it again",
                               "required": True, "schema": {"type": "integer", "minimum": 1}}}

# One message per reason code an example shows (the engine's words for it).
_REASON_EXAMPLES = {
    "NOT_DISPENSABLE": "The prescription has no open authorization.",
    "PATIENT_NOT_ENROLLED": "The patient has not signed the acknowledgment for their category.",
    "ALREADY_DISPENSED": "This prescription has already been dispensed.",
}


def _problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail, **extra}


def _invalid_example(op: Operation) -> dict[str, Any]:
    """A 422 as the operation answers it: a required field missing, or else its first query
    parameter or its Idempotency-Key malformed."""
    if op.body:
        field = next((name for name, f in op.body.items() if f.required), next(iter(op.body)))
        errors = {field: ["This field is required."]}
    elif op.query:
        errors = {next(iter(op.query)): ["Give a date as YYYY-MM-DD."]}
    else:
        errors = {"Idempotency-Key": ["This key was used with a different body; use a new key "
                                      "for a new request."]}
    return _problem(422, "Some fields are not valid.", errors=errors)


def _example(op: Operation, status: int) -> dict[str, Any] | None:
    if status == 422:
        return _invalid_example(op)
    if status == 409:
        code = op.conflict_example
        return _problem(409, _REASON_EXAMPLES[code], unmet=[
            {"code": code, "message": _REASON_EXAMPLES[code], "met_from": None}])
    if status == 429:
        return _problem(429, "Too many wrong birth dates for this authorization number. Try "
                             "again in 24 hours.")
    return None


def error_response(op: Operation, status: int) -> dict[str, Any]:
    """A problem document answer of the operation."""
    description = ERROR_TEXT.get(status) or TITLES.get(status, "Error")
    if status == 422 and op.rules:
        description += ". Also: " + op.rules
    media: dict[str, Any] = {"schema": PROBLEM}
    example = _example(op, status)
    if example is not None:
        media["example"] = example
    out: dict[str, Any] = {"description": description,
                           "content": {"application/problem+json": media}}
    if status == 429:
        out["headers"] = {"Retry-After": {
            "description": "Seconds until the lock ends", "required": True,
            "schema": {"type": "integer", "minimum": 1}}}
    elif status == 503:
        out["headers"] = RETRY_AFTER
    return out


def success_response(op: Operation, links: dict[str, Any]) -> dict[str, Any]:
    """The operation's success answer, with the links stateful clients follow from it."""
    answer: dict[str, Any] = {"$ref": f"#/components/schemas/{op.answer}"}
    if op.answer_list:
        answer = {"type": "array", "items": answer}
    out: dict[str, Any] = {"description": "Success",
                           "content": {"application/json": {"schema": answer}}}
    if links:
        out["links"] = links
    return out
