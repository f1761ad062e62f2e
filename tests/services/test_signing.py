"""The e-signature is checked by the use case that signs, whoever calls it: a re-entered
password (the pages) or the request's own API token (the JSON API) must be the acting user's;
anything else is audited and rejected, and nothing is signed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tracker.models import Acknowledgment, AuditEvent, Authorization
from tracker.services import authorizations, patients, tokens
from tracker.services.context import Context
from tracker.services.errors import SignatureRejected
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
