"""The audit chain stays one chain when many transactions append at once: appends are
serialized (SQLite's write lock, PostgreSQL's advisory lock, taken as a transaction commits), so
no two events claim the same predecessor, every event is chained onto the one committed just
before it, and the events of one transaction stay together. Real commits, threads."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select, text

from tests import builders
from tests.conftest import PG_URL, TODAY, Clock, eastern_noon
from tracker.db import Database
from tracker.keyring import DEVELOPMENT_AUDIT_KEYS
from tracker.models import AuditEvent
from tracker.services import patients
from tracker.services.audit import (
    AUDIT_CHAIN_LOCK_KEY,
    chain_pending_events,
    record_event,
    verify_chain,
)
from tracker.services.context import Actor, Context

pytestmark = pytest.mark.concurrency

WRITERS = 12


def test_concurrent_writes_keep_one_verifiable_chain(fresh_database: str) -> None:
    clock = Clock(eastern_noon(TODAY))
    database = Database(fresh_database, pool_size=WRITERS)
    with database.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"), clock=clock)
        doc = builders.prescriber(ctx)
        doc_id = doc.id
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def register(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            with database.transaction() as session:
                actor = Actor(user_id=doc_id, role="prescriber")
                ctx = Context(session=session, actor=actor, clock=clock)
                patients.register_patient(ctx, f"Pat{n}", "Concurrent", date(1990, 1, 1),
                                          "cannot_get_pregnant")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    with database.transaction(writes=False) as session:
        report = verify_chain(session, DEVELOPMENT_AUDIT_KEYS)
        registered = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "patient.registered"))
        prev_hashes = session.scalars(select(AuditEvent.prev_hash)).all()
    database.engine.dispose()
    assert registered == WRITERS
    assert report.ok, report
    assert len(prev_hashes) == len(set(prev_hashes))  # no fork: every predecessor used once


EVENTS_EACH = 3


def test_the_events_of_each_transaction_stay_together_in_the_chain(fresh_database: str) -> None:
    clock = Clock(eastern_noon(TODAY))
    database = Database(fresh_database, pool_size=WRITERS)
    with database.transaction() as session:
        doc_id = builders.prescriber(Context(session=session, actor=Actor.system("test"),
                                             clock=clock)).id
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            with database.transaction() as session:
                ctx = Context(session=session, clock=clock, actor=Actor(
                    user_id=doc_id, role="prescriber", request_id=f"writer-{n}"))
                patient = patients.register_patient(ctx, f"Pat{n}", "Together",
                                                    date(1990, 1, 1), "cannot_get_pregnant")
                for step in range(EVENTS_EACH - 1):
                    record_event(ctx, "test.step", "patient", patient.id, patient_id=patient.id,
                                 new={"step": step})
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    with database.transaction(writes=False) as session:
        report = verify_chain(session, DEVELOPMENT_AUDIT_KEYS)
        written = session.execute(select(AuditEvent.request_id).where(
            AuditEvent.request_id.like("writer-%")).order_by(AuditEvent.id)).scalars().all()
    database.engine.dispose()
    assert report.ok, report
    assert len(written) == WRITERS * EVENTS_EACH
    # Each writer's events one after the other: runs of EVENTS_EACH of the same request.
    runs = [written[i:i + EVENTS_EACH] for i in range(0, len(written), EVENTS_EACH)]
    assert all(len(set(run)) == 1 for run in runs), written
    assert len({run[0] for run in runs}) == WRITERS


def _wait_for_the_chain(database: Database) -> None:
    """Until another backend waits for the chain's lock (PostgreSQL); SQLite: a moment, for
    the writer to be waiting for the write lock."""
    if database.engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 20
    with database.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND objid = :key"), {"key": AUDIT_CHAIN_LOCK_KEY}).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("no writer came to wait for the audit chain")


def test_a_writer_that_waited_chains_onto_the_event_committed_while_it_waited(
        fresh_database: str) -> None:
    """The head is read after the lock is granted, with a snapshot taken then: a head read by
    the statement that waits for the lock would be the one from before the wait, and both
    events would claim it."""
    clock = Clock(eastern_noon(TODAY))
    database = Database(fresh_database, pool_size=3)
    first = database.session()
    record_event(Context(session=first, actor=Actor.system("first"), clock=clock),
                 "test.first", "test")
    chain_pending_events(first)  # appended: the chain is this transaction's until it commits
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with database.transaction() as session:
                record_event(Context(session=session, actor=Actor.system("second"), clock=clock),
                             "test.second", "test")
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    waiting = threading.Thread(target=second)
    waiting.start()
    try:
        _wait_for_the_chain(database)
        first.commit()
    finally:
        first.close()
        waiting.join(timeout=30)
    assert not failures, failures
    with database.transaction(writes=False) as session:
        report = verify_chain(session, DEVELOPMENT_AUDIT_KEYS)
        before, after = session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2)).all()[::-1]
    database.engine.dispose()
    assert (before.action, after.action) == ("test.first", "test.second")
    assert after.prev_hash == before.hash
    assert report.ok, report


@pytest.mark.skipif(not PG_URL, reason="the chain's lock is PostgreSQL's")
def test_recording_an_event_does_not_take_the_chain_until_the_commit(
        fresh_database: str) -> None:
    clock = Clock(eastern_noon(TODAY))
    database = Database(fresh_database, pool_size=3)
    try:
        with database.transaction() as session:
            ctx = Context(session=session, actor=Actor.system("test"), clock=clock)
            doc = builders.prescriber(ctx)
            record_event(ctx, "test.recorded", "user", doc.id)
            # The transaction goes on with the event recorded: the chain stays free for others.
            with database.engine.connect() as other:
                assert other.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                     {"key": AUDIT_CHAIN_LOCK_KEY}).scalar_one()
                other.rollback()
        with database.transaction(writes=False) as session:
            assert session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "test.recorded")) == 1
            assert verify_chain(session, DEVELOPMENT_AUDIT_KEYS).ok
    finally:
        database.engine.dispose()
