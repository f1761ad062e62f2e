"""Whether a patient's REMS requirements are met, for a system that asks from outside (an EHR,
a pharmacy system): find the patient the caller names, if the caller may see them, and read
the engine's decision on the next fill, as the patient page does. Nothing is decided here.

Who may find whom is `_scope`, the one place a role is given patients to look up:

- a prescriber finds their own patients;
- pharmacy staff find any patient (they fill prescriptions from every prescriber) but only by
  a case number or an exact name and birth date, and get the minimum-necessary view of API.md:
  the decision folded by `fold_for_pharmacy`, no checklist;
- a registered system acting for named prescribers (a CDS Hooks client, tracker.fhir.cds)
  finds those prescribers' patients;
- any other role finds nobody.

A patient the caller may not see is answered exactly like one who does not exist. Pharmacy
staff, who may name any patient, are throttled as at the counter (tracker.services.
counter_access): failed look-ups count with the user's failed authorization look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, func, select, true

from tracker.domain.decision import Decision
from tracker.domain.facts import OpenAuthorization
from tracker.domain.next_steps import Requirement
from tracker.domain.rules import fold_for_pharmacy
from tracker.models import Patient, Prescription, Role
from tracker.services.audit import record_event
from tracker.services.care_team import is_clinic_role, prescribers_in_reach
from tracker.services.context import Context
from tracker.services.counter_access import ETASU_LOOKUP_FAILED, check_user_not_throttled
from tracker.services.facts import load_patient_facts
from tracker.services.queries.worklist import _unreported_positives, outlook_of, summary_of

CASE_NUMBER_MAX = 20
NAME_MAX = 100
LOOKED_UP = "rems.status_read"
NOT_FOUND = ETASU_LOOKUP_FAILED


@dataclass(frozen=True)
class PatientQuery:
    """How the caller names the patient: a case number, or given and family name and birth
    date. With a case number, a name and birth date sent as well must agree with it."""

    case_number: str | None
    given: tuple[str, ...]
    family: str | None
    born: date | None


@dataclass(frozen=True)
class RemsStatus:
    """The decision on the patient's next fill as the caller may see it. `checklist` is empty
    and `decision` folded when `folded` (pharmacy staff)."""

    patient: Patient
    case_number: str
    today: date
    folded: bool
    decision: Decision
    checklist: tuple[Requirement, ...]
    open_authorization: OpenAuthorization | None


def _scope(ctx: Context, for_prescribers: Sequence[int] | None) -> ColumnElement[bool] | None:
    """The patients the acting user may look up, as a condition; None: nobody."""
    if for_prescribers is not None:  # a registered system, never a signed-in person
        return Patient.prescriber_id.in_(for_prescribers) if ctx.actor.user_id is None else None
    role = ctx.actor.role
    if is_clinic_role(role):  # a prescriber, their own; staff, their prescribers' (API.md)
        return Patient.prescriber_id.in_(prescribers_in_reach(ctx))
    if role == Role.PHARMACIST:
        return true()
    return None


def _folded(ctx: Context) -> bool:
    """Whether the caller gets the minimum-necessary view (API.md) rather than the checklist."""
    return ctx.actor.role == Role.PHARMACIST


def _name(text: str) -> str:
    """A name as it is compared: case and spacing aside."""
    return " ".join(text.split()).casefold()


def _names_agree(patient: Patient, query: PatientQuery) -> bool:
    if query.born is not None and patient.date_of_birth != query.born:
        return False
    if query.family is not None and _name(patient.last_name) != _name(
            query.family):
        return False
    if not query.given:
        return True
    first = _name(patient.first_name)
    # EHRs send given names one by one ("Mary", "Ann") or together ("Mary Ann").
    return first in {_name(g) for g in query.given} or first == _name(
        " ".join(query.given))


def find_patient(ctx: Context, query: PatientQuery,
                 for_prescribers: Sequence[int] | None = None) -> Patient | None:
    """The one patient the caller may see that the query names, or None (none, or several:
    never a guess). `for_prescribers`: the caller is a system acting for these prescribers."""
    scope = _scope(ctx, for_prescribers)
    if scope is None:
        return None
    stmt = select(Patient).where(scope)
    if query.case_number:
        number = query.case_number.strip().upper()[:CASE_NUMBER_MAX]
        stmt = stmt.where(Patient.program_number == number)
    elif query.family and query.given and query.born is not None:
        stmt = stmt.where(func.lower(Patient.last_name) == query.family.strip().lower()[:NAME_MAX],
                          Patient.date_of_birth == query.born)
    else:
        return None
    found = [p for p in ctx.session.scalars(stmt.limit(10)) if _names_agree(p, query)]
    return found[0] if len(found) == 1 else None


def rems_status(ctx: Context, query: PatientQuery,
                for_prescribers: Sequence[int] | None = None) -> RemsStatus | None:
    """The decision on the next fill of the patient the query names, or None when the caller
    may see no such patient. Every look-up, found or not, is written to the audit trail.
    Throttled (raised) when pharmacy staff failed too many look-ups within the hour."""
    if _folded(ctx) and for_prescribers is None:
        check_user_not_throttled(ctx)
    patient = find_patient(ctx, query, for_prescribers)
    # A system has no user row: the event names it (the CDS client's issuer).
    system = {"system": ctx.actor.name} if for_prescribers is not None else {}
    if patient is None:
        record_event(ctx, NOT_FOUND, "patient", None, new={
            "by": "case_number" if query.case_number else "name_and_birth_date", **system})
        return None
    record_event(ctx, LOOKED_UP, "patient", patient.id, patient_id=patient.id,
                 new=system or None)
    facts = load_patient_facts(ctx.session, patient)
    rxs = ctx.session.scalars(select(Prescription).where(Prescription.patient_id == patient.id))
    unreported = _unreported_positives(ctx, [patient.id])[patient.id]
    seen = outlook_of(ctx, patient, facts, [summary_of(rx) for rx in rxs], unreported)
    today = seen.today
    open_auth = next((a for a in facts.open_authorizations
                      if a.issued_on <= today and (a.do_not_dispense_after is None
                                                   or a.do_not_dispense_after >= today)), None)
    decision = seen.outlook.decision
    if _folded(ctx) and for_prescribers is None:
        return RemsStatus(patient, patient.program_number, today, True,
                          fold_for_pharmacy(decision), (), open_auth)
    return RemsStatus(patient, patient.program_number, today, False, decision, seen.checklist,
                      open_auth)
