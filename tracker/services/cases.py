"""The case of one prescription, as the hot paths read it with statements built once
(tracker.services.prepared): the prescription with its patient and prescriber in one row, or at
the pharmacy counter the authorization by its number with all of those, its dispense and the
acting pharmacy in one row; then the patient's history in one UNION ALL
(tracker.services.facts). Plain rows (tracker.services.rows), not ORM entities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from tracker.domain.facts import Case
from tracker.models import Authorization, Dispense, Patient, Pharmacy, Prescription, User
from tracker.services.facts import load_patient_facts, prescriber_facts, prescription_facts
from tracker.services.prepared import Prepared
from tracker.services.rows import (
    AuthorizationRow,
    CounterDispense,
    PatientRow,
    PharmacyRow,
    PrescriberRow,
    PrescriptionRow,
    columns_of,
)

_rx, _patients, _users, _auths, _dispenses, _pharmacies = (
    cast(Table, model.__table__)
    for model in (Prescription, Patient, User, Authorization, Dispense, Pharmacy))
_ROW_TYPES: tuple[tuple[type[Any], Any], ...] = (
    (PrescriptionRow, _rx), (PatientRow, _patients), (PrescriberRow, _users))
_CASE_COLUMNS = [column for row_type, table in _ROW_TYPES for column in columns_of(row_type, table)]
_CASE_FROM = (_rx.join(_patients, _patients.c.id == _rx.c.patient_id)
              .join(_users, _users.c.id == _rx.c.prescriber_id))

_PRESCRIPTION = Prepared(select(*_CASE_COLUMNS).select_from(_CASE_FROM)
                         .where(_rx.c.id == bindparam("prescription_id")))
# At the counter: the authorization by its number (unique index), everything the lookup and
# the dispense show or decide with, and the acting pharmacy (by its primary key).
_COUNTER = Prepared(
    select(*columns_of(AuthorizationRow, _auths), *_CASE_COLUMNS,
           *columns_of(CounterDispense, _dispenses), *columns_of(PharmacyRow, _pharmacies))
    .select_from(_auths.join(_CASE_FROM, _rx.c.id == _auths.c.prescription_id)
                 .outerjoin(_dispenses, _dispenses.c.prescription_id == _rx.c.id)
                 .outerjoin(_pharmacies, _pharmacies.c.id == bindparam("pharmacy_id")))
    .where(_auths.c.number == bindparam("number")))


def _split(values: tuple[Any, ...], *row_types: type[Any]) -> list[Any]:
    """Consecutive row values as one row of each type; a row whose values are all NULL (an
    outer join that found nothing) is None."""
    out: list[Any] = []
    start = 0
    for row_type in row_types:
        size = len(row_type.__dataclass_fields__)
        part = values[start:start + size]
        out.append(None if all(v is None for v in part) else row_type(*part))
        start += size
    return out


@dataclass(frozen=True, slots=True)
class PrescriptionCase:
    prescription: PrescriptionRow
    patient: PatientRow
    prescriber: PrescriberRow


@dataclass(frozen=True, slots=True)
class CounterCase(PrescriptionCase):
    authorization: AuthorizationRow
    dispense: CounterDispense | None
    pharmacy: PharmacyRow | None


def prescription_case(session: Session, prescription_id: int) -> PrescriptionCase | None:
    """The prescription with its patient and prescriber (one statement), or None."""
    found = _PRESCRIPTION.first(session, prescription_id=prescription_id)
    if found is None:
        return None
    return PrescriptionCase(*_split(found, PrescriptionRow, PatientRow, PrescriberRow))


def counter_case(session: Session, number: str, pharmacy_id: int | None) -> CounterCase | None:
    """The authorization of this (printed, upper-case) number with its prescription, patient,
    prescriber and dispense, and the pharmacy `pharmacy_id` (one statement); None when no
    authorization has the number."""
    found = _COUNTER.first(session, number=number, pharmacy_id=pharmacy_id)
    if found is None:
        return None
    auth, rx, patient, prescriber, dispense, pharmacy = _split(
        found, AuthorizationRow, PrescriptionRow, PatientRow, PrescriberRow, CounterDispense,
        PharmacyRow)
    return CounterCase(rx, patient, prescriber, auth, dispense, pharmacy)


def rules_case(session: Session, found: PrescriptionCase) -> Case:
    """The rules engine's case: the rows' facts and the patient's history (one statement)."""
    return Case(prescription=prescription_facts(found.prescription),
                patient=load_patient_facts(session, found.patient),
                prescriber=prescriber_facts(found.prescriber))


def load_counter_case(session: Session, number: str,
                      pharmacy_id: int | None) -> tuple[CounterCase, Case] | None:
    """counter_case, and the rules engine's case of its prescription (two statements)."""
    found = counter_case(session, number, pharmacy_id)
    return None if found is None else (found, rules_case(session, found))
