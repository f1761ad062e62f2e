"""Forgotten passwords: an administrator makes a single-use link that expires after 24 hours;
the user chooses a new password with it (the password policy applies), every session of theirs
ends, and the link cannot be used again. A newer link voids the older. Every step is audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import Clock, csrf_token, login
from tracker.models import AuditEvent, PasswordReset, User
from tracker.services import password_resets, users
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound

NEW_PASSWORD = "a brand new passphrase of mine"


@pytest.fixture
def doc(ctx: Context) -> User:
    return builders.prescriber(ctx)


@pytest.fixture
def admin_ctx(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.admin(ctx))


def link_url(token: str) -> str:
    return f"/password-reset?token={token}"


def set_password(client: FlaskClient, token: str, password: str = NEW_PASSWORD,
                 again: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get(link_url(token))
    assert page.status_code == 200, page.status_code
    return client.post(link_url(token), data={
        "new_password": password, "repeat_password": password if again is None else again,
        "csrf_token": csrf_token(page.get_data(as_text=True))})


def signs_in(app: Flask, user: User, password: str) -> bool:
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    return browser.post("/login", data={"email": user.email, "password": password,
                                        "csrf_token": csrf_token(page)}).status_code == 302


def actions(ctx: Context, user: User) -> list[tuple[str, int | None]]:
    return [(e.action, e.actor_id) for e in ctx.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "user",
                                 AuditEvent.object_id == str(user.id),
                                 AuditEvent.action.like("user.password_reset%"))
        .order_by(AuditEvent.id))]


def test_the_link_sets_a_new_password_once_and_ends_every_session(
    ctx: Context, app: Flask, client: FlaskClient, admin_ctx: Context, doc: User
) -> None:
    theirs = app.test_client()
    login(theirs, doc.email, builders.PASSWORD)
    link = password_resets.issue_reset_link(admin_ctx, doc.id)
    row = ctx.session.scalar(select(PasswordReset).where(PasswordReset.user_id == doc.id))
    assert row is not None and link.token not in row.token_hash
    assert link.expires_at == ctx.now() + timedelta(hours=24)
    done = set_password(client, link.token)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert theirs.get("/account").status_code == 302  # their old session has ended
    assert signs_in(app, doc, NEW_PASSWORD) and not signs_in(app, doc, builders.PASSWORD)
    assert client.get(link_url(link.token)).status_code == 404
    again = client.post(link_url(link.token), data={
        "new_password": "another passphrase again", "repeat_password": "another passphrase again",
        "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))})
    assert again.status_code == 404
    assert signs_in(app, doc, NEW_PASSWORD)
    assert actions(ctx, doc) == [("user.password_reset_link_created", admin_ctx.actor.user_id),
                                 ("user.password_reset_completed", doc.id)]
    completed = ctx.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "user.password_reset_completed"))
    assert completed is not None
    assert json.loads(completed.new_values or "{}")["sessions_ended"] >= 1
    assert NEW_PASSWORD not in (completed.new_values or "")


def test_a_new_link_voids_the_old_one(ctx: Context, client: FlaskClient, admin_ctx: Context,
                                      doc: User) -> None:
    old = password_resets.issue_reset_link(admin_ctx, doc.id)
    new = password_resets.issue_reset_link(admin_ctx, doc.id)
    assert client.get(link_url(old.token)).status_code == 404
    assert set_password(client, new.token).status_code == 302
    created = [json.loads(e.new_values or "{}") for e in ctx.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.password_reset_link_created")
        .order_by(AuditEvent.id))]
    assert [c["earlier_links_voided"] for c in created] == [0, 1]


def test_the_link_expires_after_a_day(clock: Clock, app: Flask, client: FlaskClient,
                                      admin_ctx: Context, doc: User) -> None:
    link = password_resets.issue_reset_link(admin_ctx, doc.id)
    clock.now += timedelta(hours=23, minutes=59)
    assert client.get(link_url(link.token)).status_code == 200
    clock.now += timedelta(minutes=1)
    page = client.get(link_url(link.token))
    assert page.status_code == 404 and "Ask your administrator" in page.get_data(as_text=True)
    assert signs_in(app, doc, builders.PASSWORD)


def test_the_password_policy_applies_and_the_link_stays_usable(
    app: Flask, client: FlaskClient, admin_ctx: Context, doc: User
) -> None:
    link = password_resets.issue_reset_link(admin_ctx, doc.id)
    short = set_password(client, link.token, "too short")
    assert short.status_code == 422 and "at least 12" in short.get_data(as_text=True)
    differ = set_password(client, link.token, NEW_PASSWORD, again="something else entirely")
    assert differ.status_code == 422 and "differ" in differ.get_data(as_text=True)
    assert signs_in(app, doc, builders.PASSWORD)
    assert set_password(client, link.token).status_code == 302


@pytest.mark.parametrize("token", ["", "rst_unknown", "trk_" + "a" * 43, "rst_" + "a" * 200])
def test_an_unknown_link_answers_404(client: FlaskClient, token: str) -> None:
    assert client.get(link_url(token)).status_code == 404


def test_a_deactivated_users_link_stops_working(client: FlaskClient, admin_ctx: Context,
                                                doc: User) -> None:
    link = password_resets.issue_reset_link(admin_ctx, doc.id)
    users.deactivate_user(admin_ctx, doc.id, "left the practice")
    assert client.get(link_url(link.token)).status_code == 404
    with pytest.raises(NotFound):
        password_resets.reset_password_with_link(admin_ctx, link.token, NEW_PASSWORD, True)


def test_only_administrators_make_links(ctx: Context, doc: User) -> None:
    with pytest.raises(Forbidden):
        password_resets.issue_reset_link(builders.as_user(ctx, doc), doc.id)
