"""The OpenAPI document states what the API accepts: its text and date patterns agree with the
checks that refuse input, date bounds move with the program date, the contraception rule is
declared, refusals (409, 422, 429) come with examples, and links lead to real operations."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from typing import Any

import jsonschema_rs
from flask.testing import FlaskClient
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracker.api.fields import Calendar, spec_schema, text_problem
from tracker.api.patterns import date_pattern, text_pattern
from tracker.api.routes import COMPREHENSION, CONTRACEPTION
from tracker.domain.contraception import PRIMARY_METHODS, SECONDARY_METHODS, contraception_errors
from tracker.services.text import name_problem


def _document(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def _body(doc: dict[str, Any], path: str) -> dict[str, Any]:
    return doc["paths"]["/api/v1" + path]["post"]["requestBody"]["content"][
        "application/json"]["schema"]


def test_date_pattern_admits_exactly_the_dates_of_its_range() -> None:
    rng = random.Random(20)
    first, span = date(1, 1, 1), (date(9999, 12, 31) - date(1, 1, 1)).days
    for _ in range(30):
        low = first + timedelta(days=rng.randrange(span))
        high = min(low + timedelta(days=rng.randrange(3000)), date(9999, 12, 31))
        pattern = re.compile(date_pattern(low, high))
        for _ in range(400):
            day = low + timedelta(days=rng.randrange(-800, (high - low).days + 800)) \
                if low.year > 3 and high.year < 9997 else first + timedelta(rng.randrange(span))
            assert bool(pattern.fullmatch(day.isoformat())) == (low <= day <= high), (low, high,
                                                                                     day)
        assert pattern.fullmatch(low.isoformat()) and pattern.fullmatch(high.isoformat())
        assert not pattern.fullmatch(low.isoformat().replace("-", "/"))


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.text(max_size=12))
@example("Ann\u200bLee")
@example("\u202eAnn")
@example("Ann\nLee")
@example("\t")
@example("\u00a0\u3000")
@example("Ann\x85")
def test_text_patterns_agree_with_the_checks(value: str) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return  # a lone surrogate is no character; the patterns leave it to the checks
    fine = bool(value.strip())
    for multiline in (False, True):
        single = re.fullmatch(text_pattern(multiline=multiline), value) is not None
        assert single == (fine and text_problem(value, multiline) is None), value
    name = re.fullmatch(text_pattern(name=True), value) is not None
    assert name == (fine and text_problem(value) is None and name_problem(value) is None), value


def test_date_bounds_are_those_of_today(client: FlaskClient) -> None:
    doc = _document(client)
    born = _body(doc, "/patients")["properties"]["date_of_birth"]
    today = born["x-maximum-date"]
    assert born["x-minimum-date"] == "1900-01-01"
    assert re.fullmatch(born["pattern"], today) and re.fullmatch(born["pattern"], "1900-01-01")
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    assert not re.fullmatch(born["pattern"], tomorrow)
    assert not re.fullmatch(born["pattern"], "1899-12-31")
    as_of = next(p for p in doc["paths"]["/api/v1/prescriptions/{id}/eligibility"]["get"][
        "parameters"] if p["name"] == "as_of")["schema"]
    assert as_of["x-minimum-date"] == "2021-12-13"  # RULES.md §2: ipledge-2021
    assert not re.fullmatch(as_of["pattern"], "2021-12-12")
    counseled = _body(doc, "/patients/{id}/counseling")["properties"]["counseled_on"]
    assert "birth date" in counseled["description"]


def test_the_contraception_rule_is_declared() -> None:
    calendar = Calendar(date(2026, 12, 1), date(2021, 12, 13))
    for spec, field in ((CONTRACEPTION, "methods"), (COMPREHENSION, "contraception_methods")):
        schema = spec_schema(spec, calendar)
        others = {name: None for name in spec if name not in (field, "abstinence")}
        choices = [[], ["iud"], ["iud", "iud"], ["iud", "male_condom"],
                   ["male_condom", "vaginal_sponge"], ["patch", "iud", "male_condom"],
                   list(SECONDARY_METHODS), [PRIMARY_METHODS[0], SECONDARY_METHODS[0]]]
        for methods in choices:
            for abstinence in (False, True):
                body = {**others, field: methods, "abstinence": abstinence}
                valid = jsonschema_rs.Draft202012Validator(
                    {**schema, "required": [], "properties": {
                        field: schema["properties"][field]}, "additionalProperties": True}
                ).is_valid(body)
                assert valid == (contraception_errors(methods, abstinence) == []), body


def test_refusals_have_examples_and_429_says_when_to_retry(client: FlaskClient) -> None:
    doc = _document(client)
    seen = set()
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/") or path.endswith("openapi.json"):
            continue
        for operation in item.values():
            for status in ("409", "422", "429"):
                answer = operation["responses"].get(status)
                if answer is None:
                    continue
                seen.add(status)
                example = answer["content"]["application/problem+json"]["example"]
                problem = {**doc["components"]["schemas"]["Problem"],
                           "components": doc["components"]}  # where its $refs point
                assert jsonschema_rs.Draft202012Validator(problem).is_valid(example), example
                assert example["status"] == int(status)
                if status == "422":
                    assert example["errors"]
                if status == "409":
                    assert example["unmet"]
                if status == "429":
                    assert answer["headers"]["Retry-After"]["required"] is True
    assert seen == {"409", "422", "429"}


def test_what_json_schema_cannot_say_is_in_the_description(client: FlaskClient) -> None:
    doc = _document(client)
    patch = doc["paths"]["/api/v1/patients/{id}"]["patch"]
    assert "already has" in patch["description"]
    ack = doc["paths"]["/api/v1/patients/{id}/acknowledgments"]["post"]
    assert "registered name" in ack["description"]
    assert "registered name" in ack["responses"]["422"]["description"]


def test_links_lead_to_operations_with_their_parameters(client: FlaskClient) -> None:
    doc = _document(client)
    operations = {op["operationId"]: op for item in doc["paths"].values()
                  for op in item.values()}
    targets = set()
    for operation in operations.values():
        for answer in operation["responses"].values():
            for link in answer.get("links", {}).values():
                target = operations[link["operationId"]]
                targets.add(link["operationId"])
                names = {f'{p["in"]}.{p["name"]}' for p in target.get("parameters", [])}
                assert set(link.get("parameters", {})) <= names, link
                if "requestBody" in link:
                    body = target["requestBody"]["content"]["application/json"]["schema"]
                    assert set(link["requestBody"]) <= set(body["properties"]), link
    # a registration leads to the patient's records and prescriptions, a prescription to its
    # eligibility and authorization, an authorization to the pharmacy's operations
    assert targets >= {"get_patient", "patch_patient", "post_acknowledgment", "post_counseling",
                       "post_pregnancy_test", "post_contraception", "post_comprehension",
                       "post_course_end", "create_prescription", "get_prescription",
                       "get_eligibility", "post_authorize", "get_authorization", "post_reverse",
                       "post_dispense"}
