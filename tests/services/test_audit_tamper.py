"""Whoever can write to the database, even with the append-only triggers dropped, cannot
rewrite the audit trail unnoticed: every hash is an HMAC under a key kept outside the database,
and anchors kept outside it show a truncated or rewritten tail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests import builders
from tracker.keyring import Keyring
from tracker.models import AuditEvent
from tracker.services.anchors import parse_anchors, take_anchor
from tracker.services.audit import GENESIS, event_hash, verify_chain, verify_trail
from tracker.services.context import Context


@pytest.fixture
def trail(ctx: Context) -> Context:
    """A few dozen events, and the append-only triggers out of the way (as the owner of the
    database could do); the test's transaction is rolled back, triggers included."""
    builders.ready_for_first_fill(builders.as_user(ctx, builders.prescriber(ctx)))
    if ctx.session.get_bind().dialect.name == "sqlite":
        for name in ("audit_events_no_update", "audit_events_no_delete"):
            ctx.session.execute(text(f"DROP TRIGGER {name}"))
    else:
        ctx.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    assert verify_trail(ctx).ok
    return ctx


def events(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def rechain(session: Session, start: int, hash_of) -> None:  # type: ignore[no-untyped-def]
    """Recompute every hash from the `start`-th event on, as a forger without the key would."""
    chain = events(session)
    prev = chain[start - 1].prev_hash
    for event in chain[start - 1:]:
        event.prev_hash = prev
        event.hash = hash_of(event)
        prev = event.hash
    session.flush()


def unkeyed(event: AuditEvent) -> str:
    event.key_id = None
    return event_hash(event, None)


def guessed_key(event: AuditEvent) -> str:
    return event_hash(event, b"development-signature-key")


@pytest.mark.parametrize("forge", [unkeyed, guessed_key], ids=["sha256", "wrong-key"])
@pytest.mark.parametrize("start", [1, 4], ids=["whole-chain", "middle"])
def test_rewritten_history_with_recomputed_hashes_is_detected(trail: Context, forge,  # type: ignore[no-untyped-def]
                                                              start: int) -> None:
    victim = events(trail.session)[start - 1]
    victim.reason = "nothing happened here"
    rechain(trail.session, start, forge)
    report = verify_trail(trail)
    assert not report.ok and report.first_broken_id == victim.id


@pytest.mark.parametrize(("key_id", "forger_key"), [(None, None), ("1", b"a guess")],
                         ids=["unkeyed", "guessed-key"])
def test_forged_event_appended_with_a_correct_link_is_detected(
        trail: Context, key_id: str | None, forger_key: bytes | None) -> None:
    forged = AuditEvent(occurred_at=trail.now(), action="patient.registered",
                        object_type="patient", object_id="1",
                        prev_hash=events(trail.session)[-1].hash, key_id=key_id)
    forged.hash = event_hash(forged, forger_key)
    trail.session.add(forged)
    trail.session.flush()
    report = verify_trail(trail)
    assert not report.ok and report.first_broken_id == forged.id, report


def test_truncated_tail_verifies_alone_but_not_against_an_anchor(trail: Context) -> None:
    anchor = take_anchor(trail)
    anchors = parse_anchors(anchor.line() + "\n")
    assert anchors == {anchor.events: anchor.head}
    assert verify_trail(trail, anchors).ok
    for event in events(trail.session)[-2:]:
        trail.session.delete(event)
    trail.session.flush()
    assert verify_trail(trail).ok  # every remaining link and HMAC is right...
    report = verify_trail(trail, anchors)
    assert not report.ok and "removed" in (report.problem or "")  # ...but the tail is gone


def test_tail_rewritten_by_a_key_holder_is_detected_against_an_anchor(trail: Context) -> None:
    anchors = parse_anchors(take_anchor(trail).line())
    last = events(trail.session)[-1]
    last.reason = "rewritten"
    rechain(trail.session, len(events(trail.session)), lambda e: event_hash(
        e, trail.audit_keys.current))
    assert verify_trail(trail).ok
    report = verify_trail(trail, anchors)
    assert not report.ok and report.first_broken_id == last.id


def test_events_of_a_rotated_key_verify_while_the_key_is_kept(trail: Context) -> None:
    from tracker.services.audit import record_event

    before = len(events(trail.session))
    old = trail.audit_keys
    trail.audit_keys = Keyring("2", {**old.keys, "2": b"n" * 32})
    record_event(trail, "test.rotated", "test")
    assert verify_trail(trail).ok and events(trail.session)[-1].key_id == "2"
    without_old = verify_chain(trail.session, Keyring.single(b"n" * 32, "2"))
    assert not without_old.ok and "not configured" in (without_old.problem or "")
    assert without_old.events == 1 and before > 1


def test_events_from_before_keying_verify_only_when_declared(trail: Context) -> None:
    first, second = events(trail.session)[:2]
    rechain(trail.session, 1, unkeyed)  # as if every event predated the keyed chain
    for event in events(trail.session)[2:]:
        event.key_id = "1"
    rechain(trail.session, 3, lambda e: event_hash(e, trail.audit_keys.current))
    assert verify_chain(trail.session, trail.audit_keys, unkeyed_events=2).ok
    refused = verify_chain(trail.session, trail.audit_keys, unkeyed_events=1)
    assert not refused.ok and refused.first_broken_id == second.id
    assert verify_chain(trail.session, trail.audit_keys).first_broken_id == first.id
    assert GENESIS == first.prev_hash
