"""Idempotency-Key on authorize and dispense: the same key and body replay the first answer,
another body is refused (422), a request whose first answer is not in yet gets 409, and two
identical requests racing each other make one dispense."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests import builders as b
from tests.api.scenarios import World, build_world, is_problem
from tests.builders import SIGNED
from tests.conftest import PG_URL, Clock, app_config
from tracker import create_app
from tracker.api import idempotency
from tracker.api.idempotency import body_digest
from tracker.db import Database
from tracker.keyring import Keyring
from tracker.models import AuditEvent, Authorization, Dispense, IdempotencyRecord, Prescription
from tracker.services import authorizations, dispenses, tokens
from tracker.services.audit import AUDIT_CHAIN_LOCK_KEY
from tracker.services.context import Actor, Context


@pytest.fixture
def w(app: Flask, ctx: Context) -> World:
    return build_world(app, ctx)


def _fill(w: World, **changes: Any) -> dict[str, Any]:
    return {"authorization_number": w.number, "quantity": 30, "days_supply": 30,
            "medication_guide_given": True, **changes}


def _dispense(w: World, key: str | None, body: Any, who: str = "pharmacist") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return w.send(who, "POST", f"/prescriptions/{w.authorized_rx.id}/dispense", json=body,
                  headers=headers)


def _authorize(w: World, key: str, **kw: Any) -> Any:
    return w.send("prescriber", "POST", f"/prescriptions/{w.rx.id}/authorize",
                  headers={"Idempotency-Key": key}, **kw)


def test_a_repeated_dispense_with_the_same_key_replays_the_first_answer(w: World) -> None:
    first = _dispense(w, "4f1c2a7e-dispense-1", _fill(w))
    again = _dispense(w, "4f1c2a7e-dispense-1", _fill(w))
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert w.count(Dispense) == 1


def test_without_a_key_the_second_dispense_is_refused(w: World) -> None:
    assert _dispense(w, None, _fill(w)).status_code == 201
    second = _dispense(w, None, _fill(w))
    assert is_problem(second, 409)
    assert [r["code"] for r in second.get_json()["unmet"]] == ["ALREADY_DISPENSED"]


def test_the_same_key_with_another_body_is_refused(w: World) -> None:
    assert _dispense(w, "key-1", _fill(w)).status_code == 201
    refused = _dispense(w, "key-1", _fill(w, quantity=20))
    assert is_problem(refused, 422)
    assert "Idempotency-Key" in refused.get_json()["errors"]
    assert w.count(Dispense) == 1


def test_the_body_is_compared_by_meaning_not_by_spelling(w: World) -> None:
    assert _dispense(w, "key-2", _fill(w)).status_code == 201
    reordered = ('{ "medication_guide_given": true, "days_supply": 30,\n  "quantity": 30, '
                 f'"authorization_number": "{w.number}" }}')
    again = w.send("pharmacist", "POST", f"/prescriptions/{w.authorized_rx.id}/dispense",
                   data=reordered, content_type="application/json",
                   headers={"Idempotency-Key": "key-2"})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"


def test_authorize_replays_and_no_second_authorization_is_issued(w: World) -> None:
    first = _authorize(w, "auth-key")
    again = _authorize(w, "auth-key", json={})  # no body and an empty object are one body
    assert first.status_code == again.status_code == 200
    assert again.get_json()["authorization"]["number"] == first.get_json()[
        "authorization"]["number"]
    count = w.ctx.session.scalar(select(func.count()).select_from(Authorization).where(
        Authorization.prescription_id == w.rx.id))
    assert count == 1


def test_a_refusal_is_replayed_too_until_a_new_key_is_used(w: World) -> None:
    # The authorized prescription cannot be authorized again: 409, kept under its key.
    path = f"/prescriptions/{w.authorized_rx.id}/authorize"
    first = w.send("prescriber", "POST", path, headers={"Idempotency-Key": "refused"})
    again = w.send("prescriber", "POST", path, headers={"Idempotency-Key": "refused"})
    assert is_problem(first, 409) and is_problem(again, 409)
    assert again.get_json()["unmet"] == first.get_json()["unmet"]
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_request_refused_as_invalid_leaves_its_key_free(w: World) -> None:
    refused = _dispense(w, "key-3", _fill(w, medication_guide_given=False))
    assert is_problem(refused, 422)
    assert "medication_guide_given" in refused.get_json()["errors"]
    assert _dispense(w, "key-3", _fill(w)).status_code == 201


def test_keys_belong_to_their_user(w: World) -> None:
    colleague = b.pharmacist(w.ctx)
    assert _dispense(w, "shared-key", _fill(w)).status_code == 201
    token = tokens.create_token(w.ctx, colleague)
    theirs = w.app.test_client().post(
        f"/api/v1/prescriptions/{w.authorized_rx.id}/dispense", json=_fill(w),
        headers={"Authorization": "Bearer " + token, "Idempotency-Key": "shared-key"})
    # Not a replay of someone else's answer: their own request, refused on its own merits.
    assert is_problem(theirs, 409)
    assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.parametrize("key", ["", "x" * 201, "clé", "two words"])
def test_a_malformed_key_is_refused(w: World, key: str) -> None:
    refused = _dispense(w, key, _fill(w))
    assert is_problem(refused, 422)
    assert "Idempotency-Key" in refused.get_json()["errors"]
    assert w.count(Dispense) == 0


def test_a_key_whose_first_request_has_not_answered_yet_gets_409(w: World) -> None:
    body = _fill(w)
    w.ctx.session.add(IdempotencyRecord(
        user_id=w.pharmacist.id, scope=f"POST /api/v1/prescriptions/{w.authorized_rx.id}/dispense",
        key="busy", request_hash=body_digest(body)))
    w.ctx.session.flush()
    response = _dispense(w, "busy", body)
    assert is_problem(response, 409)
    assert "in progress" in response.get_json()["detail"]
    assert w.count(Dispense) == 0


@pytest.mark.concurrency
def test_two_identical_dispenses_racing_each_other_make_one_dispense(
    fresh_database: str, tmp_path: Path, clock: Clock
) -> None:
    database = Database(fresh_database)
    with database.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
        doc = b.prescriber(ctx)
        dctx = b.as_user(ctx, doc)
        patient = b.ready_for_first_fill(dctx, born=date(1995, 4, 2))
        rx = b.prescription(dctx, patient.id)
        number = authorizations.authorize(dctx, rx.id, signature=SIGNED).number
        token = tokens.create_token(ctx, b.pharmacist(ctx))
        rx_id = rx.id
    database.engine.dispose()

    app = create_app(app_config(fresh_database, tmp_path / "app", CLOCK=clock))
    start = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []

    def press() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(
            f"/api/v1/prescriptions/{rx_id}/dispense",
            json={"authorization_number": number, "quantity": 30, "days_supply": 30,
                  "medication_guide_given": True},
            headers={"Authorization": "Bearer " + token, "Idempotency-Key": "same-press"})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert [status for status, _ in answers] == [201, 201]
        assert answers[0][1] == answers[1][1]
        with app.extensions["tracker.db"].transaction(writes=False) as session:
            assert session.scalar(select(func.count()).select_from(Dispense)) == 1
    finally:
        app.extensions["tracker.db"].engine.dispose()


@pytest.mark.concurrency
@pytest.mark.skipif(not PG_URL, reason="SQLite runs one write transaction at a time: a "
                    "duplicate starts only after the first has committed, and replays it")
def test_a_duplicate_arriving_while_the_first_is_still_running_gets_409(
    fresh_database: str, tmp_path: Path, clock: Clock
) -> None:
    database = Database(fresh_database)
    with database.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
        dctx = b.as_user(ctx, b.prescriber(ctx))
        patient = b.ready_for_first_fill(dctx, born=date(1995, 4, 2))
        rx = b.prescription(dctx, patient.id)
        number = authorizations.authorize(dctx, rx.id, signature=SIGNED).number
        counter = b.pharmacist(ctx)
        token = tokens.create_token(ctx, counter)
        rx_id, counter_id = rx.id, counter.id
    body = {"authorization_number": number, "quantity": 30, "days_supply": 30,
            "medication_guide_given": True}
    app = create_app(app_config(fresh_database, tmp_path / "app", CLOCK=clock))
    # The first request: its claim is written but its transaction has not committed yet.
    first = database.engine.connect()
    running = first.begin()
    first.execute(IdempotencyRecord.__table__.insert().values(
        user_id=counter_id, scope=f"POST /api/v1/prescriptions/{rx_id}/dispense",
        key="slow-press", request_hash=body_digest(body), created_at=clock()))
    try:
        response = app.test_client().post(
            f"/api/v1/prescriptions/{rx_id}/dispense", json=body,
            headers={"Authorization": "Bearer " + token, "Idempotency-Key": "slow-press"})
        assert is_problem(response, 409)
        assert "in progress" in response.get_json()["detail"]
        with app.extensions["tracker.db"].transaction(writes=False) as session:
            assert session.scalar(select(func.count()).select_from(Dispense)) == 0
    finally:
        running.rollback()
        first.close()
        database.engine.dispose()
        app.extensions["tracker.db"].engine.dispose()


@pytest.mark.skipif(not PG_URL, reason="lock_timeout is PostgreSQL's")
def test_a_claim_leaves_lock_timeout_as_it_found_it(w: World) -> None:
    session = w.ctx.session
    before = session.execute(text("SHOW lock_timeout")).scalar_one()
    scope = f"POST /api/v1/prescriptions/{w.authorized_rx.id}/dispense"
    assert idempotency._insert_claim(session, w.pharmacist.id, scope, "once", "d") is not None
    assert session.execute(text("SHOW lock_timeout")).scalar_one() == before
    # Claimed already (by this very transaction): nothing returned, nothing waited for.
    assert idempotency._insert_claim(session, w.pharmacist.id, scope, "once", "d") is None
    assert session.execute(text("SHOW lock_timeout")).scalar_one() == before


@pytest.mark.concurrency
@pytest.mark.skipif(not PG_URL, reason="lock_timeout is PostgreSQL's")
def test_only_the_claim_is_cut_short_not_the_waits_of_the_rest_of_its_request(
    fresh_database: str, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dispense's audit event waits for the chain's lock (held here by another connection)
    # longer than a claim may wait for its key: it must wait, not fail.
    database = Database(fresh_database)
    with database.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
        dctx = b.as_user(ctx, b.prescriber(ctx))
        patient = b.ready_for_first_fill(dctx, born=date(1995, 4, 2))
        rx = b.prescription(dctx, patient.id)
        number = authorizations.authorize(dctx, rx.id, signature=SIGNED).number
        token = tokens.create_token(ctx, b.pharmacist(ctx))
        rx_id = rx.id
    monkeypatch.setattr(idempotency, "CLAIM_WAIT_MS", 100)
    app = create_app(app_config(fresh_database, tmp_path / "app", CLOCK=clock))
    holder = database.engine.connect()
    holder.execution_options(isolation_level="AUTOCOMMIT")
    lock = {"key": AUDIT_CHAIN_LOCK_KEY}
    holder.execute(text("SELECT pg_advisory_lock(:key)"), lock)
    release = threading.Timer(0.6, lambda: holder.execute(
        text("SELECT pg_advisory_unlock(:key)"), lock))
    try:
        release.start()
        began = time.monotonic()
        response = app.test_client().post(
            f"/api/v1/prescriptions/{rx_id}/dispense",
            json={"authorization_number": number, "quantity": 30, "days_supply": 30,
                  "medication_guide_given": True},
            headers={"Authorization": "Bearer " + token, "Idempotency-Key": "behind-chain"})
        took = time.monotonic() - began
        assert response.status_code == 201, response.get_json()
        assert took >= 0.4  # it did wait for the chain
    finally:
        release.join()
        holder.close()
        database.engine.dispose()
        app.extensions["tracker.db"].engine.dispose()


def test_a_dispense_that_loses_the_race_keeps_its_key_and_replays_the_refusal(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another dispense of the same authorization commits between the moment this request
    # reads the case (still open) and its conditional UPDATE, which then finds zero rows.
    rx_id, number = w.authorized_rx.id, w.number
    real_load_case = dispenses.load_counter_case
    raced: list[int] = []

    def load_then_lose_the_race(session: Session, *args: Any) -> Any:
        loaded = real_load_case(session, *args)
        if not raced:
            prescription_id = loaded[0].prescription.id
            raced.append(prescription_id)
            session.execute(Prescription.__table__.update()
                            .where(Prescription.__table__.c.id == prescription_id)
                            .values(status="dispensed"))
            session.execute(Authorization.__table__.update()
                            .where(Authorization.__table__.c.number == number)
                            .values(state="dispensed"))
        return loaded

    monkeypatch.setattr(dispenses, "load_counter_case", load_then_lose_the_race)
    first = _dispense(w, "lost-race", _fill(w))
    assert is_problem(first, 409)
    assert [r["code"] for r in first.get_json()["unmet"]] == ["ALREADY_DISPENSED"]
    claim = w.ctx.session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.key == "lost-race"))
    assert claim is not None and claim.status_code == 409
    refusals = w.ctx.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "dispense.refused"))
    assert refusals == 1

    again = _dispense(w, "lost-race", _fill(w))
    assert is_problem(again, 409)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert raced == [rx_id]  # the retry did not run the dispense again
