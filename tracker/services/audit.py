"""Append an event to the hash-chained audit trail, and verify the chain.

Appends are serialized so that two transactions never chain onto the same predecessor:
SQLite's write transactions already run one at a time (BEGIN IMMEDIATE); on PostgreSQL a
transaction-scoped advisory lock is taken before reading the last hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tracker.models import AuditEvent
from tracker.services.context import Context

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


def event_hash(event: AuditEvent) -> str:
    """The hash of an event covers every field and the previous event's hash."""
    payload = json.dumps(
        [
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
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})


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
) -> AuditEvent:
    """Write one audit event in the caller's transaction."""
    session = ctx.session
    _lock_chain(session)
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
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
        prev_hash=prev or GENESIS,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    first_broken_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


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


def verify_chain(session: Session) -> ChainReport:
    """Walk the whole chain; name the first event whose link or content does not verify."""
    prev = GENESIS
    count = 0
    for event in _events(session):
        count += 1
        if event.prev_hash != prev:
            return ChainReport(count, event.id, "its link to the previous event is broken")
        if event_hash(event) != event.hash:
            return ChainReport(count, event.id, "its content does not match its hash")
        prev = event.hash
    return ChainReport(count, None, None)
