"""Deny by default: every route declares who may call it, and every API operation answers each
kind of caller as API.md says (the role matrix)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.scenarios import ROLES, UNAUTHENTICATED, World, build_world, is_problem
from tests.api.scenarios import valid_request as request_for
from tracker.api.registry import OPERATIONS, Operation
from tracker.http.access import PUBLIC, permission_of
from tracker.services.context import Context

# Routes anyone may open without signing in (the home page only redirects; a password reset
# link is opened by someone who cannot sign in and carries its own single-use secret). Making
# another route public is a decision to take on purpose: it belongs in this list.
# The FHIR CapabilityStatement and the CDS Hooks discovery document describe the services and
# hold no patient data; EHRs read them before they have credentials.
# The patient portal's sign-in page and the page that sets up a patient's account with the
# clinic's single-use invitation are opened before the patient has an account or a session.
EXPECTED_PUBLIC = {"auth.index", "auth.login", "auth.reset_password", "health.healthz",
                   "api.openapi", "fhir.metadata", "cds.discovery", "portal.login",
                   "portal.join"}
# The FHIR and CDS Hooks routes and who may call them: deny by default holds there too.
EXPECTED_INTEROPERABILITY = {
    "fhir.rems_etasu": "prescriber,staff,pharmacist",
    "fhir.rems_etasu_alias": "prescriber,staff,pharmacist",
    "fhir.metadata": PUBLIC,
    "cds.discovery": PUBLIC,
    "cds.rems_order_sign": "cds-client",
    "cds.rems_order_select": "cds-client",
}


def test_every_route_declares_its_permission(app: Flask) -> None:
    undeclared = sorted(
        rule.endpoint for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not permission_of(app.view_functions[rule.endpoint])
    )
    assert undeclared == [], f"routes without @public or @requires: {undeclared}"


def test_only_the_expected_routes_are_public(app: Flask) -> None:
    public = {endpoint for endpoint, view in app.view_functions.items()
              if permission_of(view) == PUBLIC}
    unexpected = sorted(public - EXPECTED_PUBLIC)
    assert unexpected == [], f"routes open to anyone: {unexpected}"
    assert {"auth.login", "health.healthz", "api.openapi"} <= public


def test_interoperability_routes_declare_who_may_call_them(app: Flask) -> None:
    declared = {endpoint: permission_of(view) for endpoint, view in app.view_functions.items()
                if endpoint.startswith(("fhir.", "cds."))}
    assert declared == EXPECTED_INTEROPERABILITY


def test_every_api_operation_declares_the_roles_of_api_md(app: Flask) -> None:
    for op in OPERATIONS:
        view = app.view_functions["api." + op.endpoint]
        assert permission_of(view) == ",".join(op.roles), op.path
        assert op.roles and set(op.roles) <= set(ROLES), op.path


def _expected(op: Operation, who: str) -> int:
    if who in UNAUTHENTICATED:
        return 401
    return op.status if who in op.roles else 403


MATRIX = [(op, who) for op in OPERATIONS for who in ROLES + UNAUTHENTICATED]


@pytest.mark.parametrize(("op", "who"), MATRIX,
                         ids=[f"{op.method} {op.path} as {who}" for op, who in MATRIX])
def test_each_caller_gets_the_answer_api_md_gives_it(app: Flask, ctx: Context, op: Operation,
                                                     who: str) -> None:
    world: World = build_world(app, ctx)
    method, path, kw = request_for(op.endpoint, world)
    assert method == op.method
    world.token_for(who)  # issued (and audited) before counting
    events_before = world.audit_count()
    response = world.send(who, method, path, **kw)
    expected = _expected(op, who)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected >= 400:
        assert is_problem(response, expected)
    if expected == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert world.audit_count() == events_before  # nothing happened, nothing to record
    if expected == 403:
        # A denial changes nothing but is kept in the audit trail.
        assert world.audit_count() == events_before + 1


# Operations on one patient or prescription that office staff may call.
STAFF_ON_ONE_PATIENT = [op for op in OPERATIONS
                        if "staff" in op.roles and "{id}" in op.path]


@pytest.mark.parametrize("op", STAFF_ON_ONE_PATIENT,
                         ids=[f"{op.method} {op.path}" for op in STAFF_ON_ONE_PATIENT])
def test_staff_of_another_prescriber_get_not_found(app: Flask, ctx: Context,
                                                   op: Operation) -> None:
    """API.md: another prescriber's patient answers 404, to their staff too; the patient and
    the prescription are untouched."""
    world: World = build_world(app, ctx)
    method, path, kw = request_for(op.endpoint, world)
    world.token_for("other staff")
    response = world.send("other staff", method, path, **kw)
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert is_problem(response, 404)


def test_the_signing_operations_are_the_prescribers_alone() -> None:
    """API.md: witnessing an acknowledgment, confirming counseling and marking a prescription
    dispensable are the prescriber's own acts (403 for staff)."""
    signed = {op.endpoint for op in OPERATIONS if "staff" not in op.roles
              and "prescriber" in op.roles}
    assert {"post_acknowledgment", "post_counseling", "post_authorize"} <= signed
