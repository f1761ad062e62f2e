"""Idempotency-Key on the writes that create an authorization or a dispense (API.md): the same
key with the same body replays the first answer; with another body: 422.

The key is claimed inside the request's own transaction. A second request with the same key
that arrives while the first is running waits on the unique key (PostgreSQL) or on the write
lock (SQLite) and then replays the committed answer; one that still finds no answer gets 409."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.models import IdempotencyRecord
from tracker.services.errors import Conflict, ValidationFailed

KEY_MAX = 200


def _hash_body() -> str:
    return hashlib.sha256(request.get_data()).hexdigest()


def claim(session: Session, user_id: int, key: str) -> IdempotencyRecord | Response:
    """Claim the key for this request, or return the replayed first answer."""
    if not key or len(key) > KEY_MAX:
        raise ValidationFailed({"Idempotency-Key": [f"Use 1 to {KEY_MAX} characters."]})
    scope = f"{request.method} {request.path}"
    digest = _hash_body()
    existing = session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
        IdempotencyRecord.key == key))
    if existing is None:
        record = IdempotencyRecord(user_id=user_id, scope=scope, key=key, request_hash=digest)
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
            return record
        except IntegrityError:
            existing = session.scalar(select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key))
            if existing is None:
                raise Conflict("A request with this Idempotency-Key is in progress.") from None
    if existing.request_hash != digest:
        raise ValidationFailed({"Idempotency-Key": [
            "This key was used with a different body; use a new key for a new request."]})
    if existing.status_code is None or existing.response_body is None:
        raise Conflict("A request with this Idempotency-Key is in progress.")
    replay = Response(existing.response_body, status=existing.status_code,
                      mimetype="application/problem+json" if existing.status_code >= 400
                      else "application/json")
    replay.headers["Idempotent-Replayed"] = "true"
    return replay


def remember(session: Session, record: IdempotencyRecord, status: int, body: Any) -> None:
    record.status_code = status
    record.response_body = json.dumps(body)
    session.flush()
