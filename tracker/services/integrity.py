"""Proof that the records were not altered: the audit chain and every e-signature."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.keyring import Keyring
from tracker.models import Acknowledgment, Authorization
from tracker.services.audit import ChainReport, verify_trail
from tracker.services.authorizations import authorization_fields
from tracker.services.context import Context
from tracker.services.patients import acknowledgment_fields
from tracker.services.signatures import verify


@dataclass(frozen=True)
class IntegrityReport:
    chain: ChainReport
    signatures_checked: int
    bad_signatures: tuple[str, ...]  # "acknowledgment 12", "authorization 7"

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.bad_signatures


def _batched(session: Session, model: Any, batch: int = 2000) -> Iterator[Any]:
    last = 0
    while True:
        rows = session.scalars(
            select(model).where(model.id > last).order_by(model.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def verify_signatures(session: Session, keys: Keyring) -> tuple[int, tuple[str, ...]]:
    """Recompute every acknowledgment's and authorization's HMAC with the key it names; name
    the ones that fail."""
    checked = 0
    bad: list[str] = []
    for ack in _batched(session, Acknowledgment):
        checked += 1
        if not verify(keys, ack.signature_key_id, "acknowledgment", acknowledgment_fields(ack),
                      ack.signature_hmac):
            bad.append(f"acknowledgment {ack.id}")
    for auth in _batched(session, Authorization):
        checked += 1
        if not verify(keys, auth.signature_key_id, "authorization", authorization_fields(auth),
                      auth.signature_hmac):
            bad.append(f"authorization {auth.id}")
    return checked, tuple(bad)


def verify_all(ctx: Context, anchors: Mapping[int, str] | None = None) -> IntegrityReport:
    chain = verify_trail(ctx, anchors)
    checked, bad = verify_signatures(ctx.session, ctx.signature_keys)
    return IntegrityReport(chain, checked, bad)
