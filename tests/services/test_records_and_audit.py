"""Records are never overwritten, facts load in a fixed number of queries, and the audit trail
is a verifiable chain."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests import builders
from tests.builders import SIGNED
from tracker.keyring import Keyring
from tracker.models import AuditEvent, Counseling
from tracker.services import patients, prescriptions, records
from tracker.services.audit import verify_chain
from tracker.services.context import Context
from tracker.services.errors import NotFound, ValidationFailed
from tracker.services.facts import load_case
from tracker.services.integrity import verify_signatures
from tracker.services.signatures import verify


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


def test_correction_creates_a_new_version_and_keeps_the_old_one(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    first = records.record_counseling(doc, p.id, doc.today() - timedelta(days=3))
    fixed = records.record_counseling(doc, p.id, doc.today() - timedelta(days=2),
                                      corrects_id=first.id, reason="typed the wrong day")
    assert first.superseded and not fixed.superseded
    assert fixed.corrects_id == first.id and fixed.correction_reason == "typed the wrong day"
    assert doc.session.get(Counseling, first.id).counseled_on == doc.today() - timedelta(days=3)
    event = doc.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "counseling.corrected"
    assert json.loads(event.old_values)["counseled_on"] == str(doc.today() - timedelta(days=3))
    assert event.reason == "typed the wrong day"


def test_correction_needs_a_reason_and_the_newest_version(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    first = records.record_counseling(doc, p.id, doc.today())
    with pytest.raises(ValidationFailed) as invalid:
        records.record_counseling(doc, p.id, doc.today(), corrects_id=first.id, reason="")
    assert "correction_reason" in invalid.value.errors
    records.record_counseling(doc, p.id, doc.today(), corrects_id=first.id, reason="dup")
    with pytest.raises(ValidationFailed) as again:
        records.record_counseling(doc, p.id, doc.today(), corrects_id=first.id, reason="dup")
    assert "corrects_id" in again.value.errors


def test_corrected_records_no_longer_count(doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    test = doc.session.scalars(
        select(records.PregnancyTest).where(records.PregnancyTest.patient_id == p.id)
        .order_by(records.PregnancyTest.id.desc())).first()
    records.record_pregnancy_test(doc, p.id, test.collected_on, "positive", "lab",
                                  corrects_id=test.id, reason="result misread")
    decision = prescriptions.eligibility(doc, rx.id)
    assert "PREGNANCY_TEST_POSITIVE" in {r.code.value for r in decision.unmet}


def test_record_of_another_prescribers_patient_is_not_found(ctx: Context, doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Other"))
    with pytest.raises(NotFound):
        records.record_counseling(other, p.id, other.today())


@pytest.mark.parametrize("history_months", [1, 12])
def test_facts_load_in_two_queries_whatever_the_history(doc: Context, count_queries,  # type: ignore[no-untyped-def]
                                                        history_months: int) -> None:
    p = builders.enrolled_patient(doc, signed_on=doc.today() - timedelta(days=400))
    for month in range(history_months):
        day = doc.today() - timedelta(days=30 * month + 1)
        records.record_counseling(doc, p.id, day)
        records.record_pregnancy_test(doc, p.id, day, "negative", "lab")
    rx_id = builders.prescription(doc, p.id).id
    doc.session.expire_all()
    with count_queries() as q:
        load_case(doc.session, rx_id)
    assert q.count == 2, [s[:80] for s in q.statements]


def test_audit_chain_verifies_and_names_the_first_broken_event(doc: Context) -> None:
    builders.ready_for_first_fill(doc)
    report = verify_chain(doc.session, doc.audit_keys)
    assert report.ok and report.events > 5
    last = doc.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    # A forged event appended without the right link breaks the chain at that event.
    doc.session.execute(text(
        "INSERT INTO audit_events (occurred_at, action, object_type, prev_hash, hash) "
        "VALUES (CURRENT_TIMESTAMP, 'forged', 'x', :p, :h)"), {"p": "f" * 64, "h": "e" * 64})
    broken = verify_chain(doc.session, doc.audit_keys)
    assert not broken.ok and broken.first_broken_id == last.id + 1


def test_audit_events_hold_no_secrets(ctx: Context) -> None:
    builders.prescriber(ctx)
    for event in ctx.session.scalars(select(AuditEvent)):
        assert "password" not in (event.new_values or "")
        assert builders.PASSWORD not in (event.new_values or "")


def test_acknowledgment_signature_is_bound_to_its_content(doc: Context) -> None:
    p = builders.patient(doc)
    ack = patients.record_acknowledgment(doc, p.id, doc.today(), "Alex Rivera", witness=SIGNED)
    fields = patients.acknowledgment_fields(ack)
    keys, key_id = doc.signature_keys, ack.signature_key_id
    assert verify(keys, key_id, "acknowledgment", fields, ack.signature_hmac)
    assert not verify(keys, key_id, "acknowledgment", {**fields, "id": ack.id + 1},
                      ack.signature_hmac)
    assert not verify(keys, key_id, "acknowledgment",
                      {**fields, "signed_on": doc.today() - timedelta(days=1)},
                      ack.signature_hmac)
    assert not verify(Keyring.single(b"another key", key_id), key_id, "acknowledgment", fields,
                      ack.signature_hmac)
    assert not verify(keys, "unknown", "acknowledgment", fields, ack.signature_hmac)


def test_rotating_the_signature_key_keeps_old_signatures_verifiable(doc: Context) -> None:
    p = builders.patient(doc)
    old = patients.record_acknowledgment(doc, p.id, doc.today(), "Alex Rivera", witness=SIGNED)
    rotated = Keyring("2027", {"1": doc.signature_keys.current, "2027": b"k" * 32})
    doc.signature_keys = rotated
    new = patients.record_acknowledgment(doc, p.id, doc.today(), "Alex Rivera", witness=SIGNED)
    assert (old.signature_key_id, new.signature_key_id) == ("1", "2027")
    for ack in (old, new):
        assert verify(rotated, ack.signature_key_id, "acknowledgment",
                      patients.acknowledgment_fields(ack), ack.signature_hmac)
    assert verify_signatures(doc.session, rotated) == (2, ())
    assert verify_signatures(doc.session, Keyring.single(b"k" * 32, "2027")) == (
        2, (f"acknowledgment {old.id}",))
