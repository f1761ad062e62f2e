"""Plain rows of the hot paths (the eligibility check, the pharmacy lookup, the dispense): the
columns those requests read, as immutable values instead of ORM entities, which cost more to
build than the database takes to find them. Each row type lists its columns in the order of
its fields (tracker.services.cases selects them in that order)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Table

from tracker.domain.facts import Category, PrescriptionStatus
from tracker.models import AuthorizationState, Role


def columns_of(row_type: type[Any], table: Table) -> list[Column[Any]]:
    """The table's columns named by the row type's fields, in their order."""
    return [table.c[field.name] for field in fields(row_type)]


@dataclass(frozen=True, slots=True)
class PrescriptionRow:
    id: int
    number: str
    patient_id: int
    prescriber_id: int
    written_on: date
    days_supply: int
    quantity: int
    refills: int
    status: PrescriptionStatus


@dataclass(frozen=True, slots=True)
class PatientRow:
    id: int
    first_name: str
    last_name: str
    date_of_birth: date
    category: Category


@dataclass(frozen=True, slots=True)
class PrescriberRow:
    id: int
    name: str
    npi: str | None
    role: Role
    active: bool
    home_testing_permitted: bool


@dataclass(frozen=True, slots=True)
class AuthorizationRow:
    id: int
    number: str
    prescription_id: int
    patient_id: int
    state: AuthorizationState
    issued_on: date
    do_not_dispense_after: date | None
    rule_set: str
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CounterDispense:
    id: int
    prescription_id: int
    pharmacy_id: int
    pharmacist_id: int
    dispensed_at: datetime
    dispensed_on: date
    quantity: int
    days_supply: int


@dataclass(frozen=True, slots=True)
class PharmacyRow:
    id: int
    activated_on: date
    trained_on: date | None
