"""Audit events are appended as their transaction commits (tracker.services.audit): what the
transaction sees of them before, what a rollback leaves, what each event keeps of its moment
and actor, and how few statements the append takes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.conftest import Clock
from tracker.models import AuditEvent
from tracker.services import audit
from tracker.services.audit import (
    PendingEvent,
    chain_pending_events,
    record_event,
    record_events,
    verify_trail,
)
from tracker.services.context import Actor, Context


def _actions(ctx: Context) -> list[str]:
    return list(ctx.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _stored(ctx: Context) -> int:
    """Events in the table, counted by a statement the ORM does not see (no append first)."""
    return int(ctx.session.connection().execute(
        select(func.count()).select_from(AuditEvent.__table__)).scalar_one())


def test_an_event_is_written_when_its_transaction_commits(ctx: Context) -> None:
    before = _stored(ctx)
    record_event(ctx, "test.first", "test")
    record_event(ctx, "test.second", "test")
    assert _stored(ctx) == before  # queued, not written
    ctx.session.commit()
    assert _stored(ctx) == before + 2
    assert _actions(ctx)[-2:] == ["test.first", "test.second"]
    assert verify_trail(ctx).ok


def test_the_transaction_reads_its_own_events_before_it_commits(ctx: Context) -> None:
    record_event(ctx, "test.own", "test", 7)
    found = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "test.own")).all()
    assert [(e.object_type, e.object_id) for e in found] == [("test", "7")]
    record_event(ctx, "test.after_the_read", "test")
    assert _actions(ctx)[-2:] == ["test.own", "test.after_the_read"]
    assert verify_trail(ctx).ok


def test_a_rollback_discards_the_queued_events(ctx: Context) -> None:
    before = _stored(ctx)
    record_event(ctx, "test.undone", "test")
    ctx.session.rollback()
    ctx.session.commit()
    assert _stored(ctx) == before
    assert "test.undone" not in _actions(ctx)


def test_a_savepoint_rolled_back_discards_only_its_own_events(ctx: Context) -> None:
    record_event(ctx, "test.kept_before", "test")
    savepoint = ctx.session.begin_nested()
    record_event(ctx, "test.undone", "test")
    savepoint.rollback()
    with ctx.session.begin_nested():
        record_event(ctx, "test.kept_inside", "test")
    record_event(ctx, "test.kept_after", "test")
    ctx.session.commit()
    assert _actions(ctx)[-3:] == ["test.kept_before", "test.kept_inside", "test.kept_after"]
    assert "test.undone" not in _actions(ctx)
    assert verify_trail(ctx).ok


def test_events_appended_inside_a_savepoint_rolled_back_are_appended_again(
        ctx: Context) -> None:
    before = _stored(ctx)
    record_event(ctx, "test.before_the_savepoint", "test")
    savepoint = ctx.session.begin_nested()
    record_event(ctx, "test.inside", "test")
    # The read appends both, inside the savepoint...
    assert _actions(ctx)[-2:] == ["test.before_the_savepoint", "test.inside"]
    savepoint.rollback()
    assert _stored(ctx) == before  # ...whose rollback takes their rows away
    ctx.session.commit()
    actions = _actions(ctx)
    assert actions[-1] == "test.before_the_savepoint" and "test.inside" not in actions
    assert _stored(ctx) == before + 1
    assert verify_trail(ctx).ok


def test_each_event_keeps_the_moment_and_the_actor_of_its_act(ctx: Context,
                                                              clock: Clock) -> None:
    doc = builders.prescriber(ctx)
    acted_at = clock.now
    record_event(builders.as_user(ctx, doc), "test.by_doc", "test")
    clock.now = acted_at + timedelta(minutes=5)
    other = Context(session=ctx.session, clock=clock, actor=Actor(
        user_id=None, role=None, request_id="r-2", client_addr="192.0.2.9"))
    record_event(other, "test.by_system", "test")
    clock.now = acted_at + timedelta(minutes=10)
    ctx.session.commit()
    by_doc, by_system = ctx.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())
                                            .limit(2)).all()[::-1]
    assert (by_doc.actor_id, by_doc.actor_role, by_doc.occurred_at) == (
        doc.id, "prescriber", acted_at)
    assert (by_system.actor_id, by_system.request_id, by_system.client_addr) == (
        None, "r-2", "192.0.2.9")
    assert by_system.occurred_at == acted_at + timedelta(minutes=5)


def test_all_the_events_of_a_transaction_take_one_head_read_and_one_insert(
        ctx: Context, count_queries) -> None:  # type: ignore[no-untyped-def]
    record_event(ctx, "test.one", "test")
    record_events(ctx, [PendingEvent("test.many", "test", n) for n in range(5)])
    record_event(ctx, "test.last", "test")
    with count_queries() as q:
        assert chain_pending_events(ctx.session) == 7
    # The head (on PostgreSQL with the chain's lock: audit_chain_head()), then the insert.
    assert q.count == 2, q.statements
    assert "audit_chain_head" in q.statements[0] or ctx.session.get_bind().dialect.name != (
        "postgresql")
    assert chain_pending_events(ctx.session) == 0  # nothing left
    assert _actions(ctx)[-7:] == ["test.one", *["test.many"] * 5, "test.last"]
    assert verify_trail(ctx).ok


def test_a_bulk_write_appends_as_it_goes_beyond_the_queue_limit(
        ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "QUEUE_MAX", 3)
    before = _stored(ctx)
    record_events(ctx, [PendingEvent("test.bulk", "test", n) for n in range(2)])
    assert _stored(ctx) == before
    record_events(ctx, [PendingEvent("test.bulk", "test", n) for n in range(2, 4)])
    assert _stored(ctx) == before + 4  # the limit was reached: appended then
    record_event(ctx, "test.after", "test")
    ctx.session.commit()
    assert _stored(ctx) == before + 5
    assert verify_trail(ctx).ok


def test_the_counter_throttle_counts_failures_of_its_own_transaction(ctx: Context) -> None:
    from tracker.services import counter_access
    from tracker.services.errors import Throttled

    staff = builders.as_user(ctx, builders.pharmacist(ctx))
    for _ in range(counter_access.NUMBER_FAILURES_MAX):
        record_event(staff, counter_access.LOOKUP_FAILED, "authorization", "A-NUMBER")
    with pytest.raises(Throttled):
        counter_access.check_not_throttled(staff, "A-NUMBER")
