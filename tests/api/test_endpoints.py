"""Every status code the OpenAPI document lists for an endpoint, produced by a request that
earns it: success (checked against the document's schema), 400, 401, 403, 404, 409, 413, 415,
422 and 503, each as a problem document. The roles are covered by the matrix in test_access.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from flask import Flask, has_request_context
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from tests import builders as b
from tests.api.scenarios import World, build_world, is_problem, valid_request
from tracker.api.fields import Calendar
from tracker.api.openapi import document
from tracker.api.registry import OPERATIONS, Operation
from tracker.domain.policy import rule_sets
from tracker.domain.programdate import program_date
from tracker.services import authorizations, records
from tracker.services.context import Context

Call = tuple[str, str, str, dict[str, Any]]  # who, method, path, client keyword arguments
Case = Callable[[World], Call]
BY_ENDPOINT = {op.endpoint: op for op in OPERATIONS}


def _role(op: Operation) -> str:
    return op.roles[0]


def _with_body(endpoint: str, **changes: Any) -> Case:
    """The endpoint's valid request with some body fields changed (None removes one)."""

    def case(w: World) -> Call:
        method, path, kw = valid_request(endpoint, w)
        body = {k: v for k, v in {**kw.get("json", {}), **changes}.items() if v is not None}
        return _role(BY_ENDPOINT[endpoint]), method, path, {**kw, "json": body}

    return case


def _on(endpoint: str, path: Callable[[World], str], who: str | None = None) -> Case:
    """The endpoint's valid request sent to another path (another prescriber's object)."""

    def case(w: World) -> Call:
        method, _, kw = valid_request(endpoint, w)
        return who or _role(BY_ENDPOINT[endpoint]), method, path(w), kw

    return case


def _lose_the_connection(w: World) -> None:
    """The next statement a request sends finds its database connection gone, as after a
    restart (the error SQLAlchemy raises then; the real faults are in tests/faults)."""
    armed = [True]

    def lose(*_args: Any) -> None:
        if armed and has_request_context():
            armed.clear()
            raise OperationalError("SELECT 1", {}, OSError("server closed the connection"),
                                   connection_invalidated=True)

    event.listen(w.ctx.session.connection(), "before_cursor_execute", lose)


def _generic(op: Operation, status: int) -> Case | None:
    def case(w: World) -> Call:
        method, path, kw = valid_request(op.endpoint, w)
        who = _role(op)
        if status == 503:
            _lose_the_connection(w)
        elif status == 401:
            who = "no token"
        elif status == 403:  # the admin, or for the admin's own operations a prescriber
            who = "admin" if "admin" not in op.roles else "prescriber"
        elif status == 400:
            kw = {"data": b'{"unclosed": ', "content_type": "application/json"}
        elif status == 413:
            kw = {"json": {"padding": "x" * 70_000}}
        elif status == 415:
            kw = {"data": "category=can_get_pregnant",
                  "content_type": "application/x-www-form-urlencoded"}
        return who, method, path, kw

    return case if status in {op.status, 400, 401, 403, 413, 415, 503} else None


def _dispense_after_positive_test(w: World) -> Call:
    # A positive test recorded after the authorization blocks the dispense (RULES.md §8).
    assert w.number  # authorized first
    records.record_pregnancy_test(b.as_user(w.ctx, w.prescriber), w.authorized.id, w.today,
                                  "positive", "lab")
    return ("pharmacist",) + valid_request("post_dispense", w)


def _reverse_twice(w: World) -> Call:
    authorizations.reverse(b.as_user(w.ctx, w.prescriber), w.number, "Entered twice")
    return ("prescriber",) + valid_request("post_reverse", w)


COUNTER_LOOKUPS = {"get_authorization", "post_reverse"}


