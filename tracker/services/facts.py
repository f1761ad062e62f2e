"""Load the facts of one prescription for the rules engine in a fixed number of queries,
whatever the length of the patient's history: one for the prescription, its patient and
prescriber; one UNION ALL over every dated record of the patient."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    String,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from tracker.domain.facts import (
    Acknowledgment,
    Case,
    Category,
    CategoryChange,
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    CourseEnd,
    DispenseRecord,
    OpenAuthorization,
    PatientFacts,
    PharmacyFacts,
    PregnancyTest,
    PrescriberFacts,
    PrescriptionFacts,
    PrescriptionStatus,
    RecordKind,
    TestResult,
    TestSetting,
)
from tracker.models import (
    Acknowledgment as AcknowledgmentRow,
)
from tracker.models import (
    Authorization,
    AuthorizationState,
    Dispense,
    Patient,
    Pharmacy,
    Prescription,
    User,
)
from tracker.models import (
    CategoryChange as CategoryChangeRow,
)
from tracker.models import (
    ComprehensionAttempt as ComprehensionRow,
)
from tracker.models import (
    ContraceptionEntry as ContraceptionRow,
)
from tracker.models import (
    Counseling as CounselingRow,
)
from tracker.models import (
    CourseEnd as CourseEndRow,
)
from tracker.models import (
    PregnancyTest as PregnancyTestRow,
)
from tracker.services.prepared import Prepared
from tracker.services.rows import PatientRow, PharmacyRow, PrescriberRow, PrescriptionRow


def split_methods(stored: str) -> frozenset[str]:
    return frozenset(m for m in stored.split(",") if m)


def join_methods(methods: frozenset[str] | list[str] | tuple[str, ...]) -> str:
    return ",".join(sorted(set(methods)))


def typed_columns(columns: Mapping[str, Any], given: Mapping[str, Any]) -> list[Any]:
    """One arm of a UNION ALL: every column of `columns` (name -> SQL type) in that order,
    labelled with its name; those the arm does not have are typed NULLs."""
    unknown = set(given) - set(columns)
    assert not unknown, f"not a column of this union: {sorted(unknown)}"
    return [(given[name] if name in given else cast(null(), type_)).label(name)
            for name, type_ in columns.items()]


# The columns of the facts query: one meaning each, whatever the kind of record.
_FACT_COLUMNS: dict[str, Any] = {
    "kind": String, "patient_id": Integer, "record_id": Integer,
    "record_date": Date,  # the program date the record is about
    "category": String, "result": String, "setting": String, "methods": String,
    "abstinence": Boolean, "passed": Boolean, "started_on": Date,
    "prescription_id": Integer, "authorization_number": String,
    "do_not_dispense_after": Date, "rule_set": String,
}


def _history_query(patient_ids: list[int] | None):  # type: ignore[no-untyped-def]
    """The UNION ALL over every dated record; None: one patient, bound as :patient_id."""
    def arm(kind: RecordKind, model, *where, **columns):  # type: ignore[no-untyped-def]
        owner = model.patient_id
        if patient_ids is None:
            condition = owner == bindparam("patient_id", type_=Integer)
        elif len(patient_ids) == 1:
            condition = owner == patient_ids[0]
        else:
            condition = owner.in_(patient_ids)
        given = {"kind": literal(kind.value, String), "patient_id": cast(owner, Integer),
                 "record_id": cast(model.id, Integer), **columns}
        return select(*typed_columns(_FACT_COLUMNS, given)).where(condition, *where)

    return union_all(
        arm(RecordKind.CATEGORY_CHANGE, CategoryChangeRow,
            record_date=CategoryChangeRow.changed_on, category=CategoryChangeRow.category),
        arm(RecordKind.ACKNOWLEDGMENT, AcknowledgmentRow, record_date=AcknowledgmentRow.signed_on,
            category=AcknowledgmentRow.category),
        arm(RecordKind.COURSE_END, CourseEndRow, record_date=CourseEndRow.last_dose_on),
        arm(RecordKind.COUNSELING, CounselingRow, CounselingRow.superseded.is_(False),
            record_date=CounselingRow.counseled_on),
        arm(RecordKind.PREGNANCY_TEST, PregnancyTestRow, PregnancyTestRow.superseded.is_(False),
            record_date=PregnancyTestRow.collected_on, result=PregnancyTestRow.result,
            setting=PregnancyTestRow.setting),
        arm(RecordKind.CONTRACEPTION, ContraceptionRow, ContraceptionRow.superseded.is_(False),
            record_date=ContraceptionRow.recorded_on, started_on=ContraceptionRow.started_on,
            methods=ContraceptionRow.methods, abstinence=ContraceptionRow.abstinence),
        arm(RecordKind.COMPREHENSION, ComprehensionRow, ComprehensionRow.superseded.is_(False),
            record_date=ComprehensionRow.completed_on, methods=ComprehensionRow.methods,
            abstinence=ComprehensionRow.abstinence, passed=ComprehensionRow.passed),
        arm(RecordKind.DISPENSE, Dispense, record_date=Dispense.dispensed_on,
            prescription_id=Dispense.prescription_id),
        arm(RecordKind.AUTHORIZATION, Authorization,
            Authorization.state == AuthorizationState.OPEN,
            record_date=Authorization.issued_on,
            do_not_dispense_after=Authorization.do_not_dispense_after,
            authorization_number=Authorization.number, rule_set=Authorization.rule_set,
            prescription_id=Authorization.prescription_id),
    )


def _as_date(value: Any) -> date | None:
    # SQLite hands dates back as ISO text when SQLAlchemy's types are not in the way.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _record_date(value: Any) -> date:
    """A NOT NULL date column's value (every record has its date)."""
    day = _as_date(value)
    if day is None:
        raise ValueError("a record without its date")
    return day


