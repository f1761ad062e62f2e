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
from typing import Any

from flask import Response, request
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tracker.models import IdempotencyRecord
from tracker.services.errors import Conflict, ValidationFailed

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


def _find(session: Session, user_id: int, scope: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key))


def claim(session: Session, user_id: int, key: str, sent: Any) -> IdempotencyRecord | Response:
    """Claim the key for this request, or return the replayed first answer. Keys belong to
    their user and to one method and path."""
    if not _KEY.fullmatch(key):
        raise ValidationFailed({HEADER: [
            f"Use 1 to {KEY_MAX} visible ASCII characters, for example a UUID."]})
    scope = f"{request.method} {request.path}"
    digest = body_digest(sent)
    existing = _find(session, user_id, scope, key)
    if existing is None:
        record = IdempotencyRecord(user_id=user_id, scope=scope, key=key, request_hash=digest)
        postgres = session.get_bind().dialect.name == "postgresql"
        try:
            with session.begin_nested():
                if postgres:
                    session.execute(text(f"SET LOCAL lock_timeout = '{CLAIM_WAIT_MS}ms'"))
                session.add(record)
                session.flush()
            if postgres:
                session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
            return record
        except OperationalError as exc:
            if not postgres or getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            # The first request's claim is not committed yet: it is still running.
            raise Conflict("A request with this Idempotency-Key is in progress.") from None
        except IntegrityError:
            # Another request with this key committed meanwhile: answer as it did.
            existing = _find(session, user_id, scope, key)
            if existing is None:
                raise Conflict("A request with this Idempotency-Key is in progress.") from None
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


def remember(session: Session, record: IdempotencyRecord, status: int, body: Any) -> None:
    """Keep the first answer for replays (in the same transaction as the write it answers)."""
    record.status_code = status
    record.response_body = json.dumps(body, sort_keys=True)
    session.flush()
