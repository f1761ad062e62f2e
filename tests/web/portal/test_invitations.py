"""The clinic invites a patient to their own portal account (API.md POST
/patients/{id}/portal-invitations, and a button on the patient's page): single use, 7 days, a
newer one voids the older; the patient confirms their birth date (wrong ones are counted like
failed sign-ins) and chooses an email and a password (the staff policy, argon2id)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import Clock, csrf_token, login
from tests.web.portal.helpers import join, portal_login
from tracker.models import AuditEvent, PatientAccount, Role, User
from tracker.services import portal_accounts
from tracker.services.context import Actor, Context
from tracker.services.errors import NoMatch, NotFound, Throttled, ValidationFailed

BORN = date(1995, 4, 2)


@pytest.fixture
def doc(ctx: Context) -> User:
    return builders.prescriber(ctx)


@pytest.fixture
def doc_ctx(ctx: Context, doc: User) -> Context:
    return builders.as_user(ctx, doc)


def anonymous(ctx: Context) -> Context:
    return dataclasses.replace(ctx, actor=Actor(user_id=None, role=None,
                                                client_addr="203.0.113.9"))


def test_the_api_answers_a_link_holding_a_code_valid_for_seven_days(ctx, doc, api) -> None:  # type: ignore[no-untyped-def]
    patient = builders.patient(builders.as_user(ctx, doc))
    response = api(ctx, doc).post(f"/patients/{patient.id}/portal-invitations", json={})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"url", "code", "expires_at"}
    assert body["url"].endswith("/portal/join?code=" + body["code"])
    assert len(body["code"].replace("-", "")) == 16
    issued = ctx.now()
    assert body["expires_at"] == (issued + timedelta(days=7)).isoformat()


def test_the_api_refuses_a_body_with_fields(ctx, doc, api) -> None:  # type: ignore[no-untyped-def]
    patient = builders.patient(builders.as_user(ctx, doc))
    response = api(ctx, doc).post(f"/patients/{patient.id}/portal-invitations",
                                  json={"email": "x@example.test"})
    assert response.status_code == 422


def test_office_staff_invite_their_prescribers_patients(ctx, doc, api) -> None:  # type: ignore[no-untyped-def]
    patient = builders.patient(builders.as_user(ctx, doc))
    staff = builders.staff(ctx, doc)
    response = api(ctx, staff).post(f"/patients/{patient.id}/portal-invitations", json={})
    assert response.status_code == 201


def test_the_patient_sets_up_the_account_with_birth_date_email_and_password(
        ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    invitation = portal_accounts.issue_invitation(doc_ctx, patient.id)
    user = portal_accounts.accept_invitation(anonymous(ctx), invitation.code.lower(), BORN,
                                             "Alex@Example.test", "my own long passphrase")
    assert user.role == Role.PATIENT and user.email == "alex@example.test"
    assert user.name == "Alex Rivera" and not user.must_change_password
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    link = ctx.session.scalar(select(PatientAccount).where(PatientAccount.user_id == user.id))
    assert link is not None and link.patient_id == patient.id
    event = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "portal.account_created")).one()
    assert event.actor_id == user.id and event.patient_id == patient.id  # the patient acts


def test_an_invitation_is_single_use(ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    portal_accounts.accept_invitation(anonymous(ctx), code, BORN, "a@example.test",
                                      "my own long passphrase", fast_hash=True)
    with pytest.raises(NotFound):
        portal_accounts.accept_invitation(anonymous(ctx), code, BORN, "a@example.test",
                                          "another long passphrase", fast_hash=True)


def test_a_newer_invitation_voids_the_older(ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    old = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    new = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    with pytest.raises(NotFound):
        portal_accounts.usable_invitation(ctx, old)
    assert portal_accounts.usable_invitation(ctx, new).patient_id == patient.id


def test_an_invitation_expires_after_seven_days(ctx: Context, doc_ctx: Context,
                                                clock: Clock) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    clock.now += timedelta(days=7) - timedelta(seconds=1)
    portal_accounts.usable_invitation(ctx, code)
    clock.now += timedelta(seconds=1)
    with pytest.raises(NotFound):
        portal_accounts.usable_invitation(ctx, code)


def test_wrong_birth_dates_are_counted_like_failed_sign_ins(ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    for _ in range(5):
        with pytest.raises(NoMatch):
            portal_accounts.accept_invitation(anonymous(ctx), code, date(1995, 4, 3),
                                              "a@example.test", "my own long passphrase")
    # Now even the right birth date waits, as sign-in does after five failures.
    with pytest.raises(Throttled) as stopped:
        portal_accounts.accept_invitation(anonymous(ctx), code, BORN, "a@example.test",
                                          "my own long passphrase")
    assert stopped.value.retry_after > 0
    actions = ctx.session.scalars(select(AuditEvent.action).where(
        AuditEvent.patient_id == patient.id)).all()
    assert actions.count("portal.invitation_birth_date_failed") == 5
    assert "portal.invitation_throttled" in actions
    assert portal_accounts.account_of(ctx, patient.id) is None


def test_the_password_policy_of_staff_applies(ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    with pytest.raises(ValidationFailed) as refused:
        portal_accounts.accept_invitation(anonymous(ctx), code, BORN, "a@example.test",
                                          "short")
    assert refused.value.errors == {"password": ["Use at least 12 characters."]}
    with pytest.raises(ValidationFailed) as refused:
        portal_accounts.accept_invitation(anonymous(ctx), code, BORN, "not an email",
                                          "Alex Rivera")
    assert set(refused.value.errors) == {"email", "password"}
    portal_accounts.usable_invitation(ctx, code)  # nothing was used up


def test_a_minor_owns_their_account(ctx: Context, doc_ctx: Context) -> None:
    """The account is the patient's at any age (the guardian signs only the acknowledgment)."""
    born = ctx.today() - timedelta(days=16 * 365)
    patient = builders.patient(doc_ctx, born=born)
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    user = portal_accounts.accept_invitation(anonymous(ctx), code, born, "teen@example.test",
                                             "my own long passphrase", fast_hash=True)
    assert user.name == "Alex Rivera" and user.role == Role.PATIENT


