"""The prescriber's worklist and a patient's outlook: what each patient needs next, and when.

The worklist reads the prescriber's patients the search finds and everything it needs about them
in a fixed number of queries, whatever the number of patients or the length of their histories:
the patients, every dated record of theirs (one UNION ALL), their prescriptions, and their
positive tests not yet reported to the registry. The rules engine and tracker.domain.next_steps
decide the rest in memory: each patient's steps and category, the counts, the order, the page."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import ColumnElement, func, select

from tracker.domain.decision import Decision
from tracker.domain.enrollment import EnrollmentStatus, enrollment_status
from tracker.domain.facts import (
    PatientFacts,
    PregnancyTest,
    PrescriptionStatus,
    TestResult,
    TestSetting,
)
from tracker.domain.next_steps import (
    NEXT_FILL_ID,
    FillWindow,
    Outlook,
    PrescriptionSummary,
    Requirement,
    Situation,
    Step,
    Urgency,
    checklist,
    fill_windows,
    outlook,
    urgency,
)
from tracker.domain.policy import Policy
from tracker.domain.reasons import Reason
from tracker.domain.rules import evaluate, evaluate_open_authorization
from tracker.models import Authorization, Patient, Prescription, User
from tracker.models import PregnancyTest as PregnancyTestRow
from tracker.services.care_team import prescribers_in_reach
from tracker.services.context import Context
from tracker.services.facts import load_case, load_many_patient_facts, prescriber_facts
from tracker.services.paging import PER_PAGE, Page, page_of
from tracker.services.prescriptions import own_prescription

QUERY_MAX = 100
_URGENCY_RANK = {category: rank for rank, category in enumerate(Urgency)}
_US_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")


@dataclass(frozen=True)
class WorklistRow:
    """One patient on the worklist with their next steps, soonest first, and how pressing they
    are."""

    patient: Patient
    status: EnrollmentStatus
    steps: tuple[Step, ...]
    urgency: Urgency
    prescriber_name: str = ""  # whose patient (staff work for one or more prescribers)


class WorklistSort(StrEnum):
    URGENCY = "urgency"  # most pressing category first, then the soonest step, then the name
    NAME = "name"


@dataclass(frozen=True)
class Worklist:
    """A page of the worklist, the search and filter that found it, how many of the patients
    the search found fall in each category, and the program date it is for."""

    query: str
    page: Page[WorklistRow]
    today: date
    counts: dict[Urgency, int]
    category: Urgency | None = None
    sort: WorklistSort = WorklistSort.URGENCY
    prescriber_id: int | None = None  # the prescriber filter, when one is chosen

    @property
    def found(self) -> int:
        """Patients the search found, whatever their category."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class PatientOutlook:
    """What the patient page shows: enrollment, the next-fill checklist, steps and windows."""

    patient: Patient
    facts: PatientFacts
    status: EnrollmentStatus
    outlook: Outlook
    checklist: tuple[Requirement, ...]
    windows: tuple[FillWindow, ...]
    policy: Policy
    today: date


@dataclass(frozen=True)
class PrescriptionOutlook:
    """A prescription's decision for today with its checklist (nothing is written)."""

    prescription: Prescription
    patient: Patient
    decision: Decision
    checklist: tuple[Requirement, ...]
    today: date


def normalize_query(query: str | None) -> str:
    """Search text: trimmed, bounded, and a US-style birth date (12/31/1990) read as ISO."""
    text = " ".join((query or "").split())[:QUERY_MAX]
    match = _US_DATE.match(text)
    if match:
        month, day, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text


def _drafted_by_staff(prescriber_id: int, written_by: int | None) -> bool:
    return written_by is not None and written_by != prescriber_id


def summary_of(rx: Prescription) -> PrescriptionSummary:
    """A prescription as the next-step rules read it."""
    return PrescriptionSummary(rx.id, rx.number, PrescriptionStatus(rx.status), rx.written_on,
                               rx.days_supply, rx.quantity,
                               _drafted_by_staff(rx.prescriber_id, rx.written_by))


def _summaries(ctx: Context, patient_ids: list[int]) -> dict[int, list[PrescriptionSummary]]:
    out: dict[int, list[PrescriptionSummary]] = defaultdict(list)
    if not patient_ids:
        return out
    rows = ctx.session.execute(
        select(Prescription.id, Prescription.patient_id, Prescription.number,
               Prescription.status, Prescription.written_on, Prescription.days_supply,
               Prescription.quantity, Prescription.prescriber_id, Prescription.written_by)
        .where(Prescription.patient_id.in_(patient_ids))
    )
    for (rx_id, patient_id, number, status, written_on, supply, quantity, prescriber_id,
         written_by) in rows:
        out[patient_id].append(PrescriptionSummary(
            rx_id, number, PrescriptionStatus(status), written_on, supply, quantity,
            _drafted_by_staff(prescriber_id, written_by)))
    return out


