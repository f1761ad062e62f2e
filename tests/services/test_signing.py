"""The e-signature is checked by the use case that signs, whoever calls it: a re-entered
password (the pages) or the request's own API token (the JSON API) must be the acting user's;
anything else is audited and rejected, and nothing is signed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock
from tracker.models import Acknowledgment, AuditEvent, Authorization, LoginAttempt
from tracker.services import auth, authorizations, patients, tokens
from tracker.services.context import Context
from tracker.services.errors import PasswordGuessingStopped, SignatureRejected
from tracker.services.signing import BearerToken, ReenteredPassword


def _count(ctx: Context, model: object, *where: object) -> int:
    return ctx.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _events(ctx: Context, action: str) -> int:
    return _count(ctx, AuditEvent, AuditEvent.action == action)


@pytest.mark.parametrize("signature", [ReenteredPassword("not the password"),
                                       ReenteredPassword(""), BearerToken("trk_forged")])
def test_marking_dispensable_with_a_proof_that_is_not_the_prescribers_is_audited_and_refused(
    ctx: Context, signature: ReenteredPassword | BearerToken
) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    with pytest.raises(SignatureRejected):
        authorizations.authorize(doc, rx.id, signature=signature)
    assert _events(ctx, "authorization.signature_failed") == 1
    assert _count(ctx, Authorization, Authorization.prescription_id == rx.id) == 0


def test_the_api_token_signs_only_for_its_own_user(ctx: Context) -> None:
    prescriber = builders.prescriber(ctx)
    doc = builders.as_user(ctx, prescriber)
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    colleagues = tokens.create_token(ctx, builders.prescriber(ctx, name="Olive Other"))
    with pytest.raises(SignatureRejected):
        authorizations.authorize(doc, rx.id, signature=BearerToken(colleagues))
    own = tokens.create_token(ctx, prescriber)
    assert authorizations.authorize(doc, rx.id, signature=BearerToken(own)).number


def test_a_revoked_token_no_longer_signs(ctx: Context) -> None:
    prescriber = builders.prescriber(ctx)
    doc = builders.as_user(ctx, prescriber)
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    token = tokens.create_token(ctx, prescriber)
    revoked = ctx.session.scalar(select(AuditEvent.object_id).where(
        AuditEvent.action == "token.created").order_by(AuditEvent.id.desc()).limit(1))
    tokens.revoke_token(ctx, int(revoked or 0))
    with pytest.raises(SignatureRejected):
        authorizations.authorize(doc, rx.id, signature=BearerToken(token))


def test_a_wrong_witness_password_records_no_acknowledgment(ctx: Context) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    p = builders.patient(doc, first="Alex", last="Rivera")
    with pytest.raises(SignatureRejected):
        patients.record_acknowledgment(doc, p.id, doc.today(), "Alex Rivera",
                                       witness=ReenteredPassword("guess"))
    assert _events(ctx, "acknowledgment.witness_password_failed") == 1
    assert _count(ctx, Acknowledgment, Acknowledgment.patient_id == p.id) == 0
    assert patients.record_acknowledgment(doc, p.id, doc.today(), "Alex Rivera",
                                          witness=SIGNED).id


def test_wrong_passwords_count_against_the_account_and_the_last_one_stops_the_guessing(
    ctx: Context,
) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(SignatureRejected):
            authorizations.authorize(doc, rx.id, signature=ReenteredPassword("a wrong guess"))
    with pytest.raises(PasswordGuessingStopped):
        authorizations.authorize(doc, rx.id, signature=ReenteredPassword("a wrong guess"))
    assert _events(ctx, "authorization.signature_failed") == auth.MAX_FAILURES
    assert _events(ctx, "user.signed_out_after_password_failures") == 1


@pytest.mark.parametrize("signature", [ReenteredPassword(""), BearerToken("trk_forged")])
def test_an_empty_password_or_a_forged_token_is_no_password_guess(
    ctx: Context, signature: ReenteredPassword | BearerToken
) -> None:
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    rx = builders.prescription(doc, builders.ready_for_first_fill(doc).id)
    for _ in range(auth.MAX_FAILURES + 1):
        with pytest.raises(SignatureRejected):
            authorizations.authorize(doc, rx.id, signature=signature)
    assert _count(ctx, LoginAttempt) == 0


def test_the_wait_doubles_from_the_limit_and_is_capped() -> None:
    limit = auth.MAX_FAILURES
    assert auth.wait_after(limit - 1, limit) == timedelta(0)
    assert [auth.wait_after(limit + n, limit).total_seconds() for n in range(4)] == [2, 4, 8, 16]
    assert auth.wait_after(10_000, limit) == auth.MAX_WAIT


def test_failures_are_forgotten_only_after_a_quiet_hour_past_the_wait(ctx: Context,
                                                                     clock: Clock) -> None:
    user = builders.prescriber(ctx)
    for _ in range(auth.MAX_FAILURES + 2):
        auth.authenticate(ctx, user.email, "a wrong guess")
        clock.now += timedelta(seconds=10)
    clock.now += timedelta(minutes=50)  # an hour after the first failure, not after the last
    assert auth.authenticate(ctx, user.email, "a wrong guess").user is None
    assert auth.authenticate(ctx, user.email, builders.PASSWORD).retry_after == 16
    clock.now += auth.FORGET_AFTER + timedelta(seconds=17)
    assert auth.authenticate(ctx, user.email, "a wrong guess").retry_after is None
    assert auth.authenticate(ctx, user.email, builders.PASSWORD).user is not None
