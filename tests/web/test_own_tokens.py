"""A user's own API tokens on their account page: created only after they re-enter their
password (a token signs as its owner), shown once, listed by their first characters, revoked
by their owner. The audit trail says who created each token."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import csrf_token, login, post_form, shown_again
from tracker.models import ApiToken, AuditEvent, User
from tracker.services import own_tokens, tokens
from tracker.services.context import Context
from tracker.services.errors import NotFound, ValidationFailed
from tracker.services.signing import ReenteredPassword

LOOKUP = "/api/v1/authorizations/XXXX-XXXX-XXXX?date_of_birth=2000-01-01"


def shown_token(page: str) -> str:
    match = re.search(r'<p class="big mono">([^<]+)</p>', page)
    assert match, "no token on the page"
    return match.group(1)


def created_events(ctx: Context) -> list[AuditEvent]:
    return list(ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "token.created").order_by(AuditEvent.id)))


@pytest.fixture
def doc(ctx: Context) -> User:
    return builders.prescriber(ctx)


@pytest.fixture
def browser(client: FlaskClient, doc: User) -> FlaskClient:
    login(client, doc.email, builders.PASSWORD)
    return client


def test_a_user_creates_their_own_token_after_re_entering_their_password(
    ctx: Context, app: Flask, browser: FlaskClient, doc: User
) -> None:
    response = post_form(browser, "/account/tokens",
                         {"label": "practice system", "password": builders.PASSWORD},
                         page_url="/account")
    assert response.status_code == 200
    token = shown_token(response.get_data(as_text=True))
    row = ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == doc.id))
    assert row is not None and row.label == "practice system" and token not in row.token_hash
    api = app.test_client()
    assert api.get(LOOKUP, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    account = browser.get("/account").get_data(as_text=True)
    assert row.prefix in account and token not in account
    [event] = created_events(ctx)
    assert event.actor_id == doc.id
    assert json.loads(event.new_values or "{}")["created_by"] == "owner"
    assert token not in (event.new_values or "")


def test_a_wrong_password_creates_no_token(ctx: Context, browser: FlaskClient,
                                           doc: User) -> None:
    response = post_form(browser, "/account/tokens",
                         {"label": "practice system", "password": "not my password at all"},
                         page_url="/account")
    page = shown_again(browser, response, "/account").get_data(as_text=True)
    assert "The password is not correct." in page and 'class="big mono"' not in page
    assert 'value="practice system"' in page and "not my password at all" not in page
    missing = post_form(browser, "/account/tokens", {"label": "x"}, page_url="/account")
    shown_again(browser, missing, "/account")
    assert ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == doc.id)) is None
    assert created_events(ctx) == []


def test_a_user_revokes_their_own_token_and_no_one_elses(
    ctx: Context, app: Flask, browser: FlaskClient, doc: User
) -> None:
    token = tokens.create_token(ctx, doc, "old system")
    other = builders.pharmacist(ctx)
    theirs = tokens.create_token(ctx, other, "counter")
    mine = ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == doc.id))
    foreign = ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == other.id))
    assert mine is not None and foreign is not None
    page = browser.get("/account").get_data(as_text=True)
    assert f"Revoke {mine.prefix}" in page and foreign.prefix not in page
    done = browser.post(f"/account/tokens/{mine.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    api = app.test_client()
    assert api.get(LOOKUP, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    refused = browser.post(f"/account/tokens/{foreign.id}/revoke",
                           data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 404
    ctx.session.refresh(foreign)
    assert foreign.revoked_at is None
    assert api.get(LOOKUP, headers={"Authorization": f"Bearer {theirs}"}).status_code == 404
    revoked = list(ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "token.revoked")))
    assert [(e.object_id, e.actor_id) for e in revoked] == [(str(mine.id), doc.id)]


def test_the_service_checks_the_password_and_the_owner(ctx: Context, doc: User) -> None:
    as_doc = builders.as_user(ctx, doc)
    with pytest.raises(ValidationFailed, match="password"):
        own_tokens.create_own_token(as_doc, None, proof=ReenteredPassword("wrong password"))
    token = own_tokens.create_own_token(as_doc, None, proof=ReenteredPassword(builders.PASSWORD))
    holder = tokens.token_holder(ctx.session, token, ctx.now())
    assert holder is not None and holder.id == doc.id
    other = builders.prescriber(ctx, name="Olive Other")
    foreign = tokens.create_token(ctx, other)
    foreign_id = ctx.session.scalar(select(ApiToken.id).where(
        ApiToken.token_hash == tokens.token_hash(foreign)))
    with pytest.raises(NotFound):
        own_tokens.revoke_own_token(as_doc, int(foreign_id or 0))


def test_the_command_line_is_recorded_as_the_creator(ctx: Context, doc: User) -> None:
    tokens.create_token(ctx, doc, "command line")
    [event] = created_events(ctx)
    assert event.actor_id is None
    assert json.loads(event.new_values or "{}")["created_by"] == f"system: {ctx.actor.name}"


def test_a_patient_has_no_api_tokens(ctx: Context, client: FlaskClient, doc: User) -> None:
    """A patient's account opens the portal and nothing of the API: the token pages answer 403
    and neither the account page nor the operator's command line makes a patient a token."""
    from tests.web.portal.helpers import portal_login

    as_doc = builders.as_user(ctx, doc)
    patient = builders.enrolled_patient(as_doc)
    account = builders.patient_account(as_doc, patient.id, email="pat@example.test")
    portal_login(client, "pat@example.test")
    assert client.get("/account").status_code == 403
    token = csrf_token(client.get("/portal").get_data(as_text=True))
    response = client.post("/account/tokens", data={
        "label": "mine", "password": builders.PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    with pytest.raises(ValidationFailed, match="Patients have no API tokens"):
        own_tokens.create_own_token(builders.as_user(ctx, account), None,
                                    proof=ReenteredPassword(builders.PASSWORD))
    with pytest.raises(ValidationFailed, match="Patients have no API tokens"):
        tokens.create_token(ctx, account, "command line")
    assert ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == account.id)) is None
