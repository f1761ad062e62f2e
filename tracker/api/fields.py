"""Strict request bodies: each endpoint declares its fields once; the same declaration parses
the body (every problem reported per field, unknown fields refused) and describes it in the
OpenAPI document.

Whatever passes here can be stored by either database: text is valid Unicode without control
characters (PostgreSQL refuses NUL, and a lone surrogate cannot be encoded), whole numbers fit a
PostgreSQL `integer`, dates are real calendar dates written YYYY-MM-DD."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from tracker.db import INT_MAX
from tracker.services.errors import ValidationFailed

STRING_MAX = 500
INT_MIN = -(2**31)  # with tracker.db.INT_MAX: what an integer column holds (PostgreSQL)
# Only the calendar form: date.fromisoformat also reads week dates such as 2026-W50-2.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LINE_BREAKS = frozenset("\n\r\t")


@dataclass(frozen=True)
class Field:
    """One body field: its kind (string, date, bool, int, enum, methods, answers) and limits.

    `enforce_range=False` keeps an int field's bounds in the document but leaves the check to
    the service, whose message quotes the rule book (days' supply, refills)."""

    kind: str
    required: bool = True
    max_length: int = STRING_MAX
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    description: str = ""
    nullable: bool = False
    multiline: bool = False
    enforce_range: bool = True

    def schema(self) -> dict[str, Any]:
        """The field as JSON Schema (OpenAPI 3.1)."""
        if self.kind == "string":
            out: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": self.max_length}
        elif self.kind == "date":
            out = {"type": "string", "format": "date"}
        elif self.kind == "bool":
            out = {"type": "boolean"}
        elif self.kind == "int":
            out = {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        elif self.kind == "enum":
            out = {"type": "string", "enum": list(self.choices)}
        elif self.kind == "methods":
            out = {"type": "array", "items": {"type": "string", "enum": list(self.choices)},
                   "maxItems": len(self.choices), "uniqueItems": True}
        else:  # answers: every question answered true or false
            out = {"type": "object", "additionalProperties": False,
                   "required": list(self.choices),
                   "properties": {qid: {"type": "boolean"} for qid in self.choices}}
        if self.nullable:
            out = {"anyOf": [out, {"type": "null"}]}
        if self.description:
            out["description"] = self.description
        return out


Spec = dict[str, Field]


def spec_schema(spec: Spec) -> dict[str, Any]:
    """A body spec as the JSON Schema of an object that admits no other field."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, f in spec.items() if f.required],
        "properties": {name: f.schema() for name, f in spec.items()},
    }


def parse_date(value: Any) -> date | None:
    """A real calendar date written YYYY-MM-DD, or None."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Why a text cannot be stored as it is (None when it can)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Use valid Unicode text."
    allowed = _LINE_BREAKS if multiline else frozenset()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        return ("Use printable text without control characters"
                + (" (line breaks and tabs are allowed)." if multiline else "."))
    return None


def _int_problem(f: Field, value: int) -> str | None:
    low = f.minimum if f.minimum is not None else INT_MIN
    high = f.maximum if f.maximum is not None else INT_MAX
    # Without enforce_range only what no column can hold is refused here.
    inside = low <= value <= high if f.enforce_range else INT_MIN <= value <= INT_MAX
    return None if inside else f"Give a whole number from {low} to {high}."


def _parse(name: str, f: Field, value: Any, errors: dict[str, list[str]]) -> Any:
    def bad(message: str) -> None:
        errors.setdefault(name, []).append(message)

    if value is None:
        if not f.nullable:
            bad("This field cannot be null.")
        return None
    if f.kind == "string":
        if not isinstance(value, str) or not value.strip():
            bad("Give a non-empty text.")
        elif len(value) > f.max_length:
            bad(f"At most {f.max_length} characters.")
        elif problem := text_problem(value, f.multiline):
            bad(problem)
        else:
            return value
    elif f.kind == "date":
        parsed = parse_date(value)
        if parsed is None:
            bad("Give a real date as YYYY-MM-DD.")
        return parsed
    elif f.kind == "bool":
        if not isinstance(value, bool):
            bad("Give true or false.")
        return value
    elif f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            bad("Give a whole number.")
        elif problem := _int_problem(f, value):
            bad(problem)
        else:
            return value
    elif f.kind == "enum":
        if not isinstance(value, str) or value not in f.choices:
            bad("Give one of: " + ", ".join(f.choices) + ".")
        else:
            return value
    elif f.kind == "methods":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad("Give a list of method codes: " + ", ".join(f.choices) + ".")
        elif len(value) > len(f.choices):
            bad(f"At most {len(f.choices)} methods.")
        elif any(text_problem(v) for v in value):
            bad("Give the method codes as printable text.")
        else:
            return value  # the service names unknown or repeated codes
    elif f.kind == "answers":
        if not isinstance(value, dict):
            bad("Give an object of question id to true/false.")
        else:
            return value  # the service checks ids and values
    return None


def parse(spec: Spec, body: Any) -> dict[str, Any]:
    """Parse a JSON body against a spec; raise ValidationFailed naming every bad field."""
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["Send a JSON object."]})
    errors: dict[str, list[str]] = {}
    for name in body:
        if name not in spec:
            errors.setdefault(name, []).append(
                "Unknown field; the accepted fields are: " + ", ".join(spec) + "."
                if spec else "Unknown field; send an empty object or no body.")
    out: dict[str, Any] = {}
    for name, f in spec.items():
        if name not in body:
            if f.required:
                errors.setdefault(name, []).append("This field is required.")
            continue
        out[name] = _parse(name, f, body[name], errors)
    if errors:
        raise ValidationFailed(errors)
    return out