def test_a_new_invitation_lets_a_patient_who_forgot_set_a_new_password(
        ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    first = builders.patient_account(doc_ctx, patient.id, email="alex@example.test")
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    again = portal_accounts.accept_invitation(anonymous(ctx), code, BORN, "alex@example.test",
                                              "a second long passphrase", fast_hash=True)
    assert again.id == first.id  # one account per patient
    assert ctx.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action == "portal.password_set")).all() == ["portal.password_set"]


def test_another_prescribers_patient_cannot_be_invited(ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx)
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Olive Other"))
    with pytest.raises(NotFound):
        portal_accounts.issue_invitation(other, patient.id)


def test_the_patient_page_prints_a_slip_and_the_patient_joins(
        ctx: Context, doc: User, doc_ctx: Context, client: FlaskClient) -> None:
    patient = builders.patient(doc_ctx, born=BORN)
    login(client, doc.email, builders.PASSWORD)
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "Invite to the patient portal" in page
    slip = client.post(f"/patients/{patient.id}/portal-invitation",
                       data={"csrf_token": csrf_token(page)})
    assert slip.status_code == 200
    text = slip.get_data(as_text=True)
    code = text.split('id="invitation-code">')[1].split("<")[0]
    assert f"/portal/join?code={code}" in text
    client.post("/logout", data={"csrf_token": csrf_token(text)})

    assert join(client, code, "1995-04-03").status_code == 422  # wrong birth date
    done = join(client, code, "1995-04-02", email="alex@example.test")
    assert done.status_code == 302 and done.headers["Location"].endswith("/portal/login")
    portal_login(client, "alex@example.test", "my own long passphrase")
    home = client.get("/portal").get_data(as_text=True)
    assert "Hello, Alex" in home and patient.program_number in home


def test_an_unusable_code_is_said_on_the_form(client: FlaskClient) -> None:
    response = join(client, "AAAA-BBBB-CCCC-DDDD", "1995-04-02")
    assert response.status_code == 422
    assert "This invitation cannot be used" in response.get_data(as_text=True)


def test_the_invitation_is_audited_without_its_code(ctx: Context, doc_ctx: Context) -> None:
    patient = builders.patient(doc_ctx)
    code = portal_accounts.issue_invitation(doc_ctx, patient.id).code
    event = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "portal.invitation_created")).one()
    assert code not in json.dumps([event.new_values, event.old_values], default=str)
