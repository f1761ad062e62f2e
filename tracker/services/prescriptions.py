"""Prescriptions: writing them, checking eligibility, marking them dispensable (authorization),
reversing, looking them up at the pharmacy and dispensing them exactly once.

Every decision is made by the rules engine inside the same transaction as the write it allows.
State changes that must happen once are conditional UPDATEs with a row-count check, backed by
unique constraints (one dispense per prescription, one open authorization per patient)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tracker.domain.decision import Decision
from tracker.domain.facts import OpenAuthorization, PrescriptionStatus
from tracker.domain.reasons import Reason, ReasonCode
from tracker.domain.rules import evaluate, evaluate_dispense, fold_for_pharmacy
from tracker.domain.validation import days_supply_error, refills_error
from tracker.models import (
    Authorization,
    AuthorizationState,
    Dispense,
    Patient,
    Pharmacy,
    Prescription,
    Role,
    User,
)
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, Refused, ValidationFailed, require
from tracker.services.facts import load_case, pharmacy_facts
from tracker.services.patients import check_clinical_date, own_patient
from tracker.services.signatures import sign
from tracker.services.text import MESSAGE as TEXT_MESSAGE
from tracker.services.text import has_control_characters

QUANTITY_MAX = 1000
REASON_MAX = 500
# Crockford's base32 without I, L, O, U: nothing to misread when read out over the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _random_code(groups: int) -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(groups))


def new_authorization_number() -> str:
    """Random and unguessable (60 bits): knowing one number says nothing of another."""
    return _random_code(3)


def new_prescription_number() -> str:
    """60 random bits, like an authorization number: at national scale a collision (a unique-key
    error) stays out of reach."""
    return "RX-" + _random_code(3)


@dataclass(frozen=True)
class Lookup:
    """What the pharmacy sees: the prescription, who it is for, the folded decision."""

    prescription: Prescription
    patient: Patient
    prescriber: User
    authorization: Authorization
    decision: Decision
    dispense: Dispense | None


def _int(errors: dict[str, list[str]], field: str, value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.setdefault(field, []).append("Give a whole number.")
        return None
    return value


def write_prescription(ctx: Context, patient_id: int, written_on: date | None,
                       days_supply: object, quantity: object, refills: object = 0) -> Prescription:
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    policy = ctx.policy(ctx.today())
    check_clinical_date(errors, "written_on", written_on, ctx.today(), patient.date_of_birth)
    supply = _int(errors, "days_supply", days_supply)
    if supply is not None and (problem := days_supply_error(supply, policy)):
        errors.setdefault("days_supply", []).append(problem)
    qty = _int(errors, "quantity", quantity)
    if qty is not None and not 1 <= qty <= QUANTITY_MAX:
        errors.setdefault("quantity", []).append(
            f"The quantity is a whole number from 1 to {QUANTITY_MAX}.")
    fills = _int(errors, "refills", refills)
    if fills is not None and (problem := refills_error(fills, policy)):
        errors.setdefault("refills", []).append(problem)
    require(errors)
    rx = Prescription(number=new_prescription_number(), patient_id=patient.id,
                      prescriber_id=ctx.actor.user_id, written_on=written_on,
                      days_supply=supply, quantity=qty, refills=0,
                      status=PrescriptionStatus.PENDING.value, created_at=ctx.now())
    ctx.session.add(rx)
    ctx.session.flush()
    record_event(ctx, "prescription.written", "prescription", rx.id, patient_id=patient.id,
                 new={"number": rx.number, "written_on": written_on, "days_supply": supply,
                      "quantity": qty})
    return rx


def own_prescription(ctx: Context, prescription_id: int) -> Prescription:
    if ctx.actor.role != Role.PRESCRIBER:
        raise Forbidden("Only prescribers manage prescriptions.")
    rx = ctx.session.get(Prescription, prescription_id)
    if rx is None or rx.prescriber_id != ctx.actor.user_id:
        raise NotFound("no such prescription")
    return rx


def current_authorization(ctx: Context, prescription_id: int) -> Authorization | None:
    """The prescription's live authorization (open or dispensed), if any."""
    return ctx.session.scalar(
        select(Authorization)
        .where(Authorization.prescription_id == prescription_id,
               Authorization.state.in_([AuthorizationState.OPEN.value,
                                        AuthorizationState.DISPENSED.value]))
        .order_by(Authorization.id.desc())
        .limit(1)
    )


