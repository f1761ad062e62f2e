"""Signing in and out with server-side sessions."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import Clock, csrf_token, login
from tracker.models import LoginSession, User
from tracker.services import users
from tracker.services.context import Context


def test_sign_in_and_out(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    ctx.session.commit()
    login(client, user.email, builders.PASSWORD)
    page = client.get("/account")
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302


def test_wrong_password_gets_a_generic_message(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": user.email, "password": "not it at all",
                                           "csrf_token": csrf_token(page)})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The email or password is not right" in text
    unknown = client.post("/login", data={"email": "nobody@example.test",
                                          "password": "not it at all",
                                          "csrf_token": csrf_token(page)})
    assert "The email or password is not right" in unknown.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    response = client.post("/login", data={"email": user.email, "password": builders.PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302


def test_session_ends_after_fifteen_idle_minutes(client: FlaskClient, ctx: Context,
                                                 clock: Clock) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    clock.now += timedelta(minutes=14)
    assert client.get("/account").status_code == 200
    clock.now += timedelta(minutes=16)
    response = client.get("/account")
    assert response.status_code == 302
    assert "inactivity" in client.get("/login").get_data(as_text=True)


def test_session_id_changes_at_login(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    # Before sign-in there is no session id (the anonymous values travel in a signed cookie);
    # one planted by someone else is replaced, and so is the id of an earlier sign-in.
    client.set_cookie("tracker_session", "planted-by-someone-else")
    login(client, user.email, builders.PASSWORD)
    before = client.get_cookie("tracker_session")
    login(client, user.email, builders.PASSWORD)
    after = client.get_cookie("tracker_session")
    assert before is not None and after is not None
    assert before.value != "planted-by-someone-else" and before.value != after.value


def test_sign_out_says_so(client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    token = csrf_token(client.get("/account").get_data(as_text=True))
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=True)
    assert "You are signed out." in out.get_data(as_text=True)


def test_a_deactivated_user_is_told_why_only_with_the_right_password(
        client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    users.deactivate_user(builders.as_user(ctx, builders.admin(ctx)), user.id, "left")
    page = client.get("/login").get_data(as_text=True)
    right = client.post("/login", data={"email": user.email, "password": builders.PASSWORD,
                                         "csrf_token": csrf_token(page)})
    assert "This account has been deactivated" in right.get_data(as_text=True)
    wrong = client.post("/login", data={"email": user.email, "password": "not it at all",
                                        "csrf_token": csrf_token(page)})
    text = wrong.get_data(as_text=True)
    assert "The email or password is not right" in text and "deactivated" not in text
    assert client.get("/account").status_code == 302


def test_a_user_deactivated_while_signed_in_is_told_why_on_the_sign_in_page(
        client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    assert client.get("/account").status_code == 200
    users.deactivate_user(builders.as_user(ctx, builders.admin(ctx)), user.id, "left")
    turned_away = client.get("/worklist")
    assert turned_away.status_code == 302 and "/login" in turned_away.headers["Location"]
    text = client.get(turned_away.headers["Location"]).get_data(as_text=True)
    assert "This account has been deactivated by an administrator. Ask your administrator " \
           "to reactivate it." in text
    assert "This account has been deactivated" not in client.get("/login").get_data(
        as_text=True)  # said once


def test_a_live_session_of_a_deactivated_user_ends_with_the_reason(
        client: FlaskClient, ctx: Context) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    # A session that deactivation did not end (the account switched off some other way).
    ctx.session.get(User, user.id).active = False  # type: ignore[union-attr]
    ctx.session.flush()
    turned_away = client.get("/worklist")
    assert turned_away.status_code == 302 and "/login" in turned_away.headers["Location"]
    text = client.get(turned_away.headers["Location"]).get_data(as_text=True)
    assert "This account has been deactivated by an administrator." in text
    ctx.session.expire_all()
    live = ctx.session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))).all()
    assert live == []


def test_an_ordinary_sign_out_says_nothing_of_deactivation(client: FlaskClient,
                                                           ctx: Context) -> None:
    user = builders.prescriber(ctx)
    login(client, user.email, builders.PASSWORD)
    token = csrf_token(client.get("/account").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    turned_away = client.get("/worklist")
    assert turned_away.status_code == 302
    text = client.get(turned_away.headers["Location"]).get_data(as_text=True)
    assert "deactivated" not in text
