"""A user's own API tokens, from their account page: created after they re-enter their password
(the same proof as an e-signature on the pages, since a token signs as its owner on the API),
listed, and revoked. Nobody else's token is reachable from here."""

from __future__ import annotations

from sqlalchemy import select

from tracker.models import ApiToken, User
from tracker.services.audit import record_event
from tracker.services.auth import count_password_failure
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, PasswordRejected
from tracker.services.signing import ReenteredPassword, proves_signer
from tracker.services.tokens import clean_label, create_token, revoke_token

OWN_TOKENS_SHOWN = 100


def _acting_user(ctx: Context) -> User:
    user = ctx.session.get(User, ctx.actor.user_id) if ctx.actor.user_id is not None else None
    if user is None:
        raise Forbidden("Only a signed-in user has API tokens of their own.")
    return user


def create_own_token(ctx: Context, label: str | None, *, proof: ReenteredPassword) -> str:
    """A new API token for the acting user, once they have re-entered their password; returns
    the token, shown once and stored only as a hash."""
    user = _acting_user(ctx)
    text = clean_label(label)
    if not proves_signer(ctx, proof):
        # Audited and counted like a failed sign-in (the caller commits it): the token form
        # is no place to guess the password either.
        record_event(ctx, "token.create_refused", "user", user.id,
                     new={"reason": "password-wrong"})
        if proof.password:
            count_password_failure(ctx, user)
        raise PasswordRejected({"password": ["The password is not correct."]})
    return create_token(ctx, user, text)


def own_tokens(ctx: Context) -> list[ApiToken]:
    """The acting user's tokens, newest first (never the tokens, only their first characters)."""
    user = _acting_user(ctx)
    return list(ctx.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()).limit(OWN_TOKENS_SHOWN)))


def revoke_own_token(ctx: Context, token_id: int) -> ApiToken:
    """Revoke one of the acting user's tokens; someone else's answers as if it did not exist."""
    user = _acting_user(ctx)
    row = ctx.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("no such token")
    return revoke_token(ctx, token_id)