class _Collector:
    """The records of one patient while the rows are read."""

    def __init__(self) -> None:
        self.changes: list[tuple[date, int, str]] = []
        self.acks: list[Acknowledgment] = []
        self.ends: list[CourseEnd] = []
        self.counseling: list[Counseling] = []
        self.tests: list[PregnancyTest] = []
        self.contraception: list[ContraceptionEntry] = []
        self.comprehension: list[ComprehensionAttempt] = []
        self.dispenses: list[DispenseRecord] = []
        self.open_auths: list[OpenAuthorization] = []

    def add(self, row: Any) -> None:
        """One row of the facts query, read by its column names."""
        kind, id_, on = row.kind, row.record_id, _record_date(row.record_date)
        if kind == RecordKind.COUNSELING:
            self.counseling.append(Counseling(id_, on))
        elif kind == RecordKind.PREGNANCY_TEST:
            self.tests.append(
                PregnancyTest(id_, on, TestResult(row.result), TestSetting(row.setting)))
        elif kind == RecordKind.CONTRACEPTION:
            self.contraception.append(ContraceptionEntry(
                id_, on, _record_date(row.started_on), split_methods(row.methods),
                bool(row.abstinence)))
        elif kind == RecordKind.COMPREHENSION:
            self.comprehension.append(ComprehensionAttempt(
                id_, on, bool(row.passed), split_methods(row.methods), bool(row.abstinence)))
        elif kind == RecordKind.DISPENSE:
            self.dispenses.append(DispenseRecord(id_, row.prescription_id, on))
        elif kind == RecordKind.AUTHORIZATION:
            self.open_auths.append(OpenAuthorization(
                row.authorization_number, row.prescription_id, on,
                _as_date(row.do_not_dispense_after), row.rule_set))
        elif kind == RecordKind.CATEGORY_CHANGE:
            self.changes.append((on, id_, row.category))
        elif kind == RecordKind.ACKNOWLEDGMENT:
            self.acks.append(Acknowledgment(id_, on, Category(row.category)))
        else:
            self.ends.append(CourseEnd(id_, on))

    def facts(self, patient: Patient | PatientRow) -> PatientFacts:
        # Registration first, then the changes in the order they were made.
        self.changes.sort()
        history = tuple(CategoryChange(day, Category(cat)) for day, _, cat in self.changes)
        if not history:
            history = (CategoryChange(date.min, Category(patient.category)),)
        return PatientFacts(
            birth_date=patient.date_of_birth,
            category_history=history,
            acknowledgments=tuple(self.acks),
            course_ends=tuple(self.ends),
            counseling=tuple(self.counseling),
            pregnancy_tests=tuple(self.tests),
            contraception=tuple(self.contraception),
            comprehension=tuple(self.comprehension),
            dispenses=tuple(self.dispenses),
            open_authorizations=tuple(self.open_auths),
        )


def load_many_patient_facts(session: Session, patients: list[Patient]) -> dict[int, PatientFacts]:
    """Every record of several patients (a page of a list) in one query."""
    if not patients:
        return {}
    collectors = {p.id: _Collector() for p in patients}
    for row in session.execute(_history_query(list(collectors))):
        collectors[row.patient_id].add(row)
    return {p.id: collectors[p.id].facts(p) for p in patients}


# One patient's history is read on every eligibility check, lookup and dispense. Building the
# nine-arm UNION and computing its cache key cost more than the database does, so it is built
# once, bound as :patient_id; its rows are read by name, with their values as the driver gives
# them (_as_date and bool() above).
_ONE_PATIENT = Prepared(_history_query(None))


def load_patient_facts(session: Session, patient: Patient | PatientRow) -> PatientFacts:
    """Every record of one patient, as the engine's facts (one query)."""
    collector = _Collector()
    for row in _ONE_PATIENT.execute(session, patient_id=patient.id).fetchall():
        collector.add(row)
    return collector.facts(patient)


def prescriber_facts(user: User | PrescriberRow) -> PrescriberFacts:
    return PrescriberFacts(active=user.active, home_testing_permitted=user.home_testing_permitted)


def prescription_facts(rx: Prescription | PrescriptionRow) -> PrescriptionFacts:
    return PrescriptionFacts(
        id=rx.id,
        status=PrescriptionStatus(rx.status),
        written_on=rx.written_on,
        days_supply=rx.days_supply,
        quantity=rx.quantity,
    )


def pharmacy_facts(pharmacy: Pharmacy | PharmacyRow) -> PharmacyFacts:
    return PharmacyFacts(activated_on=pharmacy.activated_on, trained_on=pharmacy.trained_on)


def load_case(
    session: Session, prescription_id: int
) -> tuple[Prescription, Patient, User, Case] | None:
    """The prescription with its patient and prescriber (one query) and the patient's facts
    (one query)."""
    found = session.execute(
        select(Prescription, Patient, User)
        .join(Patient, Patient.id == Prescription.patient_id)
        .join(User, User.id == Prescription.prescriber_id)
        .where(Prescription.id == prescription_id)
    ).one_or_none()
    if found is None:
        return None
    rx, patient, prescriber = found
    case = Case(
        prescription=prescription_facts(rx),
        patient=load_patient_facts(session, patient),
        prescriber=prescriber_facts(prescriber),
    )
    return rx, patient, prescriber, case