def _locked_number(endpoint: str) -> Case:
    """Five wrong birth dates for the authorization number lock it at the counter: even the
    right one then answers 429 (API.md "Guessing is throttled")."""

    def case(w: World) -> Call:
        for _ in range(5):
            wrong = w.send("pharmacist", "GET", f"/authorizations/{w.number}",
                           query_string={"date_of_birth": "1990-06-10"})
            assert wrong.status_code == 404
        return ("pharmacist",) + valid_request(endpoint, w)

    return case


FOREIGN_PATIENT = {
    endpoint: _on(endpoint, lambda w, tail=tail: f"/patients/{w.foreign.id}{tail}")
    for endpoint, tail in [
        ("get_patient", ""), ("patch_patient", ""), ("post_acknowledgment", "/acknowledgments"),
        ("post_counseling", "/counseling"), ("post_pregnancy_test", "/pregnancy-tests"),
        ("post_contraception", "/contraception"), ("post_comprehension", "/comprehension"),
        ("post_course_end", "/course-end"), ("post_portal_invitation", "/portal-invitations")]
}
FOREIGN_PRESCRIPTION = {
    endpoint: _on(endpoint, lambda w, tail=tail: f"/prescriptions/{w.foreign_rx.id}{tail}")
    for endpoint, tail in [("get_prescription", ""), ("get_eligibility", "/eligibility"),
                           ("post_authorize", "/authorize")]
}

# (endpoint, status) -> the request, and for 422 the field `errors` must name.
SPECIFIC: dict[tuple[str, int], tuple[Case, str | None]] = {
    **{(e, 404): (c, None) for e, c in {**FOREIGN_PATIENT, **FOREIGN_PRESCRIPTION}.items()},
    ("create_prescription", 404): (_with_body("create_prescription",
                                              patient_id=987_654_321), None),
    ("get_authorization", 404): (lambda w: ("pharmacist", "GET", f"/authorizations/{w.number}",
                                            {"query_string": {"date_of_birth": "1990-06-10"}}),
                                 None),
    ("post_reverse", 404): (_on("post_reverse",
                                lambda w: f"/authorizations/{w.foreign_number}/reverse"), None),
    ("post_dispense", 404): (_with_body("post_dispense", authorization_number="ZZZZ-ZZZZ-ZZZZ"),
                             None),
    ("post_authorize", 409): (_on("post_authorize",
                                  lambda w: f"/prescriptions/{w.authorized_rx.id}/authorize"),
                              None),
    ("post_dispense", 409): (_dispense_after_positive_test, None),
    ("post_reverse", 409): (_reverse_twice, None),
    ("get_authorization", 429): (_locked_number("get_authorization"), None),
    ("post_reverse", 429): (_locked_number("post_reverse"), None),
    # The body is {}: any field in it is unknown (API.md: unknown fields answer 422).
    ("post_portal_invitation", 422): (_with_body("post_portal_invitation",
                                                 email="alex@example.test"), "email"),
    ("patch_prescriber", 422): (_with_body("patch_prescriber", home_testing_permitted="yes"),
                                "home_testing_permitted"),
    ("create_patient", 422): (_with_body("create_patient", date_of_birth="2027-01-01"),
                              "date_of_birth"),
    ("patch_patient", 422): (_with_body("patch_patient", category="can_get_pregnant"),
                             "category"),
    ("post_acknowledgment", 422): (_with_body("post_acknowledgment",
                                              patient_signature="Someone Else"),
                                   "patient_signature"),
    ("post_counseling", 422): (_with_body("post_counseling", counseled_on="2026-12-16"),
                               "counseled_on"),
    ("post_pregnancy_test", 422): (_with_body("post_pregnancy_test", setting="car"), "setting"),
    ("post_contraception", 422): (_with_body("post_contraception", methods=["iud"]), "methods"),
    ("post_comprehension", 422): (_with_body("post_comprehension",
                                             answers={"birth-defects": True}),
                                  "answers.share-ok"),
    ("post_course_end", 422): (_with_body("post_course_end", last_dose_on="1995-04-01"),
                               "last_dose_on"),
    ("create_prescription", 422): (_with_body("create_prescription", days_supply=31),
                                   "days_supply"),
    ("get_eligibility", 422): (lambda w: ("prescriber", "GET",
                                          f"/prescriptions/{w.rx.id}/eligibility",
                                          {"query_string": {"as_of": "2026-02-30"}}), "as_of"),
    ("get_report_summary", 422): (lambda w: ("auditor", "GET", "/reports/summary",
                                             {"query_string": {"from": "2026-02-30"}}), "from"),
    ("post_authorize", 422): (lambda w: ("prescriber", "POST",
                                         f"/prescriptions/{w.rx.id}/authorize",
                                         {"json": {"force": True}}), "force"),
    ("get_authorization", 422): (lambda w: ("pharmacist", "GET", f"/authorizations/{w.number}",
                                            {}), "date_of_birth"),
    ("post_reverse", 422): (_with_body("post_reverse", reason="   "), "reason"),
    ("post_dispense", 422): (_with_body("post_dispense", medication_guide_given=False),
                             "medication_guide_given"),
}


