"""Strict bodies: JSON only (415), well-formed (400), no unknown fields, and every type,
enumeration, date and length checked, with `errors` naming each field (422). Whatever is
refused stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from tests.api.scenarios import World, build_world, is_problem, valid_request
from tracker.api.registry import OPERATIONS, Operation
from tracker.models import Patient
from tracker.services.context import Context

BODY_OPERATIONS = [op for op in OPERATIONS if op.body is not None]
DATE_FIELDS = [(op, name) for op in BODY_OPERATIONS
               for name, f in op.body.items() if f.kind == "date"]  # type: ignore[union-attr]
CLINICAL_DATE_FIELDS = [(op, name) for op, name in DATE_FIELDS if name != "date_of_birth"]


@pytest.fixture
def w(app: Flask, ctx: Context) -> World:
    return build_world(app, ctx)


def _send_body(w: World, op: Operation, **changes: Any) -> Any:
    method, path, kw = valid_request(op.endpoint, w)
    return w.send(op.roles[0], method, path, json={**kw.get("json", {}), **changes})


def _errors(response: Any) -> dict[str, list[str]]:
    assert is_problem(response, 422), response.get_data(as_text=True)[:400]
    return response.get_json()["errors"]


def _ids(cases: list[tuple[Operation, str]]) -> list[str]:
    return [f"{op.method} {op.path} {name}" for op, name in cases]


# --- 400: not JSON --------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b'{"first_name": "Ana"',  # cut short
    b'{"first_name": "Ana"} trailing',
    b"{'first_name': 'Ana'}",  # not JSON quotes
    b'{"quantity": NaN}',
    b'{"quantity": Infinity}',
    b"\xff\xfe\xfa",  # not UTF-8
    b"",
    b"[" * 20_000 + b"]" * 20_000,  # nested deeper than any parser should follow
], ids=["truncated", "trailing", "single-quotes", "nan", "infinity", "not-utf8", "empty",
        "deep-nesting"])
def test_malformed_json_answers_400(w: World, raw: bytes) -> None:
    response = w.send("prescriber", "POST", "/patients", data=raw,
                      content_type="application/json")
    assert is_problem(response, 400)
    assert w.count(Patient) == 0


# --- 415: not application/json --------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
    "application/xml", "application/jsonx",
])
def test_a_body_that_is_not_application_json_answers_415(w: World,
                                                         content_type: str | None) -> None:
    kw: dict[str, Any] = {"data": '{"home_testing_permitted": true}'}
    if content_type:
        kw["content_type"] = content_type
    response = w.send("prescriber", "PATCH", "/prescribers/me", **kw)
    assert is_problem(response, 415)
    assert response.get_json()["detail"] == "Send the body as application/json."


def test_json_with_a_charset_parameter_is_json(w: World) -> None:
    response = w.send("prescriber", "PATCH", "/prescribers/me",
                      data='{"home_testing_permitted": true}',
                      content_type="application/json; charset=utf-8")
    assert response.status_code == 200


def test_a_body_on_authorize_must_be_json_too(w: World) -> None:
    response = w.send("prescriber", "POST", f"/prescriptions/{w.rx.id}/authorize",
                      data="now please", content_type="text/plain")
    assert is_problem(response, 415)


def test_an_empty_object_on_authorize_is_accepted(w: World) -> None:
    response = w.send("prescriber", "POST", f"/prescriptions/{w.rx.id}/authorize", json={})
    assert response.status_code == 200


def test_a_body_larger_than_the_api_reads_answers_413(w: World) -> None:
    response = w.send("prescriber", "POST", "/patients",
                      json={"first_name": "A" * 70_000})
    assert is_problem(response, 413)


# --- 422: the shape of the body -------------------------------------------------------------

@pytest.mark.parametrize("body", [[], "patient", 42, None, True],
                         ids=["array", "string", "number", "null", "boolean"])
def test_a_body_that_is_not_an_object_is_refused(w: World, body: Any) -> None:
    response = w.send("prescriber", "POST", "/patients", data=json.dumps(body),
                      content_type="application/json")
    assert _errors(response) == {"body": ["Send a JSON object."]}


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=[f"{o.method} {o.path}" for o in
                                                      BODY_OPERATIONS])
def test_unknown_fields_are_refused_and_named(w: World, op: Operation) -> None:
    response = _send_body(w, op, sneaky=1, isAdmin=True)
    errors = _errors(response)
    assert set(errors) == {"sneaky", "isAdmin"}
    # The message lists what is accepted.
    assert all(name in errors["sneaky"][0] for name in op.body)  # type: ignore[union-attr]


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=[f"{o.method} {o.path}" for o in
                                                      BODY_OPERATIONS])
def test_missing_required_fields_are_each_named(w: World, op: Operation) -> None:
    method, path, _ = valid_request(op.endpoint, w)
    errors = _errors(w.send(op.roles[0], method, path, json={}))
    required = {name for name, f in op.body.items() if f.required}  # type: ignore[union-attr]
    if not required:
        # Every field is optional (PATCH /patients/{id}): an empty body is refused with the
        # fields that can change, all of them named.
        assert list(errors) == ["body"]
        changeable = set(op.body) - {"reason"}  # type: ignore[arg-type]
        assert all(name in errors["body"][0] for name in changeable)
        return
    assert set(errors) == required
    assert all(messages == ["This field is required."] for messages in errors.values())


def test_every_bad_field_is_reported_at_once(w: World) -> None:
    errors = _errors(w.send("prescriber", "POST", "/patients", json={
        "first_name": "", "last_name": 7, "date_of_birth": "soon", "category": "female"}))
    assert set(errors) == {"first_name", "last_name", "date_of_birth", "category"}
    assert errors["category"] == ["Give one of: can_get_pregnant, cannot_get_pregnant."]


@pytest.mark.parametrize(("field", "value"), [
    ("days_supply", "30"), ("days_supply", 30.5), ("days_supply", 30.0), ("days_supply", True),
    ("quantity", [30]), ("patient_id", "1"), ("refills", None), ("written_on", 20261215),
])
def test_numbers_and_dates_must_have_their_json_type(w: World, field: str, value: Any) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_prescription")
    assert field in _errors(_send_body(w, op, **{field: value}))


@pytest.mark.parametrize(("field", "value"), [
    ("patient_id", 2**31), ("patient_id", 10**30), ("patient_id", 0), ("patient_id", -1),
    ("quantity", 10**20), ("quantity", 0), ("days_supply", 31), ("days_supply", 0),
    ("days_supply", -(10**20)), ("refills", 1), ("refills", 10**25),
])
def test_numbers_out_of_range_are_refused_with_the_accepted_range(w: World, field: str,
                                                                  value: int) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_prescription")
    messages = _errors(_send_body(w, op, **{field: value}))[field]
    assert any(word in messages[0] for word in ("from", "Refills")), messages


def test_booleans_must_be_true_or_false(w: World) -> None:
    errors = _errors(w.send("prescriber", "PATCH", "/prescribers/me",
                            json={"home_testing_permitted": 1}))
    assert errors == {"home_testing_permitted": ["Give true or false."]}


def test_enumerations_name_their_values(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "post_pregnancy_test")
    errors = _errors(_send_body(w, op, result="inconclusive", setting="LAB"))
    assert errors["result"] == ["Give one of: negative, positive."]
    assert errors["setting"] == ["Give one of: lab, office, home."]


# --- 422: dates -----------------------------------------------------------------------------

@pytest.mark.parametrize(("op", "field"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
def test_dates_in_the_future_are_refused(w: World, op: Operation, field: str) -> None:
    errors = _errors(_send_body(w, op, **{field: "2026-12-16"}))  # tomorrow
    assert field in errors


IMPOSSIBLE_DATES = ["2026-02-30", "2026-13-01", "2026-00-10", "2026-W50-2", "20261201",
                    "2026-12-1", "12/01/2026", "2026-12-01T00:00", " 2026-12-01", "",
                    "２０２６-12-01"]


@pytest.mark.parametrize(("op", "field"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
def test_impossible_or_misspelt_dates_are_refused(w: World, op: Operation, field: str) -> None:
    for value in IMPOSSIBLE_DATES:
        errors = _errors(_send_body(w, op, **{field: value}))
        assert errors[field] == ["Give a real date as YYYY-MM-DD."], value


@pytest.mark.parametrize(("op", "field"), CLINICAL_DATE_FIELDS,
                         ids=_ids(CLINICAL_DATE_FIELDS))
def test_clinical_dates_before_the_patients_birth_are_refused(w: World, op: Operation,
                                                              field: str) -> None:
    # The patient of the world was born on 1995-04-02.
    errors = _errors(_send_body(w, op, **{field: "1995-04-01"}))
    assert any("birth date" in m for m in errors[field]), errors


def test_the_future_date_message_names_the_latest_accepted_date(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "post_counseling")
    assert "2026-12-15" in _errors(_send_body(w, op, counseled_on="2027-01-01"))[
        "counseled_on"][0]


def test_a_birth_date_in_the_future_or_before_1900_is_refused(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_patient")
    assert "date_of_birth" in _errors(_send_body(w, op, date_of_birth="2026-12-16"))
    assert "date_of_birth" in _errors(_send_body(w, op, date_of_birth="1899-12-31"))
    assert w.count(Patient) == 0


@pytest.mark.parametrize("as_of", ["2026-12-16", "2021-12-12", "0001-01-01", "9999-12-31",
                                   "yesterday", "2026-02-29", ""])
def test_eligibility_is_asked_of_today_or_a_day_under_the_rule_sets(w: World,
                                                                    as_of: str) -> None:
    response = w.send("prescriber", "GET", f"/prescriptions/{w.rx.id}/eligibility",
                      query_string={"as_of": as_of})
    assert "2021-12-13" in _errors(response)["as_of"][0]


@pytest.mark.parametrize("query", [{"asof": "2026-12-01"}, {"": "true"}, {"as_of": "2026-12-01",
                                                                        "verbose": "1"}])
def test_a_query_parameter_the_operation_does_not_take_is_refused(w: World,
                                                                  query: dict[str, str]) -> None:
    response = w.send("prescriber", "GET", f"/prescriptions/{w.rx.id}/eligibility",
                      query_string=query)
    assert "as_of" in next(iter(_errors(response).values()))[0]


@pytest.mark.parametrize("born", ["1990-06-32", "06/09/1990", "", "1990-6-9"])
def test_the_pharmacy_lookup_needs_a_real_birth_date(w: World, born: str) -> None:
    response = w.send("pharmacist", "GET", f"/authorizations/{w.number}",
                      query_string={"date_of_birth": born})
    assert "date_of_birth" in _errors(response)


# --- 422: text --------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_names_over_100_characters_are_refused(w: World, field: str) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_patient")
    assert _errors(_send_body(w, op, **{field: "N" * 101}))[field] == ["At most 100 characters."]
    assert _send_body(w, op, **{field: "N" * 100}).status_code == 201


@pytest.mark.parametrize("field", ["guardian_signature", "guardian_relationship"])
def test_guardian_names_over_100_characters_are_refused(w: World, field: str) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "post_acknowledgment")
    assert field in _errors(_send_body(w, op, **{field: "G" * 101}))


@pytest.mark.parametrize("value", ["Ana\x00", "Ana\x1b[31m", "Ana\nRivera", "Ana\u0085",
                                   "\ud800Ana"],
                         ids=["nul", "escape", "newline", "c1-control", "lone-surrogate"])
def test_names_refuse_control_characters_and_broken_unicode(w: World, value: str) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_patient")
    assert "first_name" in _errors(_send_body(w, op, first_name=value))
    assert w.count(Patient) == 0


def test_names_keep_accents_and_apostrophes(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_patient")
    created = _send_body(w, op, first_name="Zoë", last_name="O'Connor-Nguyễn").get_json()
    assert (created["first_name"], created["last_name"]) == ("Zoë", "O'Connor-Nguyễn")


def test_a_reason_may_span_lines_but_holds_no_other_control_character(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "post_reverse")
    assert "reason" in _errors(_send_body(w, op, reason="Not\x00 picked up"))
    assert _send_body(w, op, reason="Not picked up.\nPatient moved.").status_code == 200


def test_blank_text_is_refused(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "create_patient")
    assert _errors(_send_body(w, op, first_name=" \t "))["first_name"] == [
        "Give a non-empty text."]


def test_contraception_methods_are_known_codes(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "post_contraception")
    errors = _errors(_send_body(w, op, methods=["iud", "progestin_only_pill"]))
    assert any("Progestin-only" in m for m in errors["methods"])
    assert "methods" in _errors(_send_body(w, op, methods="iud,male_condom"))
    assert "methods" in _errors(_send_body(w, op, methods=["iud", "iud"]))


def test_an_answer_sheet_names_each_missing_or_unknown_question(w: World) -> None:
    op = next(o for o in OPERATIONS if o.endpoint == "post_comprehension")
    answers = {"birth-defects": True, "share-ok": "no", "favourite-colour": True}
    errors = _errors(_send_body(w, op, answers=answers))
    assert {"answers.share-ok", "answers.favourite-colour", "answers.two-methods"} <= set(errors)


def test_a_minor_needs_a_guardian_signature(w: World) -> None:
    child = w.send("prescriber", "POST", "/patients", json={
        "first_name": "Kim", "last_name": "Young", "date_of_birth": "2010-05-05",
        "category": "can_get_pregnant"}).get_json()
    path = f"/patients/{child['id']}/acknowledgments"
    errors = _errors(w.send("prescriber", "POST", path, json={
        "signed_on": "2026-12-15", "patient_signature": "Kim Young"}))
    assert set(errors) == {"guardian_signature", "guardian_relationship"}
    signed = w.send("prescriber", "POST", path, json={
        "signed_on": "2026-12-15", "patient_signature": "Kim Young",
        "guardian_signature": "Lee Young", "guardian_relationship": "mother"})
    assert signed.status_code == 201


# --- path values ------------------------------------------------------------------------------

@pytest.mark.parametrize("pid", ["0", "-1", "2147483648", "99999999999999999999", "abc", "1.5",
                                 "%00", "１"])
def test_path_ids_that_cannot_name_a_patient_answer_404(w: World, pid: str) -> None:
    assert is_problem(w.send("prescriber", "GET", f"/patients/{pid}"), 404)


@pytest.mark.parametrize("number", ["%00", "AB%20CD", "A" * 21, "%F0%9F%92%8A"])
def test_authorization_numbers_that_cannot_exist_answer_404(w: World, number: str) -> None:
    response = w.send("pharmacist", "GET", f"/authorizations/{number}",
                      query_string={"date_of_birth": "1990-06-09"})
    assert is_problem(response, 404)
