"""Forms that arrived after their session expired: what was typed is kept server-side, for the
same user only and for a short while, so that signing in again leads back to the form filled in.
Nothing is recorded from a draft: the person reviews the form and sends it again."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from tracker.models import FormDraft

# Long enough to sign in again after a coffee break, short enough that typed values do not linger.
KEEP_FOR = timedelta(hours=1)
# Never kept: the form's own token (the new session brings its own) and any password.
_NEVER_KEPT = ("csrf_token",)
_MAX_FIELDS = 200


@dataclass(frozen=True)
class Draft:
    path: str
    fields: list[tuple[str, str]]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keeps(name: str) -> bool:
    """Whether a posted field is worth keeping (never the CSRF token or a password)."""
    return name not in _NEVER_KEPT and "password" not in name.lower()


def keep_draft(db: Session, user_id: int, path: str, fields: Iterable[tuple[str, str]],
               now: datetime) -> str:
    """Store the typed fields for `user_id`; the random id that names the draft."""
    kept = [(name, value) for name, value in fields if keeps(name)][:_MAX_FIELDS]
    token = secrets.token_urlsafe(24)
    db.add(FormDraft(id_hash=_hash(token), user_id=user_id, path=path[:500],
                     fields=json.dumps(kept), created_at=now))
    db.flush()
    return token


def take_draft(db: Session, token: str, user_id: int, now: datetime) -> Draft | None:
    """The draft named by `token` if it belongs to `user_id` and is still fresh; it is removed
    (a draft is shown once). Another user's draft is left alone and not revealed."""
    if not token or len(token) > 100:
        return None
    row = db.scalar(select(FormDraft).where(FormDraft.id_hash == _hash(token)))
    if row is None or row.user_id != user_id:
        return None
    fresh = now - row.created_at <= KEEP_FOR
    draft = Draft(row.path, [(str(k), str(v)) for k, v in json.loads(row.fields)])
    db.delete(row)
    db.flush()
    return draft if fresh else None


def purge_drafts(db: Session, now: datetime) -> int:
    """Remove the drafts nobody came back for."""
    result = db.execute(delete(FormDraft).where(FormDraft.created_at < now - KEEP_FOR)
                        .execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
