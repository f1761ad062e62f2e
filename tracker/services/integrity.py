"""Proof that the records were not altered: the audit chain and every e-signature."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.models import Acknowledgment, Authorization
from tracker.services.audit import ChainReport, verify_chain
from tracker.services.authorizations import authorization_fields
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


def verify_signatures(session: Session, key: bytes) -> tuple[int, tuple[str, ...]]:
    """Recompute every acknowledgment's and authorization's HMAC; name the ones that fail."""
    checked = 0
    bad: list[str] = []
    for ack in _batched(session, Acknowledgment):
        checked += 1
        if not verify(key, "acknowledgment", acknowledgment_fields(ack), ack.signature_hmac):
            bad.append(f"acknowledgment {ack.id}")
    for auth in _batched(session, Authorization):
        checked += 1
        if not verify(key, "authorization", authorization_fields(auth), auth.signature_hmac):
            bad.append(f"authorization {auth.id}")
    return checked, tuple(bad)


def verify_all(session: Session, key: bytes) -> IntegrityReport:
    chain = verify_chain(session)
    checked, bad = verify_signatures(session, key)
    return IntegrityReport(chain, checked, bad)