def _cases() -> list[tuple[Operation, int]]:
    return [(op, status) for op in OPERATIONS for status in op.statuses]


def _case_for(op: Operation, status: int) -> tuple[Case, str | None]:
    if (op.endpoint, status) in SPECIFIC:
        return SPECIFIC[(op.endpoint, status)]
    generic = _generic(op, status)
    assert generic is not None, f"no request earns {status} from {op.method} {op.path}"
    return generic, None


def test_every_documented_status_of_every_endpoint_has_a_case() -> None:
    missing = [(op.endpoint, status) for op, status in _cases()
               if (op.endpoint, status) not in SPECIFIC and _generic(op, status) is None]
    assert missing == []
    undocumented = [key for key in SPECIFIC
                    if key[1] not in BY_ENDPOINT[key[0]].statuses]
    assert undocumented == []


@pytest.fixture(scope="module")
def described() -> Any:
    """The OpenAPI document as schemathesis reads it, to check answers against."""
    today = program_date(datetime.now(UTC))
    first = min(policy.in_force_from for policy in rule_sets())
    return schemathesis.openapi.from_dict(copy.deepcopy(document(Calendar(today, first))))


@pytest.mark.parametrize(("op", "status"), _cases(),
                         ids=[f"{op.method} {op.path} {status}" for op, status in _cases()])
def test_each_documented_status_is_answered_as_documented(
    app: Flask, ctx: Context, described: Any, op: Operation, status: int
) -> None:
    w = build_world(app, ctx)
    case, field = _case_for(op, status)
    who, method, path, kw = case(w)
    w.token_for(who)
    events = w.audit_count()
    response = w.send(who, method, path, **kw)
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    # The answer has the shape and content type the document gives for this status.
    described["/api/v1" + op.path][op.method].validate_response(response)
    if status == op.status:
        assert response.mimetype == "application/json"
        return
    assert is_problem(response, status)
    problem = response.get_json()
    if status == 422:
        assert field in problem["errors"], problem
        assert all(isinstance(m, str) and m for ms in problem["errors"].values() for m in ms)
    if status == 409:
        assert problem["unmet"], problem
        assert all({"code", "message", "met_from"} <= set(r) for r in problem["unmet"])
    if status == 503:
        assert problem["code"] == "DATABASE_UNAVAILABLE" and problem["incident"]
        assert int(response.headers["Retry-After"]) >= 1
    if status == 404 and who == "pharmacist" and op.endpoint in COUNTER_LOOKUPS:
        # API.md: every lookup at the counter, found or not, is kept in the access log.
        assert w.audit_count() == events + 1
    elif status in {400, 401, 404, 413, 415, 422, 503}:
        assert w.audit_count() == events  # refused before anything was written
