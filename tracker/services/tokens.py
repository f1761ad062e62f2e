"""Personal API tokens: issuing one (shown once, stored only as a hash), revoking it, and
finding the user behind a bearer token.

A token signs as its owner (an authorization made through the API is the owner's electronic
signature, 21 CFR 11.200), so nobody creates a token for someone else: users create their own
after re-entering their password (tracker.services.own_tokens), and the server operator's
command line bootstraps the first integrations. Administrators only list and revoke tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tracker.db import UTCDateTime
from tracker.models import ApiToken, Role, User
from tracker.services.administration import require_admin
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, ValidationFailed
from tracker.services.prepared import Prepared

TOKEN_PREFIX = "trk_"  # noqa: S105 - a marker, not a secret
LABEL_MAX = 100


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(ctx: Context, user: User, label: str | None = None) -> str:
    """Issue a new API token for a user; returns the token, which is never stored. Only the
    user themselves or the system (the operator's command line) may: a token made by someone
    else would let them sign as its owner."""
    if ctx.actor.user_id is not None and ctx.actor.user_id != user.id:
        raise Forbidden("Users create their own API tokens; nobody creates one for someone else.")
    if not user.active:
        raise ValidationFailed({"user": ["The user is deactivated."]})
    if user.role == Role.PATIENT:
        # A patient's account opens their portal and nothing of the API (API.md): a token
        # would reach nothing and only add a secret to lose.
        raise ValidationFailed({"user": ["Patients have no API tokens; the portal is theirs."]})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=token_hash(token), prefix=token[:10], label=label
    )
    ctx.session.add(row)
    ctx.session.flush()
    created_by = "owner" if ctx.actor.user_id == user.id else f"system: {ctx.actor.name}"
    record_event(ctx, "token.created", "api_token", row.id,
                 new={"user_id": user.id, "prefix": row.prefix, "created_by": created_by})
    return token


def clean_label(label: str | None) -> str | None:
    """A token's label in one line, or None; an error when it is too long."""
    text = " ".join((label or "").split()) or None
    if text is not None and len(text) > LABEL_MAX:
        raise ValidationFailed({"label": [f"The label has at most {LABEL_MAX} characters."]})
    return text


def revoke_token(ctx: Context, token_id: int) -> ApiToken:
    row = ctx.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = ctx.now()
        record_event(ctx, "token.revoked", "api_token", row.id, new={"user_id": row.user_id})
    return row


def admin_revoke_token(ctx: Context, token_id: int) -> ApiToken:
    """Revoke a token; it stops working with the next request."""
    require_admin(ctx)
    return revoke_token(ctx, token_id)


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """The active user behind a bearer token: who acts in the request, no more."""

    id: int
    role: Role
    name: str
    pharmacy_id: int | None


_tokens, _users = cast(Table, ApiToken.__table__), cast(Table, User.__table__)
# One indexed look-up (the unique index of token_hash): the token, unrevoked, of an active
# user. Read on every API request, so revoking a token or deactivating its user takes effect
# with the very next request.
_HOLDER = Prepared(
    select(_tokens.c.id, _tokens.c.last_used_at, _users.c.id, _users.c.role, _users.c.name,
           _users.c.pharmacy_id)
    .select_from(_tokens.join(_users, _users.c.id == _tokens.c.user_id))
    .where(_tokens.c.token_hash == bindparam("token_hash"), _tokens.c.revoked_at.is_(None),
           _users.c.active.is_(True)))
_TOUCH = Prepared(update(_tokens).where(_tokens.c.id == bindparam("token_id"))
                  .values(last_used_at=bindparam("now", type_=UTCDateTime())))
_TOUCH_EVERY = timedelta(minutes=1)


def token_holder(session: Session, token: str, now: datetime) -> TokenHolder | None:
    """Who holds a bearer token (an active user), or None. Records when the token was last
    used (at most once a minute, so that reads stay reads)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = _HOLDER.first(session, token_hash=token_hash(token))
    if found is None:
        return None
    token_id, last_used_at, *holder = found
    if last_used_at is None or now - last_used_at > _TOUCH_EVERY:
        # Best effort: a read request on SQLite cannot always take the write lock while another
        # process writes ("database is locked"); the request must not fail for this time stamp.
        try:
            with session.begin_nested():
                _TOUCH.execute(session, token_id=token_id, now=now)
        except OperationalError as exc:
            if exc.connection_invalidated:
                raise  # the connection is gone: nothing else of the request can run either
    return TokenHolder(*holder)
