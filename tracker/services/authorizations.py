"""Authorizations: marking a prescription dispensable (RULES.md §8), with the prescriber's
e-signature, and reversing an undispensed authorization.

The decision is made by the rules engine inside the same transaction as the write it allows.
State changes that must happen once are conditional UPDATEs with a row-count check, backed by
a partial unique index (one open authorization per patient)."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tracker.domain.decision import Decision
from tracker.domain.facts import PrescriptionStatus
from tracker.domain.policy import pharmacy_problems
from tracker.domain.reasons import Reason, ReasonCode
from tracker.domain.rules import evaluate
from tracker.models import (
    Authorization,
    AuthorizationState,
    Patient,
    Pharmacy,
    Prescription,
    Role,
)
from tracker.services import counter_access
from tracker.services.audit import record_event
from tracker.services.care_team import require_signer
from tracker.services.codes import printed_code, random_code
from tracker.services.context import Context
from tracker.services.dml import rows_changed
from tracker.services.errors import Forbidden, NoMatch, NotFound, ValidationFailed
from tracker.services.facts import load_case, pharmacy_facts
from tracker.services.prescriptions import own_prescription
from tracker.services.refusals import LostRace, refuse, single_reason
from tracker.services.signatures import sign
from tracker.services.signing import SignerProof, proves_signer, rejected_signature
from tracker.services.text import MESSAGE as TEXT_MESSAGE
from tracker.services.text import has_control_characters

REASON_MAX = 500
AUTHORIZATION_GROUPS = 3  # an authorization number: three groups of four characters


def new_authorization_number() -> str:
    """Random and unguessable (60 bits): knowing one number says nothing of another."""
    return random_code(AUTHORIZATION_GROUPS)


def authorization_fields(auth: Authorization) -> dict[str, object]:
    """What the prescriber's e-signature on an authorization covers."""
    return {
        "id": auth.id, "number": auth.number, "prescription_id": auth.prescription_id,
        "patient_id": auth.patient_id, "issued_on": auth.issued_on,
        "issued_at": auth.issued_at.isoformat(timespec="microseconds"),
        "issued_by": auth.issued_by, "do_not_dispense_after": auth.do_not_dispense_after,
        "rule_set": auth.rule_set, "meaning": "authorized for dispensing",
    }


def _issue(ctx: Context, rx: Prescription, patient: Patient, decision: Decision,
           today: date) -> Authorization:
    """The writes of authorize(), run in its savepoint."""
    # Close this patient's open authorizations that expired unused, so the one-open index
    # admits the new one (the engine already ignores them). Each closing is audited.
    lapsed = ctx.session.execute(
        update(Authorization)
        .where(Authorization.patient_id == patient.id,
               Authorization.state == AuthorizationState.OPEN,
               Authorization.do_not_dispense_after < today)
        .values(state=AuthorizationState.LAPSED, closed_at=ctx.now(),
                close_reason="expired unused")
        .returning(Authorization.number, Authorization.do_not_dispense_after)
    ).all()
    for number, last_day in lapsed:
        record_event(ctx, "authorization.lapsed", "authorization", number,
                     patient_id=patient.id, old={"state": "open"},
                     new={"state": "lapsed", "do_not_dispense_after": last_day},
                     reason="expired unused; closed when a new authorization was issued")
    moved = rows_changed(ctx.session,
        update(Prescription)
        .where(Prescription.id == rx.id, Prescription.status == PrescriptionStatus.PENDING)
        .values(status=PrescriptionStatus.DISPENSABLE)
    )
    if moved != 1:
        raise LostRace(Reason(ReasonCode.PRESCRIPTION_NOT_PENDING,
                               "The prescription is no longer pending."))
    auth = Authorization(
        number=new_authorization_number(), prescription_id=rx.id, patient_id=patient.id,
        state=AuthorizationState.OPEN, issued_on=today, issued_at=ctx.now(),
        issued_by=ctx.actor.user_id, do_not_dispense_after=decision.do_not_dispense_after,
        rule_set=decision.rule_set, decision_used=json.dumps(list(map(list, decision.used))),
        signature_hmac="pending",
    )
    ctx.session.add(auth)
    try:
        ctx.session.flush()
    except IntegrityError:
        # Another authorization for this patient was committed in the meantime.
        raise LostRace(Reason(
            ReasonCode.OTHER_AUTHORIZATION_ACTIVE,
            "Another authorization for this patient was issued at the same time.")) from None
    return auth


