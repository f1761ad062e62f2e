"""API tokens from the administration: listed by their first characters and revoked at once,
never created (a token signs as its owner, so only its owner creates it). Every change is
audited."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import csrf_token
from tests.web.admin.conftest import events, text_of
from tracker.models import ApiToken, User
from tracker.services import tokens
from tracker.services import users as user_service
from tracker.services.context import Context
from tracker.services.errors import Forbidden, ValidationFailed

LOOKUP = "/api/v1/authorizations/XXXX-XXXX-XXXX?date_of_birth=2000-01-01"


def test_an_administrator_cannot_create_a_token_for_someone_else(
    ctx: Context, browser: FlaskClient, administrator: User
) -> None:
    staff = builders.prescriber(ctx)
    url = f"/admin/users/{staff.id}"
    page = text_of(browser.get(url))
    assert "Issue a token" not in page and f"{url}/tokens" not in page
    response = browser.post(f"{url}/tokens", data={"csrf_token": csrf_token(page),
                                                   "label": "sneaky"})
    assert response.status_code in {403, 404, 405}
    as_admin = builders.as_user(ctx, administrator)
    with pytest.raises(Forbidden):
        tokens.create_token(as_admin, staff, "sneaky")
    assert ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id)) is None
    assert events(ctx, "token.created") == []


def test_revoked_token_stops_working_at_once(
    ctx: Context, app: Flask, browser: FlaskClient, administrator: User
) -> None:
    staff = builders.pharmacist(ctx)
    token = tokens.create_token(ctx, staff, "old system")
    row = ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id))
    assert row is not None
    page = text_of(browser.get("/admin/tokens"))
    assert f"Revoke {row.prefix}" in page
    done = browser.post(f"/admin/tokens/{row.id}/revoke",
                        data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/tokens")
    api = app.test_client()
    assert api.get(LOOKUP, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    revoked = [e for e in events(ctx, "token.revoked", row.id)]
    assert len(revoked) == 1 and revoked[0].actor_id == administrator.id
    assert f"Revoke {row.prefix}" not in text_of(browser.get("/admin/tokens"))
    assert row.prefix in text_of(browser.get("/admin/tokens?status=revoked"))


def test_revoking_from_the_users_page_returns_there(ctx: Context, browser: FlaskClient) -> None:
    staff = builders.pharmacist(ctx)
    tokens.create_token(ctx, staff)
    row = ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id))
    assert row is not None
    page = text_of(browser.get(f"/admin/users/{staff.id}"))
    done = browser.post(f"/admin/tokens/{row.id}/revoke",
                        data={"csrf_token": csrf_token(page), "back": "user"})
    assert done.headers["Location"].endswith(f"/admin/users/{staff.id}")
    assert browser.post("/admin/tokens/999999/revoke",
                        data={"csrf_token": csrf_token(page)}).status_code == 404


def test_token_list_is_paged(ctx: Context, browser: FlaskClient) -> None:
    staff = builders.pharmacist(ctx)
    for n in range(26):
        tokens.create_token(ctx, staff, f"system {n}")
    first = text_of(browser.get("/admin/tokens"))
    assert "Page 1 of 2" in first
    assert 'href="/admin/tokens?status=active&amp;page=2"' in first
    assert first.count("<tr>") == 26  # the header row and 25 tokens


def test_no_token_for_a_deactivated_user(ctx: Context, administrator: User) -> None:
    staff = builders.pharmacist(ctx)
    user_service.deactivate_user(builders.as_user(ctx, administrator), staff.id, "left")
    with pytest.raises(ValidationFailed, match="deactivated"):
        tokens.create_token(ctx, staff, "command line")
    assert ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id)) is None
