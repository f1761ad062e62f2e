"""A pharmacy's dispenses: the counter's history, one page at a time, one dispense's record, and
a CSV export for the pharmacy's own books. Pharmacy staff see only their own pharmacy's
dispenses, and only what dispensing needs (no clinical record of the patient)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from tracker.models import Authorization, Dispense, Patient, Pharmacy, Prescription, Role, User
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, ValidationFailed
from tracker.services.paging import PER_PAGE, Page, paginate
from tracker.services.pharmacies import PharmacyStanding, standing
from tracker.services.rows import CounterDispense


@dataclass(frozen=True)
class DispenseRow:
    """One dispense with what the counter needs to recognise it."""

    dispense: Dispense
    prescription_number: str
    authorization_number: str
    patient_first_name: str
    patient_last_name: str
    patient_date_of_birth: date
    pharmacist_name: str
    prescriber_name: str
    prescriber_npi: str | None
    pharmacy: Pharmacy


def own_pharmacy(ctx: Context) -> Pharmacy:
    """The acting pharmacy staff member's pharmacy."""
    if ctx.actor.role != Role.PHARMACIST or ctx.actor.pharmacy_id is None:
        raise Forbidden("Only pharmacy staff see their pharmacy's dispenses.")
    pharmacy = ctx.session.get(Pharmacy, ctx.actor.pharmacy_id)
    if pharmacy is None:
        raise NotFound("no such pharmacy")
    return pharmacy


def counter_standing(ctx: Context) -> PharmacyStanding:
    """Whether the counter's pharmacy may dispense today, and what it must renew."""
    return standing(ctx, own_pharmacy(ctx))


@dataclass(frozen=True)
class DispensedBy:
    pharmacist_name: str
    pharmacy: Pharmacy


def dispensed_by(ctx: Context, dispense: Dispense | CounterDispense) -> DispensedBy:
    """Who recorded a dispense and where, for "already dispensed on … by …" at any counter."""
    own_pharmacy(ctx)
    pharmacist = ctx.session.get(User, dispense.pharmacist_id)
    pharmacy = ctx.session.get(Pharmacy, dispense.pharmacy_id)
    assert pharmacist is not None and pharmacy is not None
    return DispensedBy(pharmacist.name, pharmacy)


def dispense_rows(pharmacy_id: int) -> Select[*tuple[Any, ...]]:
    pharmacist = aliased(User)
    prescriber = aliased(User)
    return (
        select(Dispense, Prescription.number, Authorization.number, Patient.first_name,
               Patient.last_name, Patient.date_of_birth, pharmacist.name, prescriber.name,
               prescriber.npi, Pharmacy)
        .join(Prescription, Prescription.id == Dispense.prescription_id)
        .join(Authorization, Authorization.id == Dispense.authorization_id)
        .join(Patient, Patient.id == Dispense.patient_id)
        .join(pharmacist, pharmacist.id == Dispense.pharmacist_id)
        .join(prescriber, prescriber.id == Prescription.prescriber_id)
        .join(Pharmacy, Pharmacy.id == Dispense.pharmacy_id)
        .where(Dispense.pharmacy_id == pharmacy_id)
    )


def dispense_row(found: Any) -> DispenseRow:
    return DispenseRow(*found)


def within_period(stmt: Select[Any], date_from: date | None, date_to: date | None) -> Select[Any]:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationFailed({"date_to": ["The end date cannot be before the start date."]})
    if date_from is not None:
        stmt = stmt.where(Dispense.dispensed_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Dispense.dispensed_on <= date_to)
    return stmt


def list_dispenses(ctx: Context, page: int = 1, date_from: date | None = None,
                   date_to: date | None = None, per_page: int = PER_PAGE) -> Page[DispenseRow]:
    """The pharmacy's dispenses, newest first, optionally between two program dates."""
    pharmacy = own_pharmacy(ctx)
    stmt = within_period(dispense_rows(pharmacy.id), date_from, date_to)
    stmt = stmt.order_by(Dispense.dispensed_at.desc(), Dispense.id.desc())
    return paginate(ctx.session, stmt, page, per_page, row=dispense_row)


def get_dispense(ctx: Context, dispense_id: int) -> DispenseRow:
    """One dispense of the pharmacy; another pharmacy's is not found."""
    pharmacy = own_pharmacy(ctx)
    found = ctx.session.execute(
        dispense_rows(pharmacy.id).where(Dispense.id == dispense_id)).one_or_none()
    if found is None:
        raise NotFound("no such dispense")
    return dispense_row(found)