def authorize(ctx: Context, prescription_id: int, *, signature: SignerProof) -> Authorization:
    """RULES.md §8 "Marking dispensable": every rule on today's program date; on success an
    authorization with a random number and its do-not-dispense-after date, signed by the
    prescriber. A `signature` that is not the prescriber's is audited and rejected
    (SignatureRejected) before anything else. Office staff never sign it (Forbidden): a
    prescription they drafted waits for the prescriber."""
    rx = own_prescription(ctx, prescription_id)
    require_signer(ctx, rx.prescriber_id, "mark a prescription dispensable")
    if not proves_signer(ctx, signature):
        record_event(ctx, "authorization.signature_failed", "prescription", rx.id,
                     patient_id=rx.patient_id)
        raise rejected_signature(ctx, signature, "Enter your password to sign the "
                                 "authorization; the prescription was not marked dispensable.")
    today = ctx.today()
    policy = ctx.policy(today)
    loaded = load_case(ctx.session, rx.id)
    assert loaded is not None
    _, patient, _, case = loaded
    decision = evaluate(case, today, policy)
    if not decision.dispensable:
        raise refuse(ctx, "authorization.refused", "prescription", rx.id, patient.id, decision,
                     "The prescription cannot be marked dispensable.")
    try:
        # The writes below are this use case's own: a refusal undoes them (the savepoint) and
        # nothing else of the caller's transaction.
        with ctx.session.begin_nested():
            auth = _issue(ctx, rx, patient, decision, today)
    except LostRace as lost:
        raise refuse(ctx, "authorization.refused", "prescription", rx.id, patient.id,
                     single_reason(decision, lost.reason),
                     "The prescription cannot be marked dispensable.") from None
    auth.signature_key_id, auth.signature_hmac = sign(ctx.signature_keys, "authorization",
                                                      authorization_fields(auth))
    ctx.session.flush()
    ctx.session.refresh(rx)
    record_event(ctx, "authorization.issued", "authorization", auth.number,
                 patient_id=patient.id,
                 new={"prescription_id": rx.id, "rule_set": auth.rule_set,
                      "issued_on": today, "do_not_dispense_after": auth.do_not_dispense_after,
                      "used": decision.used})
    return auth


def printed_number(number: str) -> str | None:
    """An authorization number as printed (groups, upper case), or None when what was typed
    cannot be one."""
    printed = printed_code(number, AUTHORIZATION_GROUPS).upper()
    return printed if printed and len(printed) <= 20 else None


def authorization_by_number(ctx: Context, number: str) -> Authorization | None:
    printed = printed_number(number)
    if printed is None:
        return None
    return ctx.session.scalar(select(Authorization).where(Authorization.number == printed))


def _reversing_pharmacy_problems(ctx: Context, auth: Authorization, patient_id: int,
                                 date_of_birth: date | None, today: date) -> None:
    """RULES.md §8: pharmacy staff reverse only with the patient's birth date (a number alone
    reveals nothing and changes nothing, as at the lookup) and from an active pharmacy."""
    if date_of_birth is None:
        raise ValidationFailed({"date_of_birth": [
            "Give the patient's birth date: pharmacy staff reverse an authorization only with "
            "it."]})
    patient = ctx.session.get(Patient, patient_id)
    assert patient is not None
    if patient.date_of_birth != date_of_birth:
        counter_access.record_failure(ctx, counter_access.REVERSE_FAILED, auth.number, auth)
        raise NoMatch("no such authorization")
    pharmacy = ctx.session.get(Pharmacy, ctx.actor.pharmacy_id)
    assert pharmacy is not None
    problems = pharmacy_problems(pharmacy_facts(pharmacy), today, ctx.policy(today))
    if problems:
        message = "The pharmacy is not active. " + " ".join(problems)
        decision = Decision(False, ctx.policy(today).id, today,
                            (Reason(ReasonCode.PHARMACY_INACTIVE, message),), None,
                            auth.do_not_dispense_after, ())
        raise refuse(ctx, "authorization.reverse_refused", "authorization", auth.number,
                     patient_id, decision, "The authorization was not reversed.")


