"""A form sent after the session expired is not lost: sign-in leads back to it, filled in, for
the same user only, with nothing recorded and nothing clinical in the browser's cookies."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import Clock, csrf_token, login
from tracker.models import FormDraft, Patient
from tracker.services import drafts
from tracker.services.context import Context

TYPED = {"first_name": "Maya", "last_name": "Lopez", "date_of_birth": "1998-03-14",
         "category": "cannot_get_pregnant"}


def _count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def _expire_mid_form(client: FlaskClient, clock: Clock, url: str = "/patients/new"):  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    clock.now += timedelta(minutes=16)
    return client.post(url, data={**TYPED, "csrf_token": csrf_token(page)})


def test_a_form_sent_after_expiry_comes_back_filled_in_after_sign_in(
        client: FlaskClient, ctx: Context, db: Session, clock: Clock) -> None:
    doctor = builders.prescriber(ctx)
    login(client, doctor.email, builders.PASSWORD)
    answer = _expire_mid_form(client, clock)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert target.path == "/login"
    query = parse_qs(target.query)
    assert query["next"] == ["/patients/new"] and query["draft"]
    # Nothing recorded, and nothing typed travels in a cookie (it is kept server-side).
    assert _count(db, Patient) == 0 and _count(db, FormDraft) == 1
    cookies = " ".join(c.value for c in client._cookies.values())  # type: ignore[attr-defined]
    assert "Lopez" not in cookies
    login_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "inactivity" in login_page
    signed_in = client.post(answer.headers["Location"], data={
        "email": doctor.email, "password": builders.PASSWORD,
        "csrf_token": csrf_token(login_page)})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/patients/new"
    assert _count(db, FormDraft) == 0
    form = client.get("/patients/new").get_data(as_text=True)
    assert 'value="Maya"' in form and 'value="Lopez"' in form and 'value="1998-03-14"' in form
    assert re.search(r'<input[^>]*checked[^>]*value="cannot_get_pregnant"|'
                     r'<input[^>]*value="cannot_get_pregnant"[^>]*checked', form)
    assert "What you typed is filled in below" in form
    assert _count(db, Patient) == 0  # shown, never sent for the user
    # Sent again with the new session's token, it is recorded once.
    sent = client.post("/patients/new", data={**TYPED, "csrf_token": csrf_token(form)})
    assert sent.status_code == 302
    assert _count(db, Patient) == 1
    # Shown once: the next visit is an empty form.
    assert 'value="Maya"' not in client.get("/patients/new").get_data(as_text=True)


def test_another_user_signing_in_does_not_get_the_draft(
        client: FlaskClient, ctx: Context, db: Session, clock: Clock) -> None:
    doctor = builders.prescriber(ctx)
    other = builders.prescriber(ctx, name="Other Doctor")
    login(client, doctor.email, builders.PASSWORD)
    answer = _expire_mid_form(client, clock)
    login_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    client.post(answer.headers["Location"], data={
        "email": other.email, "password": builders.PASSWORD,
        "csrf_token": csrf_token(login_page)})
    form = client.get("/patients/new").get_data(as_text=True)
    assert "Lopez" not in form
    assert _count(db, FormDraft) == 1  # still the first user's, until purged


def test_a_form_without_the_expired_sessions_token_is_refused_and_not_kept(
        client: FlaskClient, ctx: Context, db: Session, clock: Clock) -> None:
    doctor = builders.prescriber(ctx)
    login(client, doctor.email, builders.PASSWORD)
    client.get("/patients/new")
    clock.now += timedelta(minutes=16)
    answer = client.post("/patients/new", data={**TYPED, "csrf_token": "forged"})
    assert answer.status_code == 400
    assert _count(db, FormDraft) == 0


def test_passwords_are_never_kept(ctx: Context) -> None:
    token = drafts.keep_draft(ctx.session, builders.prescriber(ctx).id, "/x",
                              [("witness_password", "secret"), ("password", "s"),
                               ("csrf_token", "t"), ("signed_on", "2026-12-01")], ctx.now())
    row = ctx.session.scalar(select(FormDraft))
    assert row is not None and "secret" not in row.fields and "2026-12-01" in row.fields
    assert token not in row.id_hash


def test_a_stale_draft_is_not_restored_and_is_purged(ctx: Context) -> None:
    user = builders.prescriber(ctx)
    old = drafts.keep_draft(ctx.session, user.id, "/x", [("a", "1")],
                            ctx.now() - drafts.KEEP_FOR - timedelta(minutes=1))
    assert drafts.take_draft(ctx.session, old, user.id, ctx.now()) is None
    drafts.keep_draft(ctx.session, user.id, "/x", [("a", "1")],
                      ctx.now() - drafts.KEEP_FOR - timedelta(minutes=1))
    fresh = drafts.keep_draft(ctx.session, user.id, "/y", [("b", "2")], ctx.now())
    assert drafts.purge_drafts(ctx.session, ctx.now()) == 1
    kept = drafts.take_draft(ctx.session, fresh, user.id, ctx.now())
    assert kept is not None and kept.path == "/y" and kept.fields == [("b", "2")]


def test_stay_signed_in_keeps_the_session_alive(client: FlaskClient, ctx: Context,
                                                clock: Clock) -> None:
    doctor = builders.prescriber(ctx)
    login(client, doctor.email, builders.PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="idle-warning"' in page and "Stay signed in" in page and "/static/idle.js" in page
    for _ in range(3):
        clock.now += timedelta(minutes=10)
        answer = client.post("/session/keep-alive", data={"csrf_token": csrf_token(page)},
                             headers={"Accept": "application/json"})
        assert answer.status_code == 200 and answer.get_json() == {"idle_seconds": 900}
    assert client.get("/account").status_code == 200
    # Without the script the button is a form that comes back to the page.
    answer = client.post("/session/keep-alive", data={"csrf_token": csrf_token(page),
                                                      "next": "/account"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/account"
    clock.now += timedelta(minutes=16)
    assert client.get("/account").status_code == 302


def test_stay_signed_in_needs_a_live_session(client: FlaskClient) -> None:
    answer = client.post("/session/keep-alive", headers={"Accept": "application/json"})
    assert answer.status_code in {302, 400}