def _unreported_positives(ctx: Context, patient_ids: list[int]) -> dict[int, list[PregnancyTest]]:
    """RULES.md §10: positive tests flagged for the registry report and not yet reported."""
    out: dict[int, list[PregnancyTest]] = defaultdict(list)
    if not patient_ids:
        return out
    rows = ctx.session.execute(
        select(PregnancyTestRow.id, PregnancyTestRow.patient_id, PregnancyTestRow.collected_on,
               PregnancyTestRow.setting)
        .where(PregnancyTestRow.patient_id.in_(patient_ids),
               PregnancyTestRow.result == TestResult.POSITIVE,
               PregnancyTestRow.superseded.is_(False),
               PregnancyTestRow.registry_reported_at.is_(None))
    )
    for test_id, patient_id, collected_on, setting in rows:
        out[patient_id].append(PregnancyTest(test_id, collected_on, TestResult.POSITIVE,
                                             TestSetting(setting)))
    return out


def _prescriber(ctx: Context, prescriber_id: int) -> User:
    user = ctx.session.get(User, prescriber_id)
    assert user is not None
    return user


def _urgency_key(row: WorklistRow) -> tuple[int, date, str, str, int]:
    soonest = min((step.due_on for step in row.steps if step.due_on is not None),
                  default=date.max)
    patient = row.patient
    return (_URGENCY_RANK[row.urgency], soonest, patient.last_name.lower(),
            patient.first_name.lower(), patient.id)


def _name_key(row: WorklistRow) -> tuple[str, str, int]:
    patient = row.patient
    return (patient.last_name.lower(), patient.first_name.lower(), patient.id)


def worklist(ctx: Context, query: str = "", page: int = 1, per_page: int = PER_PAGE,
             prescriber_id: int | None = None, category: Urgency | None = None,
             sort: WorklistSort = WorklistSort.URGENCY) -> Worklist:
    """One page of the patients the acting user works on (for staff, of one of their
    prescribers when `prescriber_id` is given) found by the search, each with their next
    steps on today's program date and their category, most pressing first (or by name); the
    counts of every category; only one category when `category` is given.

    Sorting by urgency needs every found patient's steps, so every found patient is decided:
    still a fixed number of queries (the patients, their records in one UNION ALL, their
    prescriptions, their unreported positive tests), the rules engine in memory."""
    text = normalize_query(query)
    patients = search_patients(ctx, text, prescriber_id)
    today = ctx.today()
    policy = ctx.policy(today)
    doctors = {pid: _prescriber(ctx, pid) for pid in {p.prescriber_id for p in patients}}
    ids = [p.id for p in patients]
    facts = load_many_patient_facts(ctx.session, patients)
    prescriptions = _summaries(ctx, ids)
    positives = _unreported_positives(ctx, ids)
    rows = []
    counts = dict.fromkeys(Urgency, 0)
    for patient in patients:
        doctor = doctors[patient.prescriber_id]
        situation = Situation(facts[patient.id], prescriber_facts(doctor),
                              tuple(prescriptions[patient.id]), tuple(positives[patient.id]))
        steps = outlook(situation, today, policy, ctx.rule_sets).steps
        row = WorklistRow(patient, enrollment_status(facts[patient.id], today), steps,
                          urgency(steps), doctor.name)
        counts[row.urgency] += 1
        if category is None or row.urgency == category:
            rows.append(row)
    rows.sort(key=_urgency_key if sort == WorklistSort.URGENCY else _name_key)
    return Worklist(text, page_of(rows, page, per_page), today, counts, category, sort,
                    prescriber_id)


def situations_of(ctx: Context, patients: list[Patient]) -> dict[int, Situation]:
    """What the next steps of each patient depend on, whoever their prescriber (the caller
    decides who may read them: tracker.services.notices reads every patient for reminders),
    in the worklist's fixed number of queries."""
    ids = [p.id for p in patients]
    doctors = {pid: _prescriber(ctx, pid) for pid in {p.prescriber_id for p in patients}}
    facts = load_many_patient_facts(ctx.session, patients)
    prescriptions = _summaries(ctx, ids)
    positives = _unreported_positives(ctx, ids)
    return {p.id: Situation(facts[p.id], prescriber_facts(doctors[p.prescriber_id]),
                            tuple(prescriptions[p.id]), tuple(positives[p.id]))
            for p in patients}


