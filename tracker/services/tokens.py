"""Personal API tokens: issuing one (shown once, stored only as a hash), revoking it, and
finding the user behind a bearer token.

A token signs as its owner (an authorization made through the API is the owner's electronic
signature, 21 CFR 11.200), so nobody creates a token for someone else: users create their own
after re-entering their password (tracker.services.own_tokens), and the server operator's
command line bootstraps the first integrations. Administrators only list and revoke tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from tracker.models import ApiToken, Role, User
from tracker.services.administration import require_admin
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, ValidationFailed

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


def authenticate_token(session: Session, token: str, now: datetime) -> User | None:
    """The active user behind a bearer token, or None. Records when the token was last used
    (at most once a minute, so that reads stay reads)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
        # Pharmacy staff's pharmacy comes in the same statement: the lookup and the dispense
        # then find it in the session instead of asking the database again.
        .options(joinedload(User.pharmacy))
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    if not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        # Best effort: a read request on SQLite cannot always take the write lock while another
        # process writes ("database is locked"); the request must not fail for this time stamp.
        try:
            with session.begin_nested():
                session.execute(update(ApiToken).where(ApiToken.id == row.id)
                                .values(last_used_at=now))
        except OperationalError as exc:
            if exc.connection_invalidated:
                raise  # the connection is gone: nothing else of the request can run either
    return user
