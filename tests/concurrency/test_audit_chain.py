"""The audit chain stays one chain when many transactions append at once: appends are
serialized (SQLite's write lock, PostgreSQL's advisory lock), so no two events claim the same
predecessor. Real commits, threads released together."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.conftest import TODAY, Clock, eastern_noon
from tracker.db import Database
from tracker.keyring import DEVELOPMENT_AUDIT_KEYS
from tracker.models import AuditEvent
from tracker.services import patients
from tracker.services.audit import verify_chain
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
