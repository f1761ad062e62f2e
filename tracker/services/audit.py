"""Append an event to the hash-chained audit trail, and verify the chain.

Each event's hash is an HMAC under the audit key, which lives outside the database (a keyring:
each event stores the id of the key that chained it, so the key can be rotated). Whoever can
write to the database but has not the key cannot forge, rewrite or re-chain events; removing
the newest events is detected against anchors kept outside the database (tracker.services.anchors).

Appends are serialized so that two transactions never chain onto the same predecessor:
SQLite's write transactions already run one at a time (BEGIN IMMEDIATE); on PostgreSQL a
transaction-scoped advisory lock is taken before reading the last hash."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from tracker.keyring import Keyring
from tracker.models import AuditEvent
from tracker.services.context import Context
from tracker.services.prepared import Prepared

GENESIS = "0" * 64
_AUDIT_LOCK_KEY = 7_305_001  # any constant shared by every process of this app
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
# Every write and every pharmacy lookup appends an event: these three are built once.
_LOCK = Prepared(select(func.pg_advisory_xact_lock(_AUDIT_LOCK_KEY)))
_HEAD = Prepared(select(_events_table.c.hash).order_by(_events_table.c.id.desc()).limit(1))
_APPEND = Prepared(insert(_events_table).values(
    {name: bindparam(name, type_=_events_table.c[name].type) for name in _EVENT_COLUMNS}))


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        _LOCK.execute(session)


def _chain_head(session: Session) -> str:
    head = _HEAD.first(session)
    return head[0] if head is not None else GENESIS


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
    """Write one audit event in the caller's transaction (after the caller's own pending
    changes, which are flushed first)."""
    session = ctx.session
    session.flush()
    _lock_chain(session)
    event = AuditEvent(
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
        prev_hash=_chain_head(session),
        key_id=ctx.audit_keys.current_id,
    )
    event.hash = event_hash(event, ctx.audit_keys.current)
    _APPEND.execute(session, **{name: getattr(event, name) for name in _EVENT_COLUMNS})


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
    """Append many events in the caller's transaction, chained in order exactly as
    record_event() chains one at a time, with one read of the chain's head and one insert:
    what a bulk write (an import of thousands of patients) needs. Returns how many."""
    if not pending:
        return 0
    session = ctx.session
    _lock_chain(session)
    prev = _chain_head(session)
    rows: list[dict[str, Any]] = []
    for item in pending:
        event = AuditEvent(
            occurred_at=ctx.now(), actor_id=ctx.actor.user_id, actor_role=ctx.actor.role,
            action=item.action, object_type=item.object_type,
            object_id=None if item.object_id is None else str(item.object_id),
            patient_id=item.patient_id, old_values=None, new_values=_json(item.new),
            reason=item.reason, request_id=ctx.actor.request_id,
            client_addr=ctx.actor.client_addr, prev_hash=prev, key_id=ctx.audit_keys.current_id,
        )
        event.hash = prev = event_hash(event, ctx.audit_keys.current)
        rows.append({column: getattr(event, column) for column in _EVENT_COLUMNS})
    # One executemany; ids are assigned in list order, so the chain reads back in order.
    session.execute(insert(AuditEvent), rows)
    return len(rows)