def outlook_of(ctx: Context, patient: Patient, facts: PatientFacts,
               prescriptions: list[PrescriptionSummary],
               unreported: list[PregnancyTest]) -> PatientOutlook:
    """A patient the acting user works on, from records already loaded: the decision on the next
    fill, the checklist of its requirements, the next steps and the windows of the records."""
    today = ctx.today()
    policy = ctx.policy(today)
    situation = Situation(facts, prescriber_facts(_prescriber(ctx, patient.prescriber_id)),
                          tuple(prescriptions),
                          tuple(unreported))
    result = outlook(situation, today, policy, ctx.rule_sets)
    rx_id = result.prescription.id if result.prescription is not None else NEXT_FILL_ID
    return PatientOutlook(patient, facts, enrollment_status(facts, today), result,
                          checklist(result.decision, facts, policy, rx_id),
                          fill_windows(facts, ctx.rule_sets), policy, today)


def prescription_outlook(ctx: Context, prescription_id: int) -> PrescriptionOutlook:
    """Whether a prescription the acting user works on could be marked dispensable today, with
    every requirement met or not. Reads only: the same engine call as marking it."""
    own_prescription(ctx, prescription_id)
    loaded = load_case(ctx.session, prescription_id)
    assert loaded is not None
    rx, patient, _, case = loaded
    today = ctx.today()
    policy = ctx.policy(today)
    decision = evaluate(case, today, policy)
    return PrescriptionOutlook(rx, patient, decision,
                               checklist(decision, case.patient, policy, rx.id), today)


def authorization_blockers(ctx: Context, prescription_id: int) -> tuple[Reason, ...]:
    """Why a pharmacy would refuse the open authorization of the acting prescriber's
    prescription today (RULES.md §8 "Dispensing", the pharmacy aside), every clinical reason
    as it is; () when it can be dispensed or has no open authorization."""
    own_prescription(ctx, prescription_id)
    loaded = load_case(ctx.session, prescription_id)
    assert loaded is not None
    case = loaded[3]
    today = ctx.today()
    for auth in case.patient.open_authorizations:
        if auth.prescription_id == prescription_id and auth.issued_on <= today:
            return evaluate_open_authorization(case, today, ctx.rule_sets, auth).unmet
    return ()


def search_patients(ctx: Context, query: str = "",
                    prescriber_id: int | None = None) -> list[Patient]:
    """The patients the acting user works on (care_team; for staff, those of one of the
    prescribers they work for when `prescriber_id` is given) found by the search (all of them
    for no search): "Last, First" (each the start of the name), part of the name, the birth
    date, or exactly a program, prescription or authorization number."""
    in_reach = prescribers_in_reach(ctx)
    if prescriber_id is not None and prescriber_id in in_reach:
        in_reach = [prescriber_id]
    stmt = select(Patient).where(Patient.prescriber_id.in_(in_reach))
    query = (query or "").strip()
    if query:
        stmt = stmt.where(_matching(query))
    return list(ctx.session.scalars(stmt))


def patients_found_by(query: str) -> ColumnElement[bool]:
    """The condition of the worklist's search, for a reader who may see every patient (the
    admin's audit trail): the same text finds the same patient everywhere."""
    return _matching(normalize_query(query))


def _matching(query: str) -> ColumnElement[bool]:
    """Which patients a search text finds."""
    try:
        born = date.fromisoformat(query)
    except ValueError:
        pass
    else:
        return Patient.date_of_birth == born
    lowered = query.lower()
    if "," in query:
        last, _, first = lowered.partition(",")
        name = (func.lower(Patient.last_name).like(f"{last.strip()}%")
                & func.lower(Patient.first_name).like(f"{first.strip()}%"))
    else:
        like = f"%{lowered}%"
        name = (func.lower(Patient.last_name + " " + Patient.first_name).like(like)
                | func.lower(Patient.first_name + " " + Patient.last_name).like(like))
    number = query.upper()
    return (
        name
        | (Patient.program_number == number)
        | Patient.id.in_(select(Prescription.patient_id).where(Prescription.number == number))
        | Patient.id.in_(select(Authorization.patient_id)
                         .where(Authorization.number == number))
    )
