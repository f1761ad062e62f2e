"""Idempotency-Key on the writes that create an authorization or a dispense (API.md): the same
key with the same body replays the first answer; with another body: 422.

The key is claimed inside the request's own transaction, so a request that fails (422, 404, a
crash) leaves no claim behind and its key can be sent again. On PostgreSQL a second request with
the same key that arrives while the first is running finds the key locked by the first one's
uncommitted claim: it waits a moment (CLAIM_WAIT) and, if the first has not finished by then,
gets 409 (in progress); if it has, the committed answer is replayed. SQLite runs one write
transaction at a time, so there a duplicate starts only after the first has committed, and
replays its answer."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, cast

from flask import Response, request
from sqlalchemy import Integer, Table, Text, bindparam, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tracker.db import UTCDateTime, utcnow
from tracker.models import IdempotencyRecord
from tracker.services.errors import Conflict, ValidationFailed
from tracker.services.prepared import Prepared

KEY_MAX = 200
CLAIM_WAIT_MS = 2000  # how long a duplicate waits for the first request to finish
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout expired
HEADER = "Idempotency-Key"
# Visible ASCII: a UUID, a ULID or any client's own request id fits.
_KEY = re.compile(rf"[!-~]{{1,{KEY_MAX}}}")


def body_digest(sent: Any) -> str:
    """A digest of the body's meaning, not its bytes: key order and spacing do not matter."""
    canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


_records = cast(Table, IdempotencyRecord.__table__)
_CLAIM_VALUES: dict[str, Any] = {
    **{name: bindparam(name) for name in ("user_id", "scope", "key", "request_hash")},
    "created_at": bindparam("created_at", type_=UTCDateTime())}
# The claim is one statement: the key is inserted unless it exists (the unique key of user,
# scope and key), and its new id returned; nothing returned means it was there already.
_SQLITE_CLAIM = Prepared(sqlite_insert(_records).values(_CLAIM_VALUES)
                         .on_conflict_do_nothing().returning(_records.c.id))
# PostgreSQL: the same, with a duplicate of a request still running waiting for its claim to be
# committed or rolled back at most `wait` (lock_timeout), and lock_timeout set back to its
# default (set_config with NULL, as SET LOCAL ... TO DEFAULT) once the insert is done, for the
# rest of the transaction: set before the insert by its WHERE (a SELECT without FROM checks it
# first), reset by the outer SELECT, which reads the insert's answer before projecting. The id
# is NULL when the key was there already.
_POSTGRES_CLAIM = Prepared(text(
    "WITH claimed AS ("
    " INSERT INTO idempotency_records (user_id, scope, key, request_hash, created_at)"
    " SELECT :user_id, :scope, :key, :request_hash, :created_at"
    " WHERE set_config('lock_timeout', :wait, true) IS NOT NULL"
    " ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT claimed.id, set_config('lock_timeout', NULL, true) AS reset"
    " FROM (VALUES (1)) AS claim LEFT JOIN claimed ON true"
).bindparams(bindparam("created_at", type_=UTCDateTime())).columns(id=Integer(), reset=Text()))
_REMEMBER = Prepared(update(_records).where(_records.c.id == bindparam("record_id"))
                     .values(status_code=bindparam("status_code", type_=Integer()),
                             response_body=bindparam("response_body", type_=Text())))


@dataclass(frozen=True)
class Claim:
    """A key claimed by this request: its record, to be filled with the first answer."""

    record_id: int


def _find(session: Session, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key))


def _insert_claim(session: Session, user_id: int, scope: str, key: str,
                  digest: str) -> int | None:
    """The new record's id, or None when the key was claimed already."""
    values = {"user_id": user_id, "scope": scope, "key": key, "request_hash": digest,
              "created_at": utcnow()}
    if session.get_bind().dialect.name != "postgresql":
        found = _SQLITE_CLAIM.first(session, **values)
        return None if found is None else int(found[0])
    try:
        found = _POSTGRES_CLAIM.first(session, **values, wait=f"{CLAIM_WAIT_MS}ms")
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        # The first request's claim is not committed yet: it is still running. (The error
        # ends this transaction; the 409 rolls it back.)
        raise Conflict("A request with this Idempotency-Key is in progress.") from None
    return None if found is None or found[0] is None else int(found[0])


def claim(session: Session, user_id: int, key: str, sent: Any) -> Claim | Response:
    """Claim the key for this request, or return the replayed first answer. Keys belong to
    their user and to one method and path."""
    if not _KEY.fullmatch(key):
        raise ValidationFailed({HEADER: [
            f"Use 1 to {KEY_MAX} visible ASCII characters, for example a UUID."]})
    scope = f"{request.method} {request.path}"
    digest = body_digest(sent)
    record_id = _insert_claim(session, user_id, scope, key, digest)
    if record_id is not None:
        return Claim(record_id)
    existing = _find(session, user_id, scope, key)
    if existing is None:
        raise Conflict("A request with this Idempotency-Key is in progress.")
    if existing.request_hash != digest:
        raise ValidationFailed({HEADER: [
            "This key was used with a different body; use a new key for a new request."]})
    if existing.status_code is None or existing.response_body is None:
        raise Conflict("A request with this Idempotency-Key is in progress.")
    replay = Response(existing.response_body, status=existing.status_code,
                      mimetype="application/problem+json" if existing.status_code >= 400
                      else "application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def remember(session: Session, claimed: Claim, status: int, body: Any) -> None:
    """Keep the first answer for replays (in the same transaction as the write it answers)."""
    _REMEMBER.execute(session, record_id=claimed.record_id, status_code=status,
                      response_body=json.dumps(body, sort_keys=True))
