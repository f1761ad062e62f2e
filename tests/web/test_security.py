"""Security of the browser side: headers, throttled logins, session limits, cookies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests import builders
from tests.conftest import Clock, csrf_token, login, shown_again
from tests.test_app import PRODUCTION_KEYS
from tracker import create_app
from tracker.models import AuditEvent
from tracker.services.auth import MAX_ADDRESS_FAILURES, MAX_FAILURES
from tracker.services.context import Context


def attempt(client: FlaskClient, email: str, password: str,
            addr: str = "192.0.2.10") -> TestResponse:
    page = client.get("/login", environ_base={"REMOTE_ADDR": addr}).get_data(as_text=True)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(page)},
                       environ_base={"REMOTE_ADDR": addr})


def try_login(client: FlaskClient, email: str, password: str,
              addr: str = "192.0.2.10") -> str:
    response = attempt(client, email, password, addr)
    return "signed-in" if response.status_code == 302 else response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/login", "/healthz", "/no/such/page",
                                  "/api/v1/openapi.json"])
def test_security_headers_on_every_response(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # development and tests: no HSTS


def production_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app in production mode on a migrated SQLite file of its own."""
    monkeypatch.setenv("TRACKER_ENV", "production")
    app = create_app({"INSTANCE_PATH": str(tmp_path), **PRODUCTION_KEYS,
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "p.db")})
    from tracker.migrate import upgrade

    upgrade(app.config["DATABASE_URL"])
    return app


def test_production_adds_hsts_and_secure_host_only_cookies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = production_app(tmp_path, monkeypatch)
    response = app.test_client().get("/login")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # __Host-: the browser accepts it only when Secure, with Path=/ and without a Domain. Before
    # sign-in only the anonymous cookie is set; the session cookie after sign-in is checked in
    # test_anonymous_sessions.
    assert cookie.startswith("__Host-tracker_anon=")
    assert "Path=/;" in cookie + ";" and "Domain" not in cookie
    app.extensions["tracker.db"].engine.dispose()


def test_session_cookie_is_http_only_and_same_site_lax(client: FlaskClient) -> None:
    cookie = client.get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_after_repeated_failures_the_account_waits_and_even_the_right_password_is_refused(
        client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    for _ in range(MAX_FAILURES):
        assert "not right" in try_login(client, user.email, "wrong password here")
    # From another address too: the wait belongs to the account, and is said in seconds.
    refused = attempt(client, user.email, builders.PASSWORD, addr="198.51.100.7")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    assert "Try again in 2 seconds." in refused.get_data(as_text=True)
    failures = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["login.failed", "login.throttled"]))).all()
    assert len(failures) == MAX_FAILURES + 1


def test_a_person_who_mistyped_is_delayed_not_locked_out(client: FlaskClient, ctx: Context,
                                                        clock: Clock) -> None:
    user = builders.prescriber(ctx)
    for _ in range(MAX_FAILURES):
        try_login(client, user.email, "wrong password here")
    clock.now += timedelta(seconds=2)
    assert try_login(client, user.email, builders.PASSWORD) == "signed-in"


def test_each_further_failure_doubles_the_wait_up_to_fifteen_minutes(
        client: FlaskClient, ctx: Context, clock: Clock) -> None:
    user = builders.prescriber(ctx)
    for _ in range(MAX_FAILURES - 1):
        try_login(client, user.email, "wrong password here")
    waits = []
    for _ in range(13):
        try_login(client, user.email, "wrong password here")  # heard: counted
        refused = attempt(client, user.email, "wrong password here")  # during the wait: not
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.now += timedelta(seconds=waits[-1])
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
    assert try_login(client, user.email, builders.PASSWORD) == "signed-in"


def test_the_wait_does_not_say_whether_the_account_exists(client: FlaskClient,
                                                           ctx: Context) -> None:
    user = builders.prescriber(ctx)
    for email in (user.email, "nobody-here@example.test"):
        for _ in range(MAX_FAILURES):
            try_login(client, email, "wrong password here", addr="192.0.2.20")
        refused = attempt(client, email, "wrong password here", addr="192.0.2.20")
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "2")
        assert "Sign-in is paused for a while after too many failed attempts. Try again in 2 " \
               "seconds." in refused.get_data(as_text=True)


def test_one_address_guessing_many_accounts_is_throttled(client: FlaskClient,
                                                         ctx: Context) -> None:
    user = builders.prescriber(ctx)
    for n in range(MAX_ADDRESS_FAILURES - 1):
        try_login(client, f"guess{n}@example.test", "whatever password", addr="203.0.113.9")
    # A colleague behind the same address still signs in after a few typos elsewhere...
    assert try_login(client, user.email, builders.PASSWORD, addr="203.0.113.9") == "signed-in"
    try_login(client, "guess-last@example.test", "whatever password", addr="203.0.113.9")
    # ...until the address reaches its own limit: then it waits too.
    assert attempt(client, user.email, builders.PASSWORD, addr="203.0.113.9").status_code == 429
    assert try_login(client, user.email, builders.PASSWORD, addr="203.0.113.10") == "signed-in"


def test_session_ends_after_twelve_hours_even_when_active(client: FlaskClient, ctx: Context,
                                                          clock: Clock) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    for _ in range(12 * 6 - 1):  # active every 10 minutes for 11 h 50 min
        clock.now += timedelta(minutes=10)
        assert client.get("/account").status_code == 200
    clock.now += timedelta(minutes=11)
    assert client.get("/account").status_code == 302


def test_password_change_ends_the_users_other_sessions(app, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user = builders.prescriber(ctx)
    first, second = app.test_client(), app.test_client()
    login(first, user.email, builders.PASSWORD)
    login(second, user.email, builders.PASSWORD)
    page = first.get("/account/password").get_data(as_text=True)
    response = first.post("/account/password", data={
        "current_password": builders.PASSWORD, "new_password": "a brand new passphrase",
        "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert first.get("/account").status_code == 200
    assert second.get("/account").status_code == 302


@pytest.mark.parametrize(("new", "message"), [
    ("short pass", "at least 12"),
    ("passwordpassword", "commonly used"),
    ("x" * 129, "at most 128"),
])
def test_weak_new_passwords_are_refused(client: FlaskClient, ctx: Context, new: str,
                                        message: str) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post("/account/password", data={
        "current_password": builders.PASSWORD, "new_password": new,
        "csrf_token": csrf_token(page)})
    shown = shown_again(client, response, "/account/password").get_data(as_text=True)
    assert message in shown and new not in shown  # no password is kept for the page


def test_first_login_with_an_initial_password_must_change_it(client: FlaskClient,
                                                             ctx: Context) -> None:
    from tracker.services import users

    new = users.create_user(ctx, role="admin", email="first@example.test", name="First",
                            fast_hash=True)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": "first@example.test",
                                           "password": new.initial_password,
                                           "csrf_token": csrf_token(page)})
    assert response.headers["Location"].endswith("/account/password")
    assert client.get("/account").headers["Location"].endswith("/account/password")


def test_open_redirect_after_login_is_ignored(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login?next=https://evil.example/", data={
        "email": user.email, "password": builders.PASSWORD, "csrf_token": csrf_token(page)})
    assert "evil.example" not in response.headers["Location"]


def test_sign_in_is_audited_with_the_person_as_actor(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    event = ctx.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "login.succeeded")).one()
    assert (event.actor_id, event.actor_role, event.object_id) == (user.id, "prescriber",
                                                                  str(user.id))
    assert event.client_addr == "127.0.0.1" and event.request_id
