"""Prescriptions: writing them (the prescriber, or their staff drafting one for the prescriber's
signature), finding those the acting user works on, and checking whether one
could be marked dispensable (a read: the same engine call as authorize())."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tracker.domain.decision import Decision
from tracker.domain.facts import PrescriptionStatus
from tracker.domain.policy import Policy
from tracker.domain.rules import evaluate
from tracker.domain.validation import days_supply_error, refills_error
from tracker.models import Authorization, AuthorizationState, Prescription
from tracker.services.audit import record_event
from tracker.services.care_team import prescribers_in_reach
from tracker.services.cases import prescription_case, rules_case
from tracker.services.codes import random_code
from tracker.services.context import Context
from tracker.services.errors import NotFound, ValidationFailed, require
from tracker.services.patients import check_clinical_date, own_patient

QUANTITY_MAX = 1000
def new_prescription_number() -> str:
    """60 random bits, like an authorization number: at national scale a collision (a unique-key
    error) stays out of reach."""
    return "RX-" + random_code(3)


def whole_number(errors: dict[str, list[str]], field: str, value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.setdefault(field, []).append("Give a whole number.")
        return None
    return value


def check_prescription_values(errors: dict[str, list[str]], days_supply: object,
                              quantity: object, refills: object,
                              policy: Policy) -> tuple[int | None, int | None]:
    """RULES.md §8: a days' supply of 1-30, a quantity, no refills; returns supply and
    quantity."""
    supply = whole_number(errors, "days_supply", days_supply)
    if supply is not None and (problem := days_supply_error(supply, policy)):
        errors.setdefault("days_supply", []).append(problem)
    qty = whole_number(errors, "quantity", quantity)
    if qty is not None and not 1 <= qty <= QUANTITY_MAX:
        errors.setdefault("quantity", []).append(
            f"The quantity is a whole number from 1 to {QUANTITY_MAX}.")
    fills = whole_number(errors, "refills", refills)
    if fills is not None and (problem := refills_error(fills, policy)):
        errors.setdefault("refills", []).append(problem)
    return supply, qty


def write_prescription(ctx: Context, patient_id: int, written_on: date | None,
                       days_supply: object, quantity: object, refills: object = 0) -> Prescription:
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    policy = ctx.policy(ctx.today())
    check_clinical_date(errors, "written_on", written_on, ctx.today(), patient.date_of_birth)
    supply, qty = check_prescription_values(errors, days_supply, quantity, refills, policy)
    require(errors)
    # The prescription is the patient's prescriber's, whoever drafts it (staff draft it for
    # the prescriber's signature).
    rx = Prescription(number=new_prescription_number(), patient_id=patient.id,
                      prescriber_id=patient.prescriber_id, written_by=ctx.actor.user_id,
                      written_on=written_on,
                      days_supply=supply, quantity=qty, refills=0,
                      status=PrescriptionStatus.PENDING, created_at=ctx.now())
    ctx.session.add(rx)
    ctx.session.flush()
    record_event(ctx, "prescription.written", "prescription", rx.id, patient_id=patient.id,
                 new={"number": rx.number, "written_on": written_on, "days_supply": supply,
                      "quantity": qty})
    return rx


def own_prescription(ctx: Context, prescription_id: int) -> Prescription:
    """The prescription, if the acting user works on its prescriber's patients (care_team);
    otherwise NotFound."""
    in_reach = prescribers_in_reach(ctx)
    rx = ctx.session.get(Prescription, prescription_id)
    if rx is None or rx.prescriber_id not in in_reach:
        raise NotFound("no such prescription")
    return rx


def current_authorization(ctx: Context, prescription_id: int) -> Authorization | None:
    """The prescription's live authorization (open or dispensed), if any."""
    return ctx.session.scalar(
        select(Authorization)
        .where(Authorization.prescription_id == prescription_id,
               Authorization.state.in_([AuthorizationState.OPEN,
                                        AuthorizationState.DISPENSED]))
        .order_by(Authorization.id.desc())
        .limit(1)
    )


def eligibility(ctx: Context, prescription_id: int, as_of: date | None = None) -> Decision:
    """Whether the prescription could be marked dispensable on `as_of` (default: today). Reads
    only; the same engine call as authorize(). The prescription is read once, with its patient
    and prescriber, and whether the acting user works on it is checked on that row."""
    in_reach = prescribers_in_reach(ctx)
    found = prescription_case(ctx.session, prescription_id)
    if found is None or found.prescription.prescriber_id not in in_reach:
        raise NotFound("no such prescription")
    today = ctx.today()
    on = as_of or today
    first = ctx.rule_sets[0].in_force_from
    if not first <= on <= today:
        # Before the first rule set there are no rules to apply; the future has no records.
        raise ValidationFailed({"as_of": [
            f"Give a date from {first.isoformat()} (the first rule set) to today."]})
    return evaluate(rules_case(ctx.session, found), on, ctx.policy(on))
