"""Strict request bodies: each endpoint declares its fields once; the same declaration parses
the body (every problem reported per field, unknown fields refused) and describes it in the
OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from tracker.services.errors import ValidationFailed

STRING_MAX = 500


@dataclass(frozen=True)
class Field:
    kind: str  # string, date, bool, int, enum, methods, answers
    required: bool = True
    max_length: int = STRING_MAX
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    description: str = ""
    nullable: bool = False

    def schema(self) -> dict[str, Any]:
        """The field as JSON Schema (OpenAPI 3.1)."""
        if self.kind == "string":
            out: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": self.max_length}
        elif self.kind == "date":
            out = {"type": "string", "format": "date"}
        elif self.kind == "bool":
            out = {"type": "boolean"}
        elif self.kind == "int":
            out = {"type": "integer"}
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        elif self.kind == "enum":
            out = {"type": "string", "enum": list(self.choices)}
        elif self.kind == "methods":
            out = {"type": "array", "items": {"type": "string", "enum": list(self.choices)},
                   "maxItems": 12}
        else:  # answers
            out = {"type": "object", "additionalProperties": {"type": "boolean"},
                   "propertyNames": {"enum": list(self.choices)}}
        if self.nullable:
            out = {"anyOf": [out, {"type": "null"}]}
        if self.description:
            out["description"] = self.description
        return out


Spec = dict[str, Field]


def spec_schema(spec: Spec) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, f in spec.items() if f.required],
        "properties": {name: f.schema() for name, f in spec.items()},
    }


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


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
        elif f.minimum is not None and value < f.minimum:
            bad(f"At least {f.minimum}.")
        elif f.maximum is not None and value > f.maximum:
            bad(f"At most {f.maximum}.")
        else:
            return value
    elif f.kind == "enum":
        if value not in f.choices:
            bad("One of: " + ", ".join(f.choices) + ".")
        else:
            return value
    elif f.kind == "methods":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            bad("Give a list of method codes.")
        elif len(value) > 12:
            bad("At most 12 methods.")
        else:
            return value  # the service names unknown codes
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
            errors.setdefault(name, []).append("Unknown field.")
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
