"""Possible duplicates, found before a page stores an entry: a patient registered twice, or
the same record entered twice on one day. They are warnings, not rules: the person entering
can go ahead (twins share a birth date; two tests on one day happen), so the API stores what
it is sent and only the pages ask first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select

from tracker.domain.facts import RecordKind
from tracker.models import ContraceptionEntry, Counseling, Patient, PregnancyTest
from tracker.services.care_team import prescriber_for_new_patient
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed
from tracker.services.patients import own_patient

# The kinds a page checks, each with the columns that make two entries the same.
_SAME_DAY_MODELS: dict[RecordKind, Any] = {
    RecordKind.COUNSELING: Counseling,
    RecordKind.PREGNANCY_TEST: PregnancyTest,
    RecordKind.CONTRACEPTION: ContraceptionEntry,
}


def _name_key(name: str) -> str:
    """A name as compared: capitals and spaces do not make a different person."""
    return "".join((name or "").split()).casefold()


def possible_duplicate_patients(ctx: Context, first_name: str, last_name: str,
                                date_of_birth: date | None,
                                prescriber_npi: str | None = None) -> list[Patient]:
    """The patients of the prescriber a registration would go to (as register_patient chooses
    them) with the same name and birth date. Empty when the prescriber cannot be chosen: the
    registration itself then says why."""
    if date_of_birth is None or not _name_key(first_name) or not _name_key(last_name):
        return []
    try:
        prescriber = prescriber_for_new_patient(ctx, prescriber_npi)
    except ValidationFailed:
        return []
    same_birth = ctx.session.scalars(
        select(Patient).where(Patient.prescriber_id == prescriber.id,
                              Patient.date_of_birth == date_of_birth).order_by(Patient.id))
    wanted = (_name_key(first_name), _name_key(last_name))
    return [p for p in same_birth if (_name_key(p.first_name), _name_key(p.last_name)) == wanted]


def same_day_record(ctx: Context, patient_id: int, kind: RecordKind,
                    values: Mapping[str, Any]) -> Any | None:
    """The patient's current record of `kind` whose columns hold exactly `values` (its date
    among them), or None. A corrected (superseded) version does not count."""
    model = _SAME_DAY_MODELS[kind]
    patient = own_patient(ctx, patient_id)
    query = select(model).where(model.patient_id == patient.id, model.superseded.is_(False))
    for column, value in values.items():
        if value is None:
            return None
        query = query.where(getattr(model, column) == value)
    return ctx.session.scalars(query.order_by(model.id).limit(1)).first()
