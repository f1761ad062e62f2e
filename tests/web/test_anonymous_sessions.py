"""A visitor who has not signed in costs the database nothing: their values (the CSRF token,
flashed messages) live in a signed cookie; the session row exists from sign-in to sign-out."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.conftest import Clock, csrf_token, login, shown_again
from tests.web.test_security import production_app
from tracker.http import anonymous
from tracker.models import LoginSession
from tracker.services.context import Actor, Context


def _rows(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(LoginSession)) or 0


def _live_rows(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.ended_at.is_(None))) or 0


def test_anonymous_requests_write_no_session_row(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    before = _rows(ctx)
    for n in range(5):
        page = client.get("/login")
        assert page.status_code == 200
        failed = client.post("/login", data={"email": f"guess{n}@example.test",
                                             "password": "not the password",
                                             "csrf_token": csrf_token(page.get_data(True))})
        assert "not right" in failed.get_data(as_text=True)
        assert client.get("/account").status_code == 302
        # A fresh visitor each time, as a flood of clients would be.
        client = client.application.test_client()
    assert _rows(ctx) == before
    # The same CSRF protection still lets the real person in.
    login(client, user.email, builders.PASSWORD)
    assert _rows(ctx) == before + 1


def test_anonymous_cookie_is_signed_http_only_and_same_site_lax(client: FlaskClient) -> None:
    response = client.get("/login")
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith(anonymous.COOKIE_NAME + "=")
    assert "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    assert "Path=/;" in cookies[0] + ";"
    assert client.get_cookie("tracker_session") is None


def test_a_changed_anonymous_cookie_is_not_believed(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    cookie = client.get_cookie(anonymous.COOKIE_NAME)
    assert cookie is not None
    value, signature = cookie.value.rsplit(".", 1)
    # Change a character in the middle: every bit of it is signature (the last one's low bits
    # are base64 padding, so changing it may leave the decoded signature as it was).
    middle = len(signature) // 2
    forged = (signature[:middle] + ("A" if signature[middle] != "A" else "B")
              + signature[middle + 1:])
    assert forged != signature
    client.set_cookie(anonymous.COOKIE_NAME, f"{value}.{forged}")
    response = client.post("/login", data={"email": user.email, "password": builders.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 400
    assert client.get_cookie("tracker_session") is None


def test_the_anonymous_cookie_never_signs_anyone_in(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    app = client.application
    client.set_cookie(anonymous.COOKIE_NAME, anonymous.dump(app, {"_user_id": str(user.id)}))
    assert client.get("/account").status_code == 302


def test_signing_in_creates_the_row_and_drops_the_anonymous_cookie(
        client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    before = _live_rows(ctx)
    client.get("/login")
    assert client.get_cookie(anonymous.COOKIE_NAME) is not None
    login(client, user.email, builders.PASSWORD)
    assert client.get_cookie(anonymous.COOKIE_NAME) is None
    assert client.get_cookie("tracker_session") is not None
    assert _live_rows(ctx) == before + 1
    # Forms of a signed-in person keep working with CSRF on.
    page = client.get("/account/password").get_data(as_text=True)
    refused = client.post("/account/password", data={
        "current_password": "wrong", "new_password": "a brand new passphrase",
        "csrf_token": csrf_token(page)})
    shown_again(client, refused, "/account/password")


def test_signing_out_ends_the_row_and_leaves_no_anonymous_row(client: FlaskClient,
                                                              ctx: Context) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    rows, live = _rows(ctx), _live_rows(ctx)
    token = csrf_token(client.get("/account").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get_cookie("tracker_session") is None
    assert _rows(ctx) == rows and _live_rows(ctx) == live - 1
    # The farewell travels in the anonymous cookie and is shown once.
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    assert "You are signed out." not in client.get("/login").get_data(as_text=True)
    assert _rows(ctx) == rows


def test_expired_session_says_so_and_signs_in_again_without_an_anonymous_row(
        client: FlaskClient, ctx: Context, clock: Clock) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    rows = _rows(ctx)
    clock.now += timedelta(minutes=16)
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _rows(ctx) == rows and _live_rows(ctx) == 0
    assert "inactivity" in client.get("/login").get_data(as_text=True)
    assert _rows(ctx) == rows
    login(client, user.email, builders.PASSWORD)
    assert client.get("/account").status_code == 200
    assert _live_rows(ctx) == 1


def test_cookie_size_is_bounded_and_keeps_the_csrf_token(app: Flask) -> None:
    # Random text, so that compression cannot make it small.
    flashes = [("message", secrets.token_hex(250)) for _ in range(20)]
    value = anonymous.dump(app, {"csrf_token": "t0ken", "_flashes": flashes})
    assert len(value) <= anonymous.MAX_BYTES
    assert anonymous.load(app, value) == {"csrf_token": "t0ken"}
    assert anonymous.load(app, "x" * (anonymous.MAX_BYTES + 1)) == {}


def test_cookie_signed_with_another_key_is_ignored(app: Flask, tmp_path: Path) -> None:
    value = anonymous.dump(app, {"csrf_token": "t0ken"})
    assert anonymous.load(app, value) == {"csrf_token": "t0ken"}
    other = Flask("other")
    other.config.update(app.config)
    other.secret_key = "another-secret-key"
    assert anonymous.load(other, value) == {}


def test_production_session_cookie_after_sign_in_is_secure_and_host_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The anonymous cookie's production form is checked with the other production headers.
    app = production_app(tmp_path, monkeypatch)
    client = app.test_client()
    database = app.extensions["tracker.db"]
    with database.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=app.config["SIGNATURE_KEYRING"])
        user = builders.prescriber(ctx)
        email = user.email
    login(client, email, builders.PASSWORD)
    signed_in = client.get_cookie("__Host-tracker_session")
    assert signed_in is not None and signed_in.secure and signed_in.http_only
    assert signed_in.path == "/" and signed_in.same_site == "Lax"
    assert client.get_cookie(anonymous.PRODUCTION_COOKIE_NAME) is None
    database.engine.dispose()


def test_a_row_from_before_sign_in_is_ended_and_its_values_move_to_the_cookie(
        client: FlaskClient, ctx: Context) -> None:
    # Rows written for visitors before this release: the visitor keeps the form's CSRF token.
    user = builders.prescriber(ctx)
    now = ctx.now()
    ctx.session.add(LoginSession(id_hash=hashlib.sha256(b"old-visitor").hexdigest(),
                                 data=json.dumps({"csrf_token": "c" * 40}), created_at=now,
                                 last_seen_at=now))
    ctx.session.commit()
    client.set_cookie("tracker_session", "old-visitor")
    page = client.get("/login").get_data(as_text=True)
    assert client.get_cookie("tracker_session") is None
    assert _live_rows(ctx) == 0
    response = client.post("/login", data={"email": user.email, "password": builders.PASSWORD,
                                           "csrf_token": csrf_token(page)})
    assert response.status_code == 302
