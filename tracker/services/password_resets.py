"""Forgotten passwords: an administrator makes a single-use link that expires after a day and
hands it to the user out of band; the user opens it and chooses a new password. The
administrator never sees or chooses a password, so they cannot sign in (and sign) as the user.

Only a SHA-256 of the link's token is stored, as for API tokens. A new link voids the ones
before it; using a link ends every browser session of the user. Every step is audited."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from tracker.models import PasswordReset, User
from tracker.services.administration import require_admin
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.dml import rows_changed
from tracker.services.errors import NotFound, ValidationFailed
from tracker.services.passwords import hash_password, password_problems
from tracker.services.users import end_sessions, user_by_id

RESET_LIFETIME = timedelta(hours=24)
RESET_PREFIX = "rst_"
_TOKEN_MAX = 100
UNUSABLE = "This link is not valid: it has expired, was already used or was replaced by a " \
    "newer one. Ask your administrator for a new link."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ResetLink:
    user: User
    token: str  # shown once to the administrator, never stored
    expires_at: datetime


def issue_reset_link(ctx: Context, user_id: int) -> ResetLink:
    """A new single-use reset link for the user (administrators only); earlier unused links of
    the user stop working. The user's password stays as it is until the link is used."""
    require_admin(ctx)
    user = user_by_id(ctx, user_id)
    if not user.active:
        raise ValidationFailed({"user": ["Reactivate the user before resetting the password."]})
    now = ctx.now()
    voided = rows_changed(ctx.session,
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None),
               PasswordReset.voided_at.is_(None))
        .values(voided_at=now)
    )
    token = RESET_PREFIX + secrets.token_urlsafe(32)
    row = PasswordReset(user_id=user.id, token_hash=_hash(token),
                        created_by_id=ctx.actor.user_id, created_at=now,
                        expires_at=now + RESET_LIFETIME)
    ctx.session.add(row)
    ctx.session.flush()
    record_event(ctx, "user.password_reset_link_created", "user", user.id,
                 new={"reset_link_id": row.id, "expires_at": row.expires_at.isoformat(),
                      "earlier_links_voided": voided})
    return ResetLink(user, token, row.expires_at)


def usable_reset(ctx: Context, token: str) -> PasswordReset:
    """The link behind a token while it can still be used; NotFound otherwise."""
    if not token.startswith(RESET_PREFIX) or len(token) > _TOKEN_MAX:
        raise NotFound(UNUSABLE)
    row = ctx.session.scalar(select(PasswordReset).where(
        PasswordReset.token_hash == _hash(token), PasswordReset.used_at.is_(None),
        PasswordReset.voided_at.is_(None), PasswordReset.expires_at > ctx.now()))
    user = ctx.session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        raise NotFound(UNUSABLE)
    return row


def reset_password_with_link(ctx: Context, token: str, new_password: str,
                             fast_hash: bool = False) -> User:
    """Set the new password chosen by the holder of a usable link (the password policy
    applies); the link is used up and every session of the user ends. The holder acts as the
    link's user, so the audit trail names them."""
    row = usable_reset(ctx, token)
    user = user_by_id(ctx, row.user_id)
    problems = password_problems(new_password, user.email, user.name)
    if problems:
        raise ValidationFailed({"new_password": problems})
    ctx = dataclasses.replace(ctx, actor=dataclasses.replace(
        ctx.actor, user_id=user.id, role=user.role, name=user.name,
        pharmacy_id=user.pharmacy_id))
    now = ctx.now()
    # Conditional, so that a link opened twice at the same moment is used once.
    used = rows_changed(ctx.session,
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None),
               PasswordReset.voided_at.is_(None), PasswordReset.expires_at > now)
        .values(used_at=now)
    )
    if used != 1:
        raise NotFound(UNUSABLE)
    user.password_hash = hash_password(new_password, fast=fast_hash)
    user.must_change_password = False
    user.password_changed_at = now
    sessions = end_sessions(ctx, user.id)
    ctx.session.flush()
    record_event(ctx, "user.password_reset_completed", "user", user.id,
                 new={"reset_link_id": row.id, "must_change_password": False,
                      "sessions_ended": sessions})
    return user