def eligibility(ctx: Context, prescription_id: int, as_of: date | None = None) -> Decision:
    """Whether the prescription could be marked dispensable on `as_of` (default: today). Reads
    only; the same engine call as authorize()."""
    own_prescription(ctx, prescription_id)
    today = ctx.today()
    on = as_of or today
    first = ctx.rule_sets[0].in_force_from
    if not first <= on <= today:
        # Before the first rule set there are no rules to apply; the future has no records.
        raise ValidationFailed({"as_of": [
            f"Give a date from {first.isoformat()} (the first rule set) to today."]})
    loaded = load_case(ctx.session, prescription_id)
    assert loaded is not None
    return evaluate(loaded[3], on, ctx.policy(on))


def _refuse(ctx: Context, action: str, object_type: str, object_id: object, patient_id: int,
            decision: Decision, message: str) -> Refused:
    """Audit a refusal with every reason; pharmacy staff are answered with the folded decision
    (API.md "minimum necessary")."""
    record_event(ctx, action, object_type, object_id, patient_id=patient_id,
                 new={"rule_set": decision.rule_set, "as_of": decision.as_of,
                      "unmet": [r.code.value for r in decision.unmet]})
    shown = fold_for_pharmacy(decision) if ctx.actor.role == Role.PHARMACIST else decision
    return Refused(shown, message)


def _single_reason(decision_base: Decision, reason: Reason) -> Decision:
    return Decision(False, decision_base.rule_set, decision_base.as_of, (reason,),
                    decision_base.window, decision_base.do_not_dispense_after, ())


def authorization_fields(auth: Authorization) -> dict[str, object]:
    """What the prescriber's e-signature on an authorization covers."""
    return {
        "id": auth.id, "number": auth.number, "prescription_id": auth.prescription_id,
        "patient_id": auth.patient_id, "issued_on": auth.issued_on,
        "issued_at": auth.issued_at.isoformat(timespec="microseconds"),
        "issued_by": auth.issued_by, "do_not_dispense_after": auth.do_not_dispense_after,
        "rule_set": auth.rule_set, "meaning": "authorized for dispensing",
    }


class _LostRace(Exception):
    """A conditional write found the state another transaction had just changed."""

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(reason.message)


def _issue(ctx: Context, rx: Prescription, patient: Patient, decision: Decision,
           today: date) -> Authorization:
    """The writes of authorize(), run in its savepoint."""
    # Close this patient's open authorizations that expired unused, so the one-open index
    # admits the new one (the engine already ignores them). Each closing is audited.
    lapsed = ctx.session.execute(
        update(Authorization)
        .where(Authorization.patient_id == patient.id,
               Authorization.state == AuthorizationState.OPEN.value,
               Authorization.do_not_dispense_after < today)
        .values(state=AuthorizationState.LAPSED.value, closed_at=ctx.now(),
                close_reason="expired unused")
        .returning(Authorization.number, Authorization.do_not_dispense_after)
    ).all()
    for number, last_day in lapsed:
        record_event(ctx, "authorization.lapsed", "authorization", number,
                     patient_id=patient.id, old={"state": "open"},
                     new={"state": "lapsed", "do_not_dispense_after": last_day},
                     reason="expired unused; closed when a new authorization was issued")
    moved = ctx.session.execute(
        update(Prescription)
        .where(Prescription.id == rx.id, Prescription.status == PrescriptionStatus.PENDING.value)
        .values(status=PrescriptionStatus.DISPENSABLE.value)
    ).rowcount
    if moved != 1:
        raise _LostRace(Reason(ReasonCode.PRESCRIPTION_NOT_PENDING,
                               "The prescription is no longer pending."))
    auth = Authorization(
        number=new_authorization_number(), prescription_id=rx.id, patient_id=patient.id,
        state=AuthorizationState.OPEN.value, issued_on=today, issued_at=ctx.now(),
        issued_by=ctx.actor.user_id, do_not_dispense_after=decision.do_not_dispense_after,
        rule_set=decision.rule_set, decision_used=json.dumps(list(map(list, decision.used))),
        signature_hmac="pending",
    )
    ctx.session.add(auth)
    try:
        ctx.session.flush()
    except IntegrityError:
        # Another authorization for this patient was committed in the meantime.
        raise _LostRace(Reason(
            ReasonCode.OTHER_AUTHORIZATION_ACTIVE,
            "Another authorization for this patient was issued at the same time.")) from None
    return auth


