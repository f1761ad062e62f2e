"""Administration of users: create users of every role with a one-time password, deactivate
(sessions end, tokens revoked) and reactivate without ever deleting, make a password reset
link, see who is active. Every change is audited."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import csrf_token, login, post_form, shown_again
from tests.web.admin.conftest import events, text_of
from tracker.models import ApiToken, LoginSession, User
from tracker.services import authorizations, tokens
from tracker.services import users as user_service
from tracker.services.context import Context
from tracker.services.errors import Forbidden, ValidationFailed
from tracker.services.queries import user_list

VALID_NPI = "1234567893"


def one_time_password(page: str) -> str:
    match = re.search(r'<p class="big mono">([^<]+)</p>', page)
    assert match, "no one-time secret on the page"
    return match.group(1)


def users(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(User)) or 0


def signed_in(app: Flask, user: User, password: str = builders.PASSWORD) -> FlaskClient:
    browser = app.test_client()
    login(browser, user.email, password)
    return browser


@pytest.mark.parametrize(("role", "extra"), [
    ("prescriber", {"npi": VALID_NPI}),
    ("pharmacist", {"pharmacy": "PHARMACY"}),
    ("admin", {}),
])
def test_admin_creates_a_user_of_every_role_with_a_one_time_password(
    ctx: Context, app: Flask, browser: FlaskClient, administrator: User, role: str,
    extra: dict[str, str]
) -> None:
    if extra.get("pharmacy"):
        extra = {"pharmacy": builders.pharmacy(ctx).ncpdp_id}
    response = post_form(browser, "/admin/users/new", {
        "role": role, "name": "Jordan Lee", "email": "Jordan.Lee@Example.test", **extra})
    page = text_of(response)
    assert response.status_code == 200
    assert "Jordan Lee is created" in page
    initial = one_time_password(page)
    user = ctx.session.scalar(select(User).where(User.email == "jordan.lee@example.test"))
    assert user is not None and user.role == role and user.must_change_password
    [event] = events(ctx, "user.created", user.id)
    assert event.actor_id == administrator.id
    assert initial not in (event.new_values or "")
    newcomer = app.test_client()
    page = text_of(newcomer.get("/login"))
    first = newcomer.post("/login", data={"email": user.email, "password": initial,
                                          "csrf_token": csrf_token(page)})
    assert first.headers["Location"].endswith("/account/password")


def test_user_input_errors_name_the_field_and_nothing_is_stored(
    ctx: Context, browser: FlaskClient
) -> None:
    taken = builders.prescriber(ctx)
    before = users(ctx)
    cases = [
        ({"role": "prescriber", "npi": "1234567890"},
         "The NPI has 10 digits and a valid check digit."),
        ({"role": "pharmacist", "pharmacy": ""},
         "Enter the NCPDP id of the pharmacy this person works at."),
        ({"role": "pharmacist", "pharmacy": "9999999"}, "No pharmacy has the NCPDP id 9999999."),
        ({"role": "admin", "pharmacy": "9999999"},
         "Only pharmacy staff belong to a pharmacy; leave the NCPDP id empty."),
        ({"role": "admin", "email": taken.email.upper()}, "A user with this email already exists."),
        ({"role": "admin", "email": "not-an-email"}, "Enter a valid email address."),
    ]
    for data, message in cases:
        response = post_form(browser, "/admin/users/new",
                             {"name": "Casey Kim", "email": "casey@example.test", **data})
        response = shown_again(browser, response, "/admin/users/new")
        assert message in text_of(response), data
    assert users(ctx) == before


def test_deactivation_ends_the_users_sessions_and_revokes_their_tokens(
    ctx: Context, app: Flask, browser: FlaskClient, administrator: User
) -> None:
    staff = builders.pharmacist(ctx)
    their_browser = signed_in(app, staff)
    assert their_browser.get("/pharmacy").status_code == 200
    token = tokens.create_token(ctx, staff, "pharmacy system")
    api = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/authorizations/XXXX-XXXX-XXXX?date_of_birth="
                                 "2000-01-01", headers=api).status_code == 404

    url = f"/admin/users/{staff.id}"
    no_reason = post_form(browser, f"{url}/deactivate", {"reason": ""}, page_url=url)
    no_reason = shown_again(browser, no_reason, url)
    assert "Give the reason; it is kept in the audit trail." in text_of(no_reason)
    done = post_form(browser, f"{url}/deactivate", {"reason": "left the pharmacy"},
                     page_url=url)
    assert done.status_code == 302
    assert "is deactivated" in text_of(browser.get(url))

    ctx.session.expire_all()
    assert ctx.session.get(User, staff.id).active is False
    open_sessions = ctx.session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == staff.id, LoginSession.ended_at.is_(None)))
    assert open_sessions == 0
    assert ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == staff.id)).revoked_at
    response = their_browser.get("/pharmacy")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert app.test_client().get("/api/v1/authorizations/XXXX-XXXX-XXXX?date_of_birth="
                                 "2000-01-01", headers=api).status_code == 401
    again = app.test_client()
    page = text_of(again.get("/login"))
    refused = again.post("/login", data={"email": staff.email, "password": builders.PASSWORD,
                                         "csrf_token": csrf_token(page)})
    assert refused.status_code == 200 and "has been deactivated" in text_of(refused)

    [event] = events(ctx, "user.deactivated", staff.id)
    assert event.actor_id == administrator.id and event.reason == "left the pharmacy"
    assert json.loads(event.new_values or "{}") == {"active": False, "sessions_ended": 1,
                                                    "tokens_revoked": 1}


def test_admin_cannot_deactivate_their_own_account(
    ctx: Context, browser: FlaskClient, administrator: User
) -> None:
    url = f"/admin/users/{administrator.id}"
    assert "You cannot deactivate your own account" in text_of(browser.get(url))
    page = text_of(browser.get(url))
    response = browser.post(f"{url}/deactivate", data={"csrf_token": csrf_token(page),
                                                       "reason": "testing"})
    shown = text_of(shown_again(browser, response, url))
    assert "You cannot deactivate your own account" in shown
    ctx.session.expire_all()
    assert ctx.session.get(User, administrator.id).active is True


def test_reactivated_user_signs_in_again_with_the_same_id(
    ctx: Context, app: Flask, browser: FlaskClient
) -> None:
    staff = builders.pharmacist(ctx)
    url = f"/admin/users/{staff.id}"
    post_form(browser, f"{url}/deactivate", {"reason": "on leave"}, page_url=url)
    page = text_of(browser.get(url))
    assert "Reactivate" in page and "Deactivated Dec 15, 2026" in page
    done = post_form(browser, f"{url}/reactivate", {"reason": "back from leave"}, page_url=url)
    assert done.status_code == 302
    assert signed_in(app, staff).get("/pharmacy").status_code == 200
    [event] = events(ctx, "user.reactivated", staff.id)
    assert event.reason == "back from leave"
    history = text_of(browser.get(url))
    assert "Deactivated" in history and "Reactivated" in history and "back from leave" in history


def test_a_deactivated_prescribers_authorization_cannot_be_dispensed(
    ctx: Context, app: Flask, browser: FlaskClient
) -> None:
    prescriber = builders.prescriber(ctx)
    doc = builders.as_user(ctx, prescriber)
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    url = f"/admin/users/{prescriber.id}"
    post_form(browser, f"{url}/deactivate", {"reason": "retired"}, page_url=url)
    counter = signed_in(app, builders.pharmacist(ctx))
    page = text_of(post_form(counter, "/pharmacy", {"authorization_number": auth.number,
                                                     "date_of_birth": "1995-04-02"},
                             follow_redirects=True))
    assert "Do not dispense" in page
    assert "The prescriber is not active in the program" in page


def test_users_are_never_deleted_and_ids_are_not_reused(
    ctx: Context, browser: FlaskClient
) -> None:
    staff = builders.pharmacist(ctx)
    url = f"/admin/users/{staff.id}"
    post_form(browser, f"{url}/deactivate", {"reason": "left"}, page_url=url)
    assert browser.delete(url).status_code == 405
    assert ctx.session.get(User, staff.id) is not None
    assert builders.pharmacist(ctx).id > staff.id


def test_password_reset_makes_a_single_use_link_and_shows_no_password(
    ctx: Context, app: Flask, browser: FlaskClient, administrator: User
) -> None:
    doc = builders.prescriber(ctx)
    before = doc.password_hash
    url = f"/admin/users/{doc.id}"
    response = post_form(browser, f"{url}/password", {}, page_url=url)
    page = text_of(response)
    assert response.status_code == 200 and "Password reset link" in page
    link = one_time_password(page)
    assert "/password-reset?token=rst_" in link
    # Nothing the administrator saw signs in as the prescriber: the password is unchanged,
    # and the link itself is no password.
    ctx.session.refresh(doc)
    assert doc.password_hash == before and not doc.must_change_password
    fresh = app.test_client()
    login_page = text_of(fresh.get("/login"))
    token = link.split("token=", 1)[1]
    refused = fresh.post("/login", data={"email": doc.email, "password": token,
                                         "csrf_token": csrf_token(login_page)})
    assert refused.status_code != 302
    [event] = events(ctx, "user.password_reset_link_created", doc.id)
    assert event.actor_id == administrator.id and token not in (event.new_values or "")
    assert "Password reset link made" in text_of(browser.get(url))


def test_user_list_shows_who_is_active_with_filters_and_pages(
    ctx: Context, browser: FlaskClient, administrator: User
) -> None:
    for n in range(26):
        builders.prescriber(ctx, name=f"Doctor {n:02d}")
    gone = builders.pharmacist(ctx)
    user_service.deactivate_user(builders.as_user(ctx, administrator), gone.id, "left")
    page = text_of(browser.get("/admin/users?role=prescriber"))
    assert "Page 1 of 2" in page and "Doctor 00" in page and "Doctor 25" not in page
    assert 'href="/admin/users?role=prescriber&amp;page=2"' in page
    second = text_of(browser.get("/admin/users?role=prescriber&page=2"))
    assert "Doctor 25" in second
    inactive = text_of(browser.get("/admin/users?status=deactivated"))
    assert f'href="/admin/users/{gone.id}"' in inactive and "Doctor 00" not in inactive
    me = text_of(browser.get("/admin/users?q=" + administrator.email.split("@")[0]))
    assert "Ada Admin" in me and "Dec 15, 2026 at 12:00 PM ET" in me


def test_user_services_are_for_administrators_only(ctx: Context) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    with pytest.raises(Forbidden):
        user_list.list_users(doc)
    with pytest.raises(Forbidden):
        user_service.deactivate_user(doc, doc.actor.user_id or 0, "no")


def test_deactivating_twice_is_refused_without_a_second_event(
    ctx: Context, administrator: User
) -> None:
    acting = builders.as_user(ctx, administrator)
    staff = builders.pharmacist(ctx)
    user_service.deactivate_user(acting, staff.id, "left")
    with pytest.raises(ValidationFailed):
        user_service.deactivate_user(acting, staff.id, "left again")
    assert len(events(ctx, "user.deactivated", staff.id)) == 1
