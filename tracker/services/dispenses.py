"""Dispenses: the pharmacy's lookup of an authorization, evaluated now and folded to what the
counter may see, and the dispense itself, recorded exactly once whatever the concurrency (a
conditional UPDATE with a row-count check, backed by one dispense per prescription)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError

from tracker.db import UTCDateTime
from tracker.domain.decision import Decision
from tracker.domain.facts import Case, OpenAuthorization, PrescriptionStatus
from tracker.domain.reasons import Reason, ReasonCode
from tracker.domain.rules import evaluate_dispense, fold_for_pharmacy
from tracker.models import (
    Authorization,
    AuthorizationState,
    Dispense,
    Prescription,
    Role,
)
from tracker.services import counter_access
from tracker.services.audit import record_event
from tracker.services.authorizations import AUTHORIZATION_GROUPS, printed_number
from tracker.services.cases import CounterCase, load_counter_case
from tracker.services.codes import printed_code
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NoMatch, NotFound, require
from tracker.services.facts import pharmacy_facts
from tracker.services.prepared import Prepared, update_loaded
from tracker.services.prescriptions import whole_number
from tracker.services.queries.dispense_history import (
    dispense_row,
    dispense_rows,
    own_pharmacy,
    within_period,
)
from tracker.services.refusals import LostRace, refuse, single_reason
from tracker.services.rows import (
    AuthorizationRow,
    CounterDispense,
    PatientRow,
    PrescriberRow,
    PrescriptionRow,
)
from tracker.services.text import as_text_cell


@dataclass(frozen=True)
class Lookup:
    """What the pharmacy sees: the prescription, who it is for, the folded decision."""

    prescription: PrescriptionRow
    patient: PatientRow
    prescriber: PrescriberRow
    authorization: AuthorizationRow
    decision: Decision
    dispense: CounterDispense | None


def counter_pharmacy_id(ctx: Context) -> int:
    """The acting pharmacy staff member's pharmacy; anybody else may not (Forbidden)."""
    if ctx.actor.role != Role.PHARMACIST or ctx.actor.pharmacy_id is None:
        raise Forbidden("Only pharmacy staff look up and dispense authorizations.")
    return ctx.actor.pharmacy_id


def open_authorization(auth: Authorization | AuthorizationRow) -> OpenAuthorization | None:
    if auth.state not in (AuthorizationState.OPEN, AuthorizationState.DISPENSED):
        return None
    return OpenAuthorization(auth.number, auth.prescription_id, auth.issued_on,
                             auth.do_not_dispense_after, auth.rule_set)


def _counter_decision(ctx: Context, found: CounterCase, case: Case, today: date) -> Decision:
    assert found.pharmacy is not None  # the acting user's own pharmacy
    return evaluate_dispense(case, today, ctx.rule_sets, pharmacy_facts(found.pharmacy),
                             open_authorization(found.authorization))


def lookup(ctx: Context, number: str, date_of_birth: date | None) -> Lookup:
    """The pharmacy's view of an authorization, evaluated now and folded to what the counter
    may see. The number and the birth date must both match; otherwise NotFound."""
    pharmacy_id = counter_pharmacy_id(ctx)
    # As typed, read out or scanned from the patient's QR code: one number, one throttle.
    number = printed_code(number, AUTHORIZATION_GROUPS).upper()
    counter_access.check_not_throttled(ctx, number)
    printed = printed_number(number)
    loaded = load_counter_case(ctx.session, printed, pharmacy_id) if printed else None
    if loaded is None or date_of_birth is None or (
            loaded[0].patient.date_of_birth != date_of_birth):
        counter_access.record_failure(ctx, counter_access.LOOKUP_FAILED, number,
                                      loaded[0].authorization if loaded else None)
        raise NoMatch("no such authorization")
    found, case = loaded
    counter_access.record_access(ctx, found.authorization)
    decision = _counter_decision(ctx, found, case, ctx.today())
    return Lookup(found.prescription, found.patient, found.prescriber, found.authorization,
                  fold_for_pharmacy(decision), found.dispense)


def dispense(ctx: Context, prescription_id: int, authorization_number: str, quantity: object,
             days_supply: object, medication_guide_given: object) -> CounterDispense:
    """RULES.md §8 "Dispensing": at most once, whatever the concurrency."""
    pharmacy_id = counter_pharmacy_id(ctx)
    printed = printed_number(authorization_number)
    loaded = load_counter_case(ctx.session, printed, pharmacy_id) if printed else None
    if loaded is None or loaded[0].authorization.prescription_id != prescription_id:
        raise NotFound("no such authorization for this prescription")
    found, case = loaded
    rx, patient, auth = found.prescription, found.patient, found.authorization
    errors: dict[str, list[str]] = {}
    qty = whole_number(errors, "quantity", quantity)
    if qty is not None and not 1 <= qty <= rx.quantity:
        errors.setdefault("quantity", []).append(
            f"The quantity is from 1 to the prescribed {rx.quantity}.")
    supply = whole_number(errors, "days_supply", days_supply)
    if supply is not None and not 1 <= supply <= rx.days_supply:
        errors.setdefault("days_supply", []).append(
            f"The days' supply is from 1 to the prescribed {rx.days_supply}.")
    if medication_guide_given is not True:
        errors.setdefault("medication_guide_given", []).append(
            "Hand the Medication Guide to the patient and confirm it.")
    require(errors)
    today = ctx.today()
    decision = _counter_decision(ctx, found, case, today)
    if not decision.dispensable:
        raise refuse(ctx, "dispense.refused", "prescription", rx.id, patient.id, decision,
                     "The prescription cannot be dispensed.")
    try:
        # Only this use case's own writes are undone when it loses the race (the savepoint).
        with ctx.session.begin_nested():
            row = _record_dispense(ctx, rx, auth, pharmacy_id, qty, supply, today)
    except LostRace as lost:
        raise refuse(ctx, "dispense.refused", "prescription", rx.id, patient.id,
                     single_reason(decision, lost.reason),
                     "The prescription has already been dispensed.") from None
    record_event(ctx, "dispense.recorded", "dispense", row.id, patient_id=patient.id,
                 new={"prescription_id": rx.id, "authorization": auth.number,
                      "pharmacy_id": pharmacy_id, "quantity": qty, "days_supply": supply,
                      "medication_guide_given": True, "rule_set": decision.rule_set})
    return row