def authorize(ctx: Context, prescription_id: int) -> Authorization:
    """RULES.md §8 "Marking dispensable": every rule on today's program date; on success an
    authorization with a random number and its do-not-dispense-after date."""
    rx = own_prescription(ctx, prescription_id)
    today = ctx.today()
    policy = ctx.policy(today)
    loaded = load_case(ctx.session, rx.id)
    assert loaded is not None
    _, patient, _, case = loaded
    decision = evaluate(case, today, policy)
    if not decision.dispensable:
        raise _refuse(ctx, "authorization.refused", "prescription", rx.id, patient.id, decision,
                      "The prescription cannot be marked dispensable.")
    try:
        # The writes below are this use case's own: a refusal undoes them (the savepoint) and
        # nothing else of the caller's transaction.
        with ctx.session.begin_nested():
            auth = _issue(ctx, rx, patient, decision, today)
    except _LostRace as lost:
        raise _refuse(ctx, "authorization.refused", "prescription", rx.id, patient.id,
                      _single_reason(decision, lost.reason),
                      "The prescription cannot be marked dispensable.") from None
    auth.signature_hmac = sign(ctx.signature_key, "authorization", authorization_fields(auth))
    ctx.session.flush()
    ctx.session.refresh(rx)
    record_event(ctx, "authorization.issued", "authorization", auth.number,
                 patient_id=patient.id,
                 new={"prescription_id": rx.id, "rule_set": auth.rule_set,
                      "issued_on": today, "do_not_dispense_after": auth.do_not_dispense_after,
                      "used": decision.used})
    return auth


def _authorization_by_number(ctx: Context, number: str) -> Authorization | None:
    number = (number or "").strip().upper()
    if not number or len(number) > 20:
        return None
    return ctx.session.scalar(select(Authorization).where(Authorization.number == number))


def reverse(ctx: Context, number: str, reason: str | None) -> Prescription:
    """Undo an undispensed authorization (wrong entry, not picked up): the prescription goes
    back to pending; a new authorization will get a new number."""
    if ctx.actor.role not in (Role.PRESCRIBER, Role.PHARMACIST):
        raise Forbidden("Only prescribers and pharmacy staff reverse authorizations.")
    auth = _authorization_by_number(ctx, number)
    if auth is None:
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
    # Lock the prescription before the authorization, in the order dispense() updates them:
    # a reversal and a dispense of the same authorization at once would otherwise deadlock
    # (PostgreSQL aborts one of them with an error instead of a refusal).
    ctx.session.execute(select(Prescription.id).where(Prescription.id == rx.id)
                        .with_for_update())
    closed = ctx.session.execute(
        update(Authorization)
        .where(Authorization.id == auth.id, Authorization.state == AuthorizationState.OPEN.value)
        .values(state=AuthorizationState.REVERSED.value, closed_at=ctx.now(),
                closed_by=ctx.actor.user_id, close_reason=text)
    ).rowcount
    if closed != 1:
        ctx.session.refresh(auth)
        code = (ReasonCode.ALREADY_DISPENSED if auth.state == AuthorizationState.DISPENSED
                else ReasonCode.NOT_DISPENSABLE)
        message = ("A dispensed prescription cannot be reversed."
                   if code == ReasonCode.ALREADY_DISPENSED
                   else "This authorization is no longer open.")
        decision = Decision(False, auth.rule_set, today, (Reason(code, message),), None,
                            auth.do_not_dispense_after, ())
        raise _refuse(ctx, "authorization.reverse_refused", "authorization", auth.number,
                      rx.patient_id, decision, message)
    ctx.session.execute(
        update(Prescription)
        .where(Prescription.id == rx.id,
               Prescription.status == PrescriptionStatus.DISPENSABLE.value)
        .values(status=PrescriptionStatus.PENDING.value)
    )
    ctx.session.flush()
    ctx.session.refresh(rx)
    record_event(ctx, "authorization.reversed", "authorization", auth.number,
                 patient_id=rx.patient_id, old={"state": "open"},
                 new={"state": "reversed", "prescription_status": "pending"}, reason=text)
    return rx


def _pharmacist_pharmacy(ctx: Context) -> Pharmacy:
    if ctx.actor.role != Role.PHARMACIST or ctx.actor.pharmacy_id is None:
        raise Forbidden("Only pharmacy staff look up and dispense authorizations.")
    pharmacy = ctx.session.get(Pharmacy, ctx.actor.pharmacy_id)
    assert pharmacy is not None
    return pharmacy


def _open_authorization(auth: Authorization) -> OpenAuthorization | None:
    if auth.state not in (AuthorizationState.OPEN, AuthorizationState.DISPENSED):
        return None
    return OpenAuthorization(auth.number, auth.prescription_id, auth.issued_on,
                             auth.do_not_dispense_after, auth.rule_set)


