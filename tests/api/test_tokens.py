"""Bearer tokens: 401 without one or with a bad one, stored only as a hash, revocable, with the
time they were last used; the session cookie never opens the API."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders as b
from tests.api.scenarios import World, build_world, is_problem
from tests.conftest import Clock, app_config, login
from tracker import create_app
from tracker.cli import cli
from tracker.models import ApiToken
from tracker.services import tokens, users
from tracker.services.context import Context


@pytest.fixture
def w(app: Flask, ctx: Context) -> World:
    return build_world(app, ctx)


def _get_patient(client: FlaskClient, w: World, authorization: str | None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get(f"/api/v1/patients/{w.patient.id}", headers=headers)


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token trk_abc", "trk_abc",
    "Bearer trk_" + "A" * 43, "Bearer not-a-token", "Bearer " + "x" * 5000,
    "Bearer trk_\u00e9\u00e9",
])
def test_a_missing_or_bad_token_answers_401(client: FlaskClient, w: World,
                                            authorization: str | None) -> None:
    response = _get_patient(client, w, authorization)
    assert is_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Bearer" in response.get_json()["detail"]


def test_the_scheme_name_is_case_insensitive(client: FlaskClient, w: World) -> None:
    token = w.token_for("prescriber")
    assert _get_patient(client, w, "bearer " + token).status_code == 200
    assert _get_patient(client, w, "BEARER " + token).status_code == 200


def test_a_revoked_token_answers_401_and_other_tokens_keep_working(client: FlaskClient,
                                                                   w: World) -> None:
    keep = tokens.create_token(w.ctx, w.prescriber)
    drop = tokens.create_token(w.ctx, w.prescriber)
    assert _get_patient(client, w, "Bearer " + drop).status_code == 200
    row = w.ctx.session.scalar(select(ApiToken).where(
        ApiToken.token_hash == tokens.token_hash(drop)))
    assert row is not None
    tokens.revoke_token(w.ctx, row.id)
    w.ctx.session.flush()
    assert is_problem(_get_patient(client, w, "Bearer " + drop), 401)
    assert _get_patient(client, w, "Bearer " + keep).status_code == 200


def test_a_deactivated_users_tokens_answer_401(client: FlaskClient, w: World) -> None:
    token = w.token_for("prescriber")
    w.prescriber.active = False
    w.ctx.session.flush()
    assert is_problem(_get_patient(client, w, "Bearer " + token), 401)


def _lookup(client: FlaskClient, w: World, token: str) -> Any:
    born = w.authorized.date_of_birth.isoformat()
    return client.get(f"/api/v1/authorizations/{w.number}?date_of_birth={born}",
                      headers={"Authorization": "Bearer " + token})


def test_revoking_takes_effect_on_the_very_next_eligibility_check_and_lookup(
        client: FlaskClient, w: World) -> None:
    # The hot paths check the token with every request: nothing of an earlier, accepted
    # request is remembered, whatever the process or thread.
    check = f"/api/v1/prescriptions/{w.rx.id}/eligibility"
    doc, counter = w.token_for("prescriber"), w.token_for("pharmacist")
    assert client.get(check, headers={"Authorization": "Bearer " + doc}).status_code == 200
    assert _lookup(client, w, counter).status_code == 200
    for token in (doc, counter):
        row = w.ctx.session.scalar(select(ApiToken).where(
            ApiToken.token_hash == tokens.token_hash(token)))
        assert row is not None
        tokens.admin_revoke_token(w.acting(w.admin), row.id)
    w.ctx.session.flush()
    assert is_problem(client.get(check, headers={"Authorization": "Bearer " + doc}), 401)
    assert is_problem(_lookup(client, w, counter), 401)


def test_deactivating_a_pharmacist_stops_the_lookup_and_the_dispense_at_once(
        client: FlaskClient, w: World) -> None:
    counter = w.token_for("pharmacist")
    assert _lookup(client, w, counter).status_code == 200
    users.deactivate_user(w.acting(w.admin), w.pharmacist.id, "left the pharmacy")
    w.ctx.session.flush()
    assert is_problem(_lookup(client, w, counter), 401)
    fill = {"authorization_number": w.number, "quantity": w.authorized_rx.quantity,
            "days_supply": w.authorized_rx.days_supply, "medication_guide_given": True}
    dispensed = client.post(f"/api/v1/prescriptions/{w.authorized_rx.id}/dispense", json=fill,
                            headers={"Authorization": "Bearer " + counter})
    assert is_problem(dispensed, 401)


def test_a_user_who_must_still_change_the_password_can_use_a_token(client: FlaskClient,
                                                                   w: World) -> None:
    w.prescriber.must_change_password = True
    w.ctx.session.flush()
    assert _get_patient(client, w, "Bearer " + w.token_for("prescriber")).status_code == 200


def test_tokens_are_stored_only_as_a_hash(w: World) -> None:
    token = tokens.create_token(w.ctx, w.prescriber, label="pharmacy system")
    row = w.ctx.session.scalar(select(ApiToken).where(ApiToken.user_id == w.prescriber.id)
                               .order_by(ApiToken.id.desc()))
    assert row is not None
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(getattr(row, c.key)) for c in ApiToken.__table__.columns)
    assert token not in stored
    assert token[10:] not in stored  # the shown prefix says which token it is, nothing more


def test_the_last_use_of_a_token_is_recorded(client: FlaskClient, w: World,
                                             clock: Clock) -> None:
    token = w.token_for("prescriber")

    def last_used() -> Any:
        w.ctx.session.expire_all()
        row = w.ctx.session.scalar(select(ApiToken).where(
            ApiToken.token_hash == tokens.token_hash(token)))
        assert row is not None
        return row.last_used_at

    assert last_used() is None
    first = clock.now
    _get_patient(client, w, "Bearer " + token)
    assert last_used() == first
    clock.now = first + timedelta(seconds=30)  # reads within a minute stay reads
    _get_patient(client, w, "Bearer " + token)
    assert last_used() == first
    clock.now = first + timedelta(minutes=5)
    _get_patient(client, w, "Bearer " + token)
    assert last_used() == first + timedelta(minutes=5)


def test_the_session_cookie_never_opens_the_api(client: FlaskClient, w: World) -> None:
    login(client, w.prescriber.email, b.PASSWORD)
    assert client.get("/account").status_code == 200  # signed in for the pages
    response = _get_patient(client, w, None)
    assert is_problem(response, 401)
    # And a write needs no CSRF token with a bearer token, but gets nothing from the cookie.
    response = client.post("/api/v1/patients", json={
        "first_name": "Cookie", "last_name": "Only", "date_of_birth": "2000-01-01",
        "category": "can_get_pregnant"})
    assert is_problem(response, 401)


def test_api_answers_set_no_cookie(client: FlaskClient, w: World) -> None:
    response = _get_patient(client, w, "Bearer " + w.token_for("prescriber"))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_a_token_from_the_command_line_opens_the_api(fresh_database: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     clock: Clock) -> None:
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh_database)
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("TRACKER_SECRET_KEY", "cli-test-secret")
    runner = CliRunner()
    made = runner.invoke(cli, ["users", "create", "--role", "prescriber", "--email",
                               "cli@example.test", "--name", "Cli Doc", "--npi", "1234567893"])
    assert made.exit_code == 0, made.output
    issued = runner.invoke(cli, ["tokens", "create", "cli@example.test"])
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert token.startswith("trk_") and "\n" not in token  # the token and nothing else

    app = create_app(app_config(fresh_database, tmp_path / "app", CLOCK=clock))
    try:
        response = app.test_client().get("/api/v1/comprehension/questions",
                                         headers={"Authorization": "Bearer " + token})
        assert response.status_code == 200
        assert len(response.get_json()) == 8
    finally:
        app.extensions["tracker.db"].engine.dispose()
