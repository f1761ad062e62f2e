"""A wrong password typed inside a signed-in session (Mark dispensable, the acknowledgment's
witness, the current password at a change) counts for the account together with failed sign-ins:
the failure that reaches the limit ends every session of the user, the sign-in page says why,
and signing in again waits as after failed sign-ins. Every failure is audited and committed,
although the request that carried it failed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import csrf_token, login, shown_again
from tests.web.prescriber.conftest import events, text_of
from tracker.models import Authorization, LoginAttempt, Prescription, User
from tracker.services.auth import MAX_FAILURES
from tracker.services.context import Context

WRONG = "not my password at all"
SIGNED_OUT = "You were signed out: the password was entered wrongly too many times."


def _post(client: FlaskClient, url: str, page_url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _mark_dispensable(doc: Context) -> Callable[[FlaskClient, str], object]:
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    url = f"/prescriptions/{rx.id}"
    return lambda client, password: _post(client, url + "/authorize", url,
                                           {"password": password})


def _witness(doc: Context) -> Callable[[FlaskClient, str], object]:
    p = builders.patient(doc)
    url = f"/patients/{p.id}/acknowledgment"
    return lambda client, password: _post(client, url, url, {
        "signed_on": "2026-12-15", "patient_signature": "Alex Rivera", "understood": "y",
        "witness_password": password})


def _current_password(doc: Context) -> Callable[[FlaskClient, str], object]:
    url = "/account/password"
    return lambda client, password: _post(client, url, url, {
        "current_password": password, "new_password": "a brand new passphrase"})


# A wrong signature on a clinical form sends the form back to its page (Post/Redirect/Get).
REFUSED = {"mark-dispensable": 303, "witness": 303, "current-password": 303}
FORMS = {"mark-dispensable": (_mark_dispensable, "authorization.signature_failed"),
         "witness": (_witness, "acknowledgment.witness_password_failed"),
         "current-password": (_current_password, "user.password_change_failed")}


@pytest.mark.parametrize("form", FORMS)
def test_wrong_passwords_in_a_session_end_every_session_of_the_user(
    form: str, app: Flask, browser: FlaskClient, doctor: User, doc: Context, db: Session
) -> None:
    make, failed_event = FORMS[form]
    attempt = make(doc)
    elsewhere = app.test_client()
    login(elsewhere, doctor.email, builders.PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        assert attempt(browser, WRONG).status_code == REFUSED[form]  # type: ignore[attr-defined]
    last = attempt(browser, WRONG)
    assert last.status_code == 302 and last.headers["Location"] == "/login"  # type: ignore[attr-defined]
    shown = browser.get("/login")
    assert shown.status_code == 200 and SIGNED_OUT in text_of(shown.get_data(as_text=True))
    # Both sessions are over: the guesser's and the one on another computer.
    assert browser.get("/account").status_code == 302
    assert elsewhere.get("/account").status_code == 302
    # The failures were committed with the failed requests, and the end is audited.
    assert len(events(db, failed_event)) == MAX_FAILURES
    assert len(events(db, "user.signed_out_after_password_failures")) == 1
    # Even the right password now waits before it signs in again, as after failed sign-ins.
    page = browser.get("/login").get_data(as_text=True)
    again = browser.post("/login", data={"email": doctor.email, "password": builders.PASSWORD,
                                         "csrf_token": csrf_token(page)})
    assert again.status_code == 429


def test_the_right_password_no_longer_signs_after_the_limit(
    browser: FlaskClient, doctor: User, doc: Context, db: Session
) -> None:
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    url = f"/prescriptions/{rx.id}"
    token = csrf_token(browser.get(url).get_data(as_text=True))
    for password in [WRONG] * MAX_FAILURES + [builders.PASSWORD]:
        answer = browser.post(url + "/authorize", data={"password": password,
                                                        "csrf_token": token})
    # The session is gone with its form token: the right password cannot sign with it.
    assert answer.status_code in (302, 400) and "/prescriptions/" not in (answer.location or "")
    db.expire_all()
    assert db.get(Prescription, rx.id).status == "pending"  # type: ignore[union-attr]
    assert db.scalar(select(Authorization).where(Authorization.prescription_id == rx.id)) is None


def test_failed_sign_ins_and_wrong_signatures_count_together(
    client: FlaskClient, doctor: User, doc: Context, db: Session
) -> None:
    for _ in range(MAX_FAILURES - 2):
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"email": doctor.email, "password": WRONG,
                                    "csrf_token": csrf_token(page)})
    login(client, doctor.email, builders.PASSWORD)  # a success forgets the earlier failures
    attempt = _witness(doc)
    for _ in range(MAX_FAILURES - 1):
        assert attempt(client, WRONG).status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    row = db.scalar(select(LoginAttempt).where(LoginAttempt.key == "account:" + doctor.email))
    assert row is not None and row.failures == MAX_FAILURES - 1
    assert attempt(client, WRONG).status_code == 302  # type: ignore[attr-defined]


def test_a_right_signature_still_signs_below_the_limit(browser: FlaskClient, doc: Context,
                                                       db: Session) -> None:
    attempt = _mark_dispensable(doc)
    for _ in range(MAX_FAILURES - 1):
        attempt(browser, WRONG)
    assert attempt(browser, builders.PASSWORD).status_code == 302  # type: ignore[attr-defined]
    db.expire_all()
    assert db.scalar(select(Authorization)) is not None
    assert browser.get("/account").status_code == 200


def test_a_wrong_current_password_is_audited_and_committed(browser: FlaskClient,
                                                           doctor: User, doc: Context,
                                                           db: Session) -> None:
    answer = shown_again(browser, _current_password(doc)(browser, WRONG), "/account/password")
    assert "The current password is not right." in text_of(answer.get_data(as_text=True))
    failed = events(db, "user.password_change_failed")
    assert [(e.object_id, e.actor_id) for e in failed] == [(str(doctor.id), doctor.id)]