# The once-only state changes of a dispense: whoever flips the status first wins.
_prescriptions, _authorizations = (cast(Table, Prescription.__table__),
                                   cast(Table, Authorization.__table__))
_FILL_PRESCRIPTION = Prepared(
    update(_prescriptions)
    .where(_prescriptions.c.id == bindparam("prescription_id"),
           _prescriptions.c.status == PrescriptionStatus.DISPENSABLE.value)
    .values(status=PrescriptionStatus.DISPENSED.value))
_CLOSE_AUTHORIZATION = Prepared(
    update(_authorizations)
    .where(_authorizations.c.id == bindparam("authorization_id"),
           _authorizations.c.state == AuthorizationState.OPEN.value)
    .values(state=AuthorizationState.DISPENSED.value,
            closed_at=bindparam("closed_at", type_=UTCDateTime()),
            closed_by=bindparam("closed_by", type_=Integer())))
_dispenses = cast(Table, Dispense.__table__)
_RECORD_DISPENSE = Prepared(
    insert(_dispenses).values({
        column.name: bindparam(column.name, type_=column.type) for column in _dispenses.c
        if column.name != "id"}).returning(_dispenses.c.id))


def _record_dispense(ctx: Context, rx: PrescriptionRow, auth: AuthorizationRow,
                     pharmacy_id: int, quantity: int | None, days_supply: int | None,
                     today: date) -> CounterDispense:
    """The writes of dispense(), run in its savepoint. The one place a dispense is decided:
    whoever flips the status first wins; everybody else finds zero rows and is told it was
    already dispensed."""
    already = Reason(ReasonCode.ALREADY_DISPENSED, "This prescription has already been dispensed.")
    moved = _FILL_PRESCRIPTION.rowcount(ctx.session, prescription_id=rx.id)
    closing = {"closed_at": ctx.now(), "closed_by": ctx.actor.user_id}
    closed = _CLOSE_AUTHORIZATION.rowcount(
        ctx.session, authorization_id=auth.id, **closing) if moved == 1 else 0
    if moved != 1 or closed != 1:
        raise LostRace(already)
    update_loaded(ctx.session, Prescription, rx.id, status=PrescriptionStatus.DISPENSED)
    update_loaded(ctx.session, Authorization, auth.id, state=AuthorizationState.DISPENSED,
                  **closing)
    assert ctx.actor.user_id is not None and quantity is not None and days_supply is not None
    row = CounterDispense(0, rx.id, pharmacy_id, ctx.actor.user_id, ctx.now(), today, quantity,
                          days_supply)
    try:
        found = _RECORD_DISPENSE.first(
            ctx.session, prescription_id=rx.id, authorization_id=auth.id,
            patient_id=rx.patient_id, pharmacy_id=pharmacy_id, pharmacist_id=row.pharmacist_id,
            dispensed_at=row.dispensed_at, dispensed_on=today, quantity=quantity,
            days_supply=days_supply, medication_guide_given=True)
    except IntegrityError:
        raise LostRace(already) from None
    assert found is not None
    return replace(row, id=found[0])


CSV_COLUMNS = (
    "dispensed_at", "program_date", "prescription_number", "authorization_number",
    "patient_last_name", "patient_first_name", "patient_date_of_birth", "quantity",
    "days_supply", "medication_guide_given", "pharmacist", "prescriber", "prescriber_npi",
)
def export_csv(ctx: Context, date_from: date | None = None,
               date_to: date | None = None) -> tuple[str, int]:
    """The pharmacy's dispenses as CSV (oldest first), and how many rows it holds. Times are in
    the program time zone. The export is audited: it carries patient names off the system."""
    pharmacy = own_pharmacy(ctx)
    stmt = within_period(dispense_rows(pharmacy.id), date_from, date_to)
    stmt = stmt.order_by(Dispense.dispensed_at, Dispense.id)
    zone = ZoneInfo(ctx.program_timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for found in ctx.session.execute(stmt.execution_options(yield_per=500)):
        row = dispense_row(found)
        d = row.dispense
        writer.writerow([as_text_cell(v) for v in (
            d.dispensed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            d.dispensed_on.isoformat(), row.prescription_number, row.authorization_number,
            row.patient_last_name, row.patient_first_name,
            row.patient_date_of_birth.isoformat(), d.quantity, d.days_supply,
            "yes" if d.medication_guide_given else "no", row.pharmacist_name,
            row.prescriber_name, row.prescriber_npi or "",
        )])
        count += 1
    record_event(ctx, "dispenses.exported", "pharmacy", pharmacy.id,
                 new={"date_from": date_from, "date_to": date_to, "rows": count})
    return out.getvalue(), count
