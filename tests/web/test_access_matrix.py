"""Every page and form × every kind of caller: anonymous visitors are sent to sign in, a wrong role
gets 403, the owner's office staff are let through except to the prescriber's signed acts and
settings (403), another prescriber's patient (for that prescriber and their staff), another
pharmacy's dispense or another user's own API token answers 404 (its existence is not revealed),
and the owner is let through. The route list comes from the app itself, so a new page is covered
the day it is added."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import csrf_token, login, take_screen_back
from tracker.http.access import PUBLIC, permission_of
from tracker.models import Acknowledgment, ApiToken
from tracker.services import authorizations, dispenses, records
from tracker.services.context import Context
from tracker.services.tokens import create_token, token_hash


def page_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(rule, method, permission) of every page and form (the API has its own matrix, and so
    have the FHIR and CDS Hooks endpoints: tests/test_access.py and tests/fhir)."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static/", "/fhir/", "/4_0_0/", "/cds-services")):
            continue
        permission = permission_of(app.view_functions[rule.endpoint]) or ""
        if permission == PUBLIC:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.rule, method, permission))
    return out


@pytest.fixture
def world(ctx: Context):  # type: ignore[no-untyped-def]
    """Two prescribers with office staff, two pharmacies with staff, an admin; objects owned by
    the first ones."""
    owner, other_doc = builders.prescriber(ctx), builders.prescriber(ctx, name="Other Doc")
    staff = builders.staff(ctx, owner)
    other_staff = builders.staff(ctx, other_doc, name="Other Staff")
    home, elsewhere = builders.pharmacy(ctx), builders.pharmacy(ctx)
    counter, other_counter = builders.pharmacist(ctx, home), builders.pharmacist(ctx, elsewhere)
    admin = builders.admin(ctx)
    auditor = builders.auditor(ctx)
    doc = builders.as_user(ctx, owner)
    patient = builders.ready_for_first_fill(doc)
    # The patients' own portal accounts: a patient of the owner with an open authorization
    # (its QR code page), and another prescriber's patient.
    holder = builders.ready_for_first_fill(doc, first="Hana", last="Holder")
    open_auth = authorizations.authorize(doc, builders.prescription(doc, holder.id).id,
                                         signature=SIGNED)
    own_account = builders.patient_account(doc, holder.id)
    other_doc_ctx = builders.as_user(ctx, other_doc)
    stranger = builders.patient(other_doc_ctx, first="Robin", last="Stranger")
    other_account = builders.patient_account(other_doc_ctx, stranger.id)
    positive = records.record_pregnancy_test(doc, patient.id, doc.today() - timedelta(days=90),
                                             "positive", "lab")
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    dispense = dispenses.dispense(builders.as_user(ctx, counter), rx.id, auth.number, 30,
                                  30, True)
    ack_id = ctx.session.scalar(select(Acknowledgment.id).where(
        Acknowledgment.patient_id == patient.id))
    token = create_token(ctx, owner)
    token_id = ctx.session.scalar(select(ApiToken.id).where(
        ApiToken.token_hash == token_hash(token)))
    values = {
        "patient_id": patient.id, "prescription_id": rx.id, "test_id": positive.id,
        "acknowledgment_id": ack_id, "dispense_id": dispense.id, "pharmacy_id": home.id,
        "user_id": owner.id, "token_id": token_id, "kind": "patients",
        "object_id": patient.id, "fmt": "csv", "handle": "no-such-lookup", "staff_id": staff.id,
        "authorization_id": open_auth.id,
        "table": "summary",
    }
    return {"owner": owner, "other_doc": other_doc, "counter": counter,
            "other_counter": other_counter, "admin": admin, "auditor": auditor, "staff": staff,
            "other_staff": other_staff, "patient": own_account, "other_patient": other_account,
            "values": values}


def url_for_rule(rule: str, values: dict[str, object]) -> str:
    import re

    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def call(client: FlaskClient, method: str, url: str, signed_in: bool) -> int:
    """One request; forms carry a valid CSRF token, so what answers is the access check."""
    if method == "GET":
        return client.get(url).status_code
    token = csrf_token(client.get("/account" if signed_in else "/login").get_data(as_text=True))
    return client.open(url, method=method, data={"csrf_token": token}).status_code


def test_every_page_sends_anonymous_visitors_to_sign_in(app: Flask, client: FlaskClient,
                                                        world) -> None:  # type: ignore[no-untyped-def]
    for rule, method, _ in page_routes(app):
        url = url_for_rule(rule, world["values"])
        status = call(client, method, url, signed_in=False)
        assert status == 302, (method, url, status)


# The prescriber's acts that office staff never do: the signed ones and the settings.
SIGNED_BY_THE_PRESCRIBER = {
    "/patients/<int:patient_id>/acknowledgment",
    "/patients/<int:patient_id>/counseling/new",
    "/prescriptions/<int:prescription_id>/authorize",
    "/prescriptions/<int:prescription_id>/refused",  # only the signer is ever refused
    "/prescriptions/<int:prescription_id>/reverse",
    "/settings",
    "/settings/staff/<int:staff_id>/end",
}


@pytest.mark.parametrize("caller", ["owner", "other_doc", "counter", "other_counter", "admin",
                                    "auditor", "staff", "other_staff", "patient",
                                    "other_patient"])
def test_every_page_checks_role_and_ownership(app: Flask, client: FlaskClient, world,  # type: ignore[no-untyped-def]
                                              caller: str) -> None:
    user = world[caller]
    login(client, user.email, builders.PASSWORD)
    for rule, method, permission in page_routes(app):
        url = url_for_rule(rule, world["values"])
        if rule == "/logout":
            continue
        status = call(client, method, url, signed_in=True)
        if rule.endswith("/comprehension") and status in (200, 303, 422):
            take_screen_back(client, builders.PASSWORD)  # the hand-over locks the session
        allowed_roles = set(permission.split(",")) if permission != "any-user" else {
            user.role}
        if caller in ("staff", "other_staff") and rule in SIGNED_BY_THE_PRESCRIBER:
            assert "staff" not in allowed_roles, rule
        if user.role not in allowed_roles:
            expected = {403}
        elif caller in ("other_doc", "other_staff") and (
                "<int:patient_id>" in rule or "<int:prescription_id>" in rule
                or "<int:staff_id>" in rule):
            expected = {404}
        elif caller == "other_patient" and "<int:authorization_id>" in rule:
            expected = {404}  # another patient's authorization is not revealed
        elif caller == "other_counter" and "<int:dispense_id>" in rule:
            expected = {404}
        elif caller != "owner" and rule.startswith("/account/tokens/<int:token_id>"):
            expected = {404}  # the token is the owner's; only the admin pages reach others'
        else:
            # Let through; the form may be incomplete (and is then sent back to its page: 303).
            expected = {200, 302, 303, 400, 409, 422}
        assert status in expected, (caller, method, url, status)


# The pages of clinical records: a patient's chart, records and prescriptions, the worklist,
# the counter. The auditor reads reports and audit trails and never one of these.
CLINICAL_PREFIXES = ("/patients", "/prescriptions", "/worklist", "/pharmacy", "/settings",
                     "/handover")


def test_the_auditor_opens_reports_and_audit_trails_but_no_clinical_record(
        app: Flask, client: FlaskClient, world) -> None:  # type: ignore[no-untyped-def]
    login(client, world["auditor"].email, builders.PASSWORD)
    clinical = [(rule, method) for rule, method, _ in page_routes(app)
                if rule.startswith(CLINICAL_PREFIXES)]
    assert clinical, "the clinical pages moved: update CLINICAL_PREFIXES"
    for rule, method in clinical:
        status = call(client, method, url_for_rule(rule, world["values"]), signed_in=True)
        assert status == 403, (method, rule, status)
    values = world["values"]
    for url in ("/reports", "/reports/summary.csv", f"/audit/patients/{values['patient_id']}",
                f"/audit/users/{values['user_id']}", "/audit/"):
        assert client.get(url).status_code == 200, url
    # Read-only: no form of the administration is theirs.
    for rule, method, _ in page_routes(app):
        if rule.startswith("/admin"):
            status = call(client, method, url_for_rule(rule, values), signed_in=True)
            assert status == 403, (method, rule, status)
