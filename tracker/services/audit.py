"""Append events to the hash-chained audit trail, and verify the chain.

Each event's hash is an HMAC under the audit key, which lives outside the database (a keyring:
each event stores the id of the key that chained it, so the key can be rotated). Whoever can
write to the database but has not the key cannot forge, rewrite or re-chain events; removing
the newest events is detected against anchors kept outside the database (tracker.services.anchors).

Every event is chained onto the one committed just before it, and no two transactions ever
chain onto the same predecessor: appends run one at a time. SQLite's write transactions already
do (BEGIN IMMEDIATE); on PostgreSQL an append takes a transaction-scoped advisory lock, held
until its transaction commits or rolls back, and only then reads the chain's head (one call of
the database function `audit_chain_head()`, whose read after the lock sees the head committed by
the previous holder: see its migration).

The lock is held for as short a time as possible: a write's events are not appended where it
records them but queued on its session (record_event, record_events) and appended as its
transaction commits, after its other writes, in one lock and head read and one insert for all
of them (chain_pending_events, run by the session's before_commit event). Each event keeps the
moment of its act (`occurred_at`), its actor and request; its place in the chain is the order
in which transactions committed, so the events of two writers running side by side may be
chained in the other order than their moments. A rollback discards the queue (a savepoint's
rollback, the events queued since the savepoint). A statement of the session that reads the
audit table through the ORM appends the queue first, so the transaction sees its own events;
a statement sent straight on the connection calls chain_pending_events itself."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import String, Table, bindparam, func, insert, select
from sqlalchemy import event as orm_events
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql import TextClause
from sqlalchemy.sql.util import find_tables

from tracker.keyring import Keyring
from tracker.models import AuditEvent
from tracker.services.context import Context
from tracker.services.prepared import Prepared

GENESIS = "0" * 64
_SECRET_FIELDS = {"password", "password_hash", "token", "token_hash", "id_hash"}


def _json(values: Mapping[str, Any] | None) -> str | None:
    if values is None:
        return None
    clean = {k: v for k, v in values.items() if k not in _SECRET_FIELDS}
    return json.dumps(clean, sort_keys=True, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def _payload(event: AuditEvent) -> bytes:
    fields: list[Any] = [
        event.prev_hash,
        event.occurred_at.isoformat(timespec="microseconds"),
        event.actor_id,
        event.actor_role,
        event.action,
        event.object_type,
        event.object_id,
        event.patient_id,
        event.old_values,
        event.new_values,
        event.reason,
        event.request_id,
        event.client_addr,
    ]
    if event.key_id is not None:
        fields.insert(0, event.key_id)
    return json.dumps(fields, separators=(",", ":")).encode()


def event_hash(event: AuditEvent, key: bytes | None) -> str:
    """The event's HMAC under the audit key (kept outside the database), covering every field,
    the key id and the previous event's hash: without the key, no event can be forged or
    rewritten, nor a later hash recomputed. With no key: the plain SHA-256 of the events
    written before the chain was keyed."""
    if key is None:
        return hashlib.sha256(_payload(event)).hexdigest()
    return hmac.new(key, _payload(event), hashlib.sha256).hexdigest()


_events_table = cast(Table, AuditEvent.__table__)
_EVENT_COLUMNS = ("occurred_at", "actor_id", "actor_role", "action", "object_type", "object_id",
                  "patient_id", "old_values", "new_values", "reason", "request_id",
                  "client_addr", "prev_hash", "hash", "key_id")
# Every write and every pharmacy lookup appends an event: these are built once.
_HEAD = Prepared(select(_events_table.c.hash).order_by(_events_table.c.id.desc()).limit(1))
# PostgreSQL: the chain's lock, then its head, in one statement (the function's migration says
# why the read must come after the lock inside it).
_LOCKED_HEAD = Prepared(select(func.audit_chain_head(type_=String())))
_APPEND = Prepared(insert(_events_table).values(
    {name: bindparam(name, type_=_events_table.c[name].type) for name in _EVENT_COLUMNS}))

# The lock taken by audit_chain_head(): any constant shared by every process of this app.
AUDIT_CHAIN_LOCK_KEY = 7_305_001
# A transaction that records more events than this (a bulk write) appends them as they come,
# this many at a time, rather than keeping them all in memory until it commits.
QUEUE_MAX = 10_000
_TRAIL = "tracker.audit.trail"  # the key of the transaction's _Trail in session.info


@dataclass(frozen=True, slots=True)
class _Queued:
    """An event recorded and not yet chained, with the audit key that will chain it."""

    event: AuditEvent
    key: bytes | None


@dataclass(slots=True)
class _Trail:
    """The events a transaction recorded: those from `chained` on are not in the table yet.
    `savepoints` keeps, for each savepoint begun since the first event, how many events there
    were and how many were chained when it began: its rollback forgets the events recorded
    since, and undoes the appends made since (the table's rows went with it)."""

    events: list[_Queued] = field(default_factory=list)
    chained: int = 0
    savepoints: dict[SessionTransaction, tuple[int, int]] = field(default_factory=dict)

    def pending(self) -> int:
        return len(self.events) - self.chained


def _head(session: Session) -> str:
    """The hash of the last event; on PostgreSQL after taking the chain's lock."""
    if session.get_bind().dialect.name == "postgresql":
        found = _LOCKED_HEAD.first(session)
    else:
        found = _HEAD.first(session)
    return found[0] if found is not None and found[0] is not None else GENESIS


def chain_pending_events(session: Session) -> int:
    """Append the events the session's transaction recorded and has not appended yet, in the
    order they were recorded, each chained onto the one before it: one lock and head read
    (one statement) and one insert for all of them, after the transaction's other pending
    changes (flushed first). Returns how many.

    Runs as the transaction commits (the session's before_commit event), and before an ORM
    statement of the session that reads the audit table; call it before reading the table
    with a statement sent on the connection. From then until the transaction ends, other
    transactions' appends wait (PostgreSQL's lock, SQLite's write lock)."""
    trail: _Trail | None = session.info.get(_TRAIL)
    if trail is None or not trail.pending():
        return 0
    session.flush()
    pending = trail.events[trail.chained:]
    prev = _head(session)
    rows: list[dict[str, Any]] = []
    for item in pending:
        item.event.prev_hash = prev
        item.event.hash = prev = event_hash(item.event, item.key)
        rows.append({name: getattr(item.event, name) for name in _EVENT_COLUMNS})
    if len(rows) == 1:
        _APPEND.execute(session, **rows[0])
    else:
        # One executemany; ids are assigned in list order, so the chain reads back in order.
        session.connection().execute(insert(_events_table), rows)
    trail.chained = len(trail.events)
    if not trail.savepoints:
        trail.events.clear()  # no savepoint can bring them back: they need not be kept
        trail.chained = 0
    return len(rows)


def _queue(ctx: Context, events: list[AuditEvent]) -> None:
    trail = ctx.session.info.get(_TRAIL)
    if trail is None:
        trail = ctx.session.info[_TRAIL] = _Trail()
    key = ctx.audit_keys.current
    trail.events.extend(_Queued(event, key) for event in events)
    if trail.pending() >= QUEUE_MAX:
        chain_pending_events(ctx.session)


def _event(ctx: Context, action: str, object_type: str, object_id: object | None,
           patient_id: int | None, old: Mapping[str, Any] | None,
           new: Mapping[str, Any] | None, reason: str | None) -> AuditEvent:
    """An event of the act happening now, by the context's actor, not chained yet."""
    return AuditEvent(
        occurred_at=ctx.now(),
        actor_id=ctx.actor.user_id,
        actor_role=ctx.actor.role,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        patient_id=patient_id,
        old_values=_json(old),
        new_values=_json(new),
        reason=reason,
        request_id=ctx.actor.request_id,
        client_addr=ctx.actor.client_addr,
        key_id=ctx.audit_keys.current_id,
    )


def record_event(
    ctx: Context,
    action: str,
    object_type: str,
    object_id: object | None = None,
    *,
    patient_id: int | None = None,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Record one audit event in the caller's transaction, at this moment, by the context's
    actor: it is appended to the chain as the transaction commits (chain_pending_events). The
    caller's own pending changes are flushed now, so that their errors are raised here."""
    ctx.session.flush()
    _queue(ctx, [_event(ctx, action, object_type, object_id, patient_id, old, new, reason)])


# The session's transaction appends its events as it commits, and a statement that reads the
# audit table through the ORM sees them: the events are the transaction's, as its rows are.
# Every commit appends, that of a savepoint too: a commit of the whole transaction while a
# savepoint is still open commits the savepoint as well, and this event cannot tell the two
# apart. The app's savepoints come before the events of their use case, so this costs the
# lock's hold time nothing in practice.
@orm_events.listens_for(Session, "before_commit")
def _chain_on_commit(session: Session) -> None:
    chain_pending_events(session)


@orm_events.listens_for(Session, "do_orm_execute")
def _chain_before_reading_events(state: ORMExecuteState) -> None:
    trail: _Trail | None = state.session.info.get(_TRAIL)
    if trail is not None and trail.pending() and _names_event_table(state.statement):
        chain_pending_events(state.session)


def _names_event_table(statement: Any) -> bool:
    if isinstance(statement, TextClause):
        return _events_table.name in statement.text
    # By name: the ORM's statements hold annotated copies of the table.
    return any(getattr(table, "name", None) == _events_table.name
               for table in find_tables(statement, include_crud=True))


@orm_events.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    trail: _Trail | None = session.info.get(_TRAIL)
    if transaction.nested and trail is not None:
        trail.savepoints[transaction] = (len(trail.events), trail.chained)


@orm_events.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    trail: _Trail | None = session.info.get(_TRAIL)
    if trail is None:
        return
    # Called while the transaction rolled back is still the session's innermost one.
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        session.info.pop(_TRAIL, None)
        return
    # A savepoint begun before the first event has no mark: everything came after it.
    recorded, chained = trail.savepoints.pop(savepoint, (0, 0))
    del trail.events[recorded:]
    trail.chained = min(trail.chained, chained)


@orm_events.listens_for(Session, "after_transaction_end")
def _end_trail(session: Session, transaction: SessionTransaction) -> None:
    trail: _Trail | None = session.info.get(_TRAIL)
    if trail is None:
        return
    if transaction.nested:
        trail.savepoints.pop(transaction, None)  # committed: its events are the parent's
    elif transaction.parent is None:
        session.info.pop(_TRAIL, None)  # committed (all appended) or rolled back


@dataclass(frozen=True)
class ChainReport:
    events: int
    first_broken_id: int | None
    problem: str | None
    head: str = GENESIS  # the hash of the last event walked
    unkeyed: int = 0  # events from before the chain was keyed

    @property
    def ok(self) -> bool:
        return self.problem is None


def _events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def _expected_hash(event: AuditEvent, keys: Keyring, unkeyed_allowed: bool) -> str | None:
    """The hash the event must carry; None when no configured key can check it."""
    if event.key_id is None:
        return event_hash(event, None) if unkeyed_allowed else None
    key = keys.key(event.key_id)
    return None if key is None else event_hash(event, key)


def verify_chain(session: Session, keys: Keyring, anchors: Mapping[int, str] | None = None,
                 unkeyed_events: int = 0) -> ChainReport:
    """Walk the whole chain; name the first event whose link, key or content does not verify.
    `anchors` maps an event count to the head hash recorded outside the database when the
    chain had that many events: the chain must still hold each (a truncated or rewritten
    tail does not). `unkeyed_events`: how many events, at the start of the chain, were
    written before it was keyed (a number kept outside the database, from the upgrade);
    any other event without a key is refused, so history cannot be re-chained unkeyed."""
    anchors = anchors or {}
    prev = GENESIS
    count = unkeyed = 0
    for event in _events(session):
        count += 1
        if event.prev_hash != prev:
            return ChainReport(count, event.id, "its link to the previous event is broken")
        expected = _expected_hash(event, keys, unkeyed_allowed=count == unkeyed + 1
                                  and count <= unkeyed_events)
        if expected is None:
            return ChainReport(count, event.id, _key_problem(event))
        if not hmac.compare_digest(expected, event.hash):
            return ChainReport(count, event.id, "its content does not match its hash")
        if anchors.get(count, event.hash) != event.hash:
            return ChainReport(count, event.id, f"it differs from the anchored head of "
                                                f"{count} events (the history was rewritten)")
        unkeyed += event.key_id is None
        prev = event.hash
    missing = [n for n in anchors if n > count]
    if missing:
        return ChainReport(count, None, f"the chain has {count} events but an anchor recorded "
                                        f"{max(missing)} (events were removed)", prev, unkeyed)
    return ChainReport(count, None, None, prev, unkeyed)


def _key_problem(event: AuditEvent) -> str:
    if event.key_id is None:
        return ("it carries no audit key (only the first TRACKER_AUDIT_UNKEYED_EVENTS events, "
                "written before the chain was keyed, may)")
    return f"it was chained with audit key {event.key_id!r}, which is not configured"


def verify_trail(ctx: Context, anchors: Mapping[int, str] | None = None) -> ChainReport:
    """verify_chain with the context's audit keys and its count of unkeyed events."""
    return verify_chain(ctx.session, ctx.audit_keys, anchors, ctx.audit_unkeyed_events)


@dataclass(frozen=True)
class PendingEvent:
    """An audit event to append with others in one statement (record_events)."""

    action: str
    object_type: str
    object_id: object | None = None
    patient_id: int | None = None
    new: Mapping[str, Any] | None = None
    reason: str | None = None


def record_events(ctx: Context, pending: list[PendingEvent]) -> int:
    """Record many events in the caller's transaction, as record_event() records one at a
    time (without the flush): appended as the transaction commits, all of them with one read
    of the chain's head and one insert, which is what a bulk write (an import of thousands of
    patients) needs. Returns how many."""
    _queue(ctx, [_event(ctx, item.action, item.object_type, item.object_id, item.patient_id,
                        None, item.new, item.reason) for item in pending])
    return len(pending)
