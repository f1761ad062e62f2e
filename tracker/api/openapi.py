"""The OpenAPI 3.1 document, generated from the operation declarations."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tracker.api.fields import spec_schema
from tracker.api.registry import OPERATIONS, Operation
from tracker.api.shapes import SCHEMAS

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
                       "signed_on": {"type": "string", "format": "date"},
                       "meaning": {"type": "string"},
                       "signed_at": {"type": "string", "format": "date-time"}},
    },
    "Record": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
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
}

_ERROR_TEXT = {
    400: "Malformed JSON",
    401: "No token or a bad one",
    403: "The role may not do this",
    404: "Not found (or another prescriber's)",
    409: "Refused by a rule: every unmet requirement in `unmet`",
    415: "The body is not application/json",
    422: "Invalid input: `errors` names each field",
}


def _problem(code: int) -> dict[str, Any]:
    return {"description": _ERROR_TEXT[code],
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    if "{id}" in op.path:
        params.append({"name": "id", "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1}})
    if "{number}" in op.path:
        params.append({"name": "number", "in": "path", "required": True,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 20}})
    for name, spec in op.query.items():
        params.append({"name": name, "in": "query", **spec})
    if op.idempotent:
        params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                       "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
    return params


def _operation(op: Operation) -> dict[str, Any]:
    answer: dict[str, Any] = {"$ref": f"#/components/schemas/{op.answer}"}
    if op.answer_list:
        answer = {"type": "array", "items": answer}
    responses: dict[str, Any] = {
        str(op.status): {"description": "Success",
                         "content": {"application/json": {"schema": answer}}},
        "401": _problem(401),
        "403": _problem(403),
    }
    codes = set(op.errors)
    if op.body is not None:
        codes |= {400, 415, 422}
    for code in sorted(codes):
        responses[str(code)] = _problem(code)
    out: dict[str, Any] = {
        "operationId": op.view.__name__ if op.view else op.path,
        "summary": op.summary,
        "description": "Roles: " + ", ".join(op.roles) + ".",
        "parameters": _parameters(op),
        "responses": responses,
        "security": [{"bearer": []}],
    }
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": spec_schema(op.body)}}}
    return out


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault("/api/v1" + op.path, {})[op.method.lower()] = _operation(op)
    paths["/api/v1/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This document", "security": [],
        "responses": {"200": {"description": "The OpenAPI document",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    paths["/healthz"] = {"get": {
        "operationId": "healthz", "summary": "Health check", "security": [],
        "responses": {
            "200": {"description": "The database is reachable", "content": {
                "application/json": {"schema": {"type": "object", "required": ["status"],
                                                "properties": {"status": {"const": "ok"}}}}}},
            "503": {"description": "The database is unreachable", "content": {
                "application/json": {"schema": {"type": "object"}}}},
        },
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "tracker API", "version": "1.0.0",
                 "description": "Eligibility tracker for the isotretinoin pregnancy-prevention "
                                "program. Dates are program dates (America/New_York)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **_EXTRA_SCHEMAS},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `tracker tokens create`"}},
        },
    }