def lookup(ctx: Context, number: str, date_of_birth: date | None) -> Lookup:
    """The pharmacy's view of an authorization, evaluated now and folded to what the counter
    may see. The number and the birth date must both match; otherwise NotFound."""
    pharmacy = _pharmacist_pharmacy(ctx)
    auth = _authorization_by_number(ctx, number)
    if auth is None or date_of_birth is None:
        raise NotFound("no such authorization")
    loaded = load_case(ctx.session, auth.prescription_id)
    assert loaded is not None
    rx, patient, prescriber, case = loaded
    if patient.date_of_birth != date_of_birth:
        raise NotFound("no such authorization")
    today = ctx.today()
    decision = evaluate_dispense(case, today, ctx.policy(today), pharmacy_facts(pharmacy),
                                 _open_authorization(auth))
    dispense = ctx.session.scalar(select(Dispense).where(Dispense.prescription_id == rx.id))
    return Lookup(rx, patient, prescriber, auth, fold_for_pharmacy(decision), dispense)


def dispense(ctx: Context, prescription_id: int, authorization_number: str, quantity: object,
             days_supply: object, medication_guide_given: object) -> Dispense:
    """RULES.md §8 "Dispensing": at most once, whatever the concurrency."""
    pharmacy = _pharmacist_pharmacy(ctx)
    auth = _authorization_by_number(ctx, authorization_number)
    if auth is None or auth.prescription_id != prescription_id:
        raise NotFound("no such authorization for this prescription")
    loaded = load_case(ctx.session, prescription_id)
    assert loaded is not None
    rx, patient, _, case = loaded
    errors: dict[str, list[str]] = {}
    qty = _int(errors, "quantity", quantity)
    if qty is not None and not 1 <= qty <= rx.quantity:
        errors.setdefault("quantity", []).append(
            f"The quantity is from 1 to the prescribed {rx.quantity}.")
    supply = _int(errors, "days_supply", days_supply)
    if supply is not None and not 1 <= supply <= rx.days_supply:
        errors.setdefault("days_supply", []).append(
            f"The days' supply is from 1 to the prescribed {rx.days_supply}.")
    if medication_guide_given is not True:
        errors.setdefault("medication_guide_given", []).append(
            "Hand the Medication Guide to the patient and confirm it.")
    require(errors)
    today = ctx.today()
    decision = evaluate_dispense(case, today, ctx.policy(today), pharmacy_facts(pharmacy),
                                 _open_authorization(auth))
    if not decision.dispensable:
        raise _refuse(ctx, "dispense.refused", "prescription", rx.id, patient.id, decision,
                      "The prescription cannot be dispensed.")
    try:
        # Only this use case's own writes are undone when it loses the race (the savepoint).
        with ctx.session.begin_nested():
            row = _record_dispense(ctx, rx, auth, pharmacy, qty, supply, today)
    except _LostRace as lost:
        raise _refuse(ctx, "dispense.refused", "prescription", rx.id, patient.id,
                      _single_reason(decision, lost.reason),
                      "The prescription has already been dispensed.") from None
    record_event(ctx, "dispense.recorded", "dispense", row.id, patient_id=patient.id,
                 new={"prescription_id": rx.id, "authorization": auth.number,
                      "pharmacy_id": pharmacy.id, "quantity": qty, "days_supply": supply,
                      "medication_guide_given": True, "rule_set": decision.rule_set})
    return row


def _record_dispense(ctx: Context, rx: Prescription, auth: Authorization, pharmacy: Pharmacy,
                     quantity: int | None, days_supply: int | None, today: date) -> Dispense:
    """The writes of dispense(), run in its savepoint. The one place a dispense is decided:
    whoever flips the status first wins; everybody else finds zero rows and is told it was
    already dispensed."""
    already = Reason(ReasonCode.ALREADY_DISPENSED, "This prescription has already been dispensed.")
    moved = ctx.session.execute(
        update(Prescription)
        .where(Prescription.id == rx.id,
               Prescription.status == PrescriptionStatus.DISPENSABLE.value)
        .values(status=PrescriptionStatus.DISPENSED.value)
    ).rowcount
    closed = ctx.session.execute(
        update(Authorization)
        .where(Authorization.id == auth.id, Authorization.state == AuthorizationState.OPEN.value)
        .values(state=AuthorizationState.DISPENSED.value, closed_at=ctx.now(),
                closed_by=ctx.actor.user_id)
    ).rowcount if moved == 1 else 0
    if moved != 1 or closed != 1:
        raise _LostRace(already)
    row = Dispense(prescription_id=rx.id, authorization_id=auth.id, patient_id=rx.patient_id,
                   pharmacy_id=pharmacy.id, pharmacist_id=ctx.actor.user_id,
                   dispensed_at=ctx.now(), dispensed_on=today, quantity=quantity,
                   days_supply=days_supply, medication_guide_given=True)
    ctx.session.add(row)
    try:
        ctx.session.flush()
    except IntegrityError:
        raise _LostRace(already) from None
    return row
