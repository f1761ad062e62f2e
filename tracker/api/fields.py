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

from tracker.api.patterns import date_pattern, text_pattern
from tracker.db import INT_MAX
from tracker.services.errors import ValidationFailed

STRING_MAX = 500
INT_MIN = -(2**31)  # with tracker.db.INT_MAX: what an integer column holds (PostgreSQL)
# Only the calendar form: date.fromisoformat also reads week dates such as 2026-W50-2.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LINE_BREAKS = frozenset("\n\r\t")
EARLIEST_BIRTH = date(1900, 1, 1)  # RULES.md: a birth date is after 1900 (services.patients)


@dataclass(frozen=True)
class DateRange:
    """The dates a date field accepts: from `earliest` (or, when `from_first_rule_set`, the day
    the first rule set came into force) to today's program date. `also` says in words what
    depends on stored data and JSON Schema cannot state (e.g. the patient's birth date)."""

    earliest: date = date(1, 1, 1)
    from_first_rule_set: bool = False
    also: str = ""


@dataclass(frozen=True)
class Calendar:
    """What the document's date bounds are computed from: they move with the program date."""

    today: date
    first_rule_set: date


BIRTH_DATES = DateRange(EARLIEST_BIRTH)
# RULES.md §1: a clinical date is not in the future and not before the patient's birth date
# (itself from 1900); the birth date is stored data, so it is said in words.
RECORD_DATES = DateRange(EARLIEST_BIRTH, also="It is also not before the patient's birth date.")
PAST_DATES = DateRange()


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
    # string: a person's name (the service refuses invisible formatting characters too), or a
    # pattern of its own that replaces the text pattern
    name: bool = False
    pattern: str | None = None
    dates: DateRange = PAST_DATES  # date: the dates accepted (checked by the services)
    true_only: bool = False  # bool: only true is accepted (checked by the service)
    # methods: at least one of `primary` is needed unless the body's `abstinence_field` is true
    primary: tuple[str, ...] = ()
    abstinence_field: str | None = None

    def schema(self, calendar: Calendar) -> dict[str, Any]:
        """The field as JSON Schema (OpenAPI 3.1), with date bounds as of `calendar`."""
        if self.kind == "string":
            out: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": self.max_length,
                                   "pattern": self.pattern or text_pattern(
                                       multiline=self.multiline, name=self.name)}
        elif self.kind == "date":
            out = date_schema(self.dates, calendar)
        elif self.kind == "bool":
            out = {"type": "boolean", "enum": [True]} if self.true_only else {"type": "boolean"}
        elif self.kind == "int":
            # JSON Schema counts 30.0 as an integer; this API reads only the plain form.
            out = {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX,
                   "description": "A whole number written without a fraction or exponent "
                                  "(30, not 30.0)."}
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
            out["description"] = " ".join(filter(None, (self.description,
                                                         out.get("description"))))
        return out


Spec = dict[str, Field]


def date_schema(dates: DateRange, calendar: Calendar) -> dict[str, Any]:
    """A date from the range's first day to today: as a pattern (which generators and validators
    respect), as `x-minimum-date`/`x-maximum-date`, and in words."""
    earliest = calendar.first_rule_set if dates.from_first_rule_set else dates.earliest
    latest = calendar.today
    since = (f"{earliest.isoformat()} (the first rule set's start)" if dates.from_first_rule_set
             else earliest.isoformat())
    words = f"A date from {since} to today's program date ({latest.isoformat()})."
    return {"type": "string", "format": "date", "pattern": date_pattern(earliest, latest),
            "x-minimum-date": earliest.isoformat(), "x-maximum-date": latest.isoformat(),
            "description": " ".join(filter(None, (words, dates.also)))}


def _contraception_rule(spec: Spec) -> list[dict[str, Any]]:
    """RULES.md §6.2 for each methods field tied to an abstinence field: abstinence and no
    method, or two different methods of which at least one primary."""
    rules = []
    for name, f in spec.items():
        if f.kind != "methods" or f.abstinence_field is None:
            continue
        rules.append({"oneOf": [
            {"properties": {f.abstinence_field: {"const": True}, name: {"maxItems": 0}}},
            {"properties": {f.abstinence_field: {"const": False},
                            name: {"minItems": 2, "contains": {"enum": list(f.primary)}}}},
        ]})
    return rules


def spec_schema(spec: Spec, calendar: Calendar) -> dict[str, Any]:
    """A body spec as the JSON Schema of an object that admits no other field."""
    out: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, f in spec.items() if f.required],
        "properties": {name: f.schema(calendar) for name, f in spec.items()},
    }
    rules = _contraception_rule(spec)
    if len(rules) == 1:
        out.update(rules[0])
    elif rules:
        out["allOf"] = rules
    return out


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
