"""The proof that the person signing is the acting user, given at the moment of signing (the
prescriber's authorization, the witness of an acknowledgment). On the pages the signer enters
their password again; on the JSON API the personal bearer token the request is sent with is the
signature (API.md). Use cases that sign take one of these as a required keyword argument, so
no caller signs without one, and they check it themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from tracker.models import ApiToken, User
from tracker.services.audit import record_event
from tracker.services.auth import count_password_failure
from tracker.services.context import Context
from tracker.services.errors import SignatureRejected
from tracker.services.passwords import verify_password
from tracker.services.tokens import token_hash


@dataclass(frozen=True)
class ReenteredPassword:
    """The signer typed their password again to sign (a page)."""

    password: str = field(repr=False)


@dataclass(frozen=True)
class BearerToken:
    """The personal API token the request was authenticated with (the JSON API)."""

    token: str = field(repr=False)


SignerProof = ReenteredPassword | BearerToken


def proves_signer(ctx: Context, proof: SignerProof) -> bool:
    """Whether the proof belongs to the acting user: their own password, or one of their tokens
    that is not revoked. (Whether an inactive prescriber may sign is the rules engine's call.)"""
    user = ctx.session.get(User, ctx.actor.user_id) if ctx.actor.user_id is not None else None
    if user is None:
        return False
    if isinstance(proof, ReenteredPassword):
        return verify_password(user.password_hash, proof.password)
    if isinstance(proof, BearerToken):
        return ctx.session.scalar(select(ApiToken.id).where(
            ApiToken.token_hash == token_hash(proof.token), ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None))) is not None
    raise TypeError(f"not a signer's proof: {type(proof).__name__}")


def rejected_signature(ctx: Context, proof: SignerProof, message: str) -> SignatureRejected:
    """What a use case raises, once it has audited the attempt, for a proof that is not the
    acting user's. A wrong re-entered password counts against the account like a failed
    sign-in, so a signature form cannot be used to guess the password: the failure that reaches
    the limit raises PasswordGuessingStopped here instead. (A token cannot be guessed, and an
    empty password, never a valid one, is no guess.)"""
    user = ctx.session.get(User, ctx.actor.user_id) if ctx.actor.user_id is not None else None
    if isinstance(proof, ReenteredPassword) and proof.password and user is not None:
        count_password_failure(ctx, user)
    return SignatureRejected(message)


def take_back_screen(ctx: Context, proof: ReenteredPassword) -> None:
    """The clinic takes the screen back from the patient after the comprehension hand-over:
    only by re-entering the signed-in user's password, so the patient holding the screen
    cannot walk into the clinic's pages. A wrong password is audited and counts like a failed
    sign-in (see rejected_signature)."""
    if proves_signer(ctx, proof):
        record_event(ctx, "handover.ended", "user", ctx.actor.user_id)
        return
    record_event(ctx, "handover.end_refused", "user", ctx.actor.user_id)
    raise rejected_signature(ctx, proof,
                             "That is not your password; the screen stays with the patient.")