def reverse(ctx: Context, number: str, reason: str | None,
            date_of_birth: date | None = None) -> Prescription:
    """Undo an undispensed authorization (wrong entry, not picked up): the prescription goes
    back to pending; a new authorization will get a new number. Its prescriber may reverse it;
    pharmacy staff must give the patient's birth date and act from an active pharmacy."""
    if ctx.actor.role not in (Role.PRESCRIBER, Role.PHARMACIST):
        raise Forbidden("Only prescribers and pharmacy staff reverse authorizations.")
    if ctx.actor.role == Role.PHARMACIST and ctx.actor.pharmacy_id is None:
        raise Forbidden("Pharmacy staff reverse authorizations for their pharmacy.")
    at_counter = ctx.actor.role == Role.PHARMACIST
    if at_counter:
        counter_access.check_not_throttled(ctx, number)
    auth = authorization_by_number(ctx, number)
    if auth is None:
        if at_counter:
            counter_access.record_failure(ctx, counter_access.REVERSE_FAILED, number, None)
            raise NoMatch("no such authorization")
        raise NotFound("no such authorization")
    rx = ctx.session.get(Prescription, auth.prescription_id)
    assert rx is not None
    if ctx.actor.role == Role.PRESCRIBER and rx.prescriber_id != ctx.actor.user_id:
        raise NotFound("no such authorization")
    text = (reason or "").strip()
    if has_control_characters(text, multiline=True):
        raise ValidationFailed({"reason": [TEXT_MESSAGE]})
    if not text:
        raise ValidationFailed({"reason": ["Say why the authorization is reversed."]})
    if len(text) > REASON_MAX:
        raise ValidationFailed({"reason": [f"At most {REASON_MAX} characters."]})
    today = ctx.today()
    if date_of_birth is not None and date_of_birth > today:
        raise ValidationFailed({"date_of_birth": ["A birth date cannot be in the future."]})
    if at_counter:
        _reversing_pharmacy_problems(ctx, auth, rx.patient_id, date_of_birth, today)
    # Lock the prescription before the authorization, in the order dispense() updates them:
    # a reversal and a dispense of the same authorization at once would otherwise deadlock
    # (PostgreSQL aborts one of them with an error instead of a refusal).
    ctx.session.execute(select(Prescription.id).where(Prescription.id == rx.id)
                        .with_for_update())
    closed = rows_changed(ctx.session,
        update(Authorization)
        .where(Authorization.id == auth.id, Authorization.state == AuthorizationState.OPEN)
        .values(state=AuthorizationState.REVERSED, closed_at=ctx.now(),
                closed_by=ctx.actor.user_id, close_reason=text)
    )
    if closed != 1:
        ctx.session.refresh(auth)
        code = (ReasonCode.ALREADY_DISPENSED if auth.state == AuthorizationState.DISPENSED
                else ReasonCode.NOT_DISPENSABLE)
        message = ("A dispensed prescription cannot be reversed."
                   if code == ReasonCode.ALREADY_DISPENSED
                   else "This authorization is no longer open.")
        decision = Decision(False, auth.rule_set, today, (Reason(code, message),), None,
                            auth.do_not_dispense_after, ())
        raise refuse(ctx, "authorization.reverse_refused", "authorization", auth.number,
                     rx.patient_id, decision, message)
    ctx.session.execute(
        update(Prescription)
        .where(Prescription.id == rx.id,
               Prescription.status == PrescriptionStatus.DISPENSABLE)
        .values(status=PrescriptionStatus.PENDING)
    )
    ctx.session.flush()
    ctx.session.refresh(rx)
    record_event(ctx, "authorization.reversed", "authorization", auth.number,
                 patient_id=rx.patient_id, old={"state": "open"},
                 new={"state": "reversed", "prescription_status": "pending"}, reason=text)
    return rx
