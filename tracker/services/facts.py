"""Load the facts of one prescription for the rules engine in a fixed number of queries,
whatever the length of the patient's history: one for the prescription, its patient and
prescriber; one UNION ALL over every dated record of the patient."""

from __future__ import annotations

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


def split_methods(stored: str) -> frozenset[str]:
    return frozenset(m for m in stored.split(",") if m)


def join_methods(methods: frozenset[str] | list[str] | tuple[str, ...]) -> str:
    return ",".join(sorted(set(methods)))


def _row(kind: str, owner, id_col, d1=None, d2=None, t1=None, t2=None, b1=None,  # type: ignore[no-untyped-def]
         b2=None, n1=None):
    """One arm of the UNION ALL: the same typed columns for every kind of record."""
    return [
        literal(kind, String).label("kind"),
        cast(owner, Integer).label("patient_id"),
        cast(id_col, Integer).label("id"),
        (d1 if d1 is not None else cast(null(), Date)).label("d1"),
        (d2 if d2 is not None else cast(null(), Date)).label("d2"),
        (t1 if t1 is not None else cast(null(), String)).label("t1"),
        (t2 if t2 is not None else cast(null(), String)).label("t2"),
        (b1 if b1 is not None else cast(null(), Boolean)).label("b1"),
        (b2 if b2 is not None else cast(null(), Boolean)).label("b2"),
        (n1 if n1 is not None else cast(null(), Integer)).label("n1"),
    ]


def _history_query(patient_ids: list[int] | None):  # type: ignore[no-untyped-def]
    """The UNION ALL over every dated record; None: one patient, bound as :patient_id."""
    def arm(model, *where, **columns):  # type: ignore[no-untyped-def]
        owner = model.patient_id
        if patient_ids is None:
            condition = owner == bindparam("patient_id", type_=Integer)
        elif len(patient_ids) == 1:
            condition = owner == patient_ids[0]
        else:
            condition = owner.in_(patient_ids)
        return select(*_row(columns.pop("kind"), owner, model.id, **columns)).where(
            condition, *where)

    return union_all(
        arm(CategoryChangeRow, kind="category", d1=CategoryChangeRow.changed_on,
            t1=CategoryChangeRow.category),
        arm(AcknowledgmentRow, kind="ack", d1=AcknowledgmentRow.signed_on,
            t1=AcknowledgmentRow.category),
        arm(CourseEndRow, kind="course_end", d1=CourseEndRow.last_dose_on),
        arm(CounselingRow, CounselingRow.superseded.is_(False), kind="counseling",
            d1=CounselingRow.counseled_on),
        arm(PregnancyTestRow, PregnancyTestRow.superseded.is_(False), kind="test",
            d1=PregnancyTestRow.collected_on, t1=PregnancyTestRow.result,
            t2=PregnancyTestRow.setting),
        arm(ContraceptionRow, ContraceptionRow.superseded.is_(False), kind="contraception",
            d1=ContraceptionRow.recorded_on, d2=ContraceptionRow.started_on,
            t1=ContraceptionRow.methods, b1=ContraceptionRow.abstinence),
        arm(ComprehensionRow, ComprehensionRow.superseded.is_(False), kind="comprehension",
            d1=ComprehensionRow.completed_on, t1=ComprehensionRow.methods,
            b1=ComprehensionRow.abstinence, b2=ComprehensionRow.passed),
        arm(Dispense, kind="dispense", d1=Dispense.dispensed_on, n1=Dispense.prescription_id),
        arm(Authorization, Authorization.state == AuthorizationState.OPEN.value,
            kind="authorization", d1=Authorization.issued_on,
            d2=Authorization.do_not_dispense_after, t1=Authorization.number,
            t2=Authorization.rule_set, n1=Authorization.prescription_id),
    )


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

    def add(self, kind: str, id_: int, d1, d2, t1, t2, b1, b2, n1) -> None:  # type: ignore[no-untyped-def]
        if kind == "counseling":
            self.counseling.append(Counseling(id_, d1))
        elif kind == "test":
            self.tests.append(PregnancyTest(id_, d1, TestResult(t1), TestSetting(t2)))
        elif kind == "contraception":
            self.contraception.append(
                ContraceptionEntry(id_, d1, d2, split_methods(t1), bool(b1)))
        elif kind == "comprehension":
            self.comprehension.append(
                ComprehensionAttempt(id_, d1, bool(b2), split_methods(t1), bool(b1)))
        elif kind == "dispense":
            self.dispenses.append(DispenseRecord(id_, n1, d1))
        elif kind == "authorization":
            self.open_auths.append(OpenAuthorization(t1, n1, d1, d2, t2))
        elif kind == "category":
            self.changes.append((d1, id_, t1))
        elif kind == "ack":
            self.acks.append(Acknowledgment(id_, d1, Category(t1)))
        else:
            self.ends.append(CourseEnd(id_, d1))

    def facts(self, patient: Patient) -> PatientFacts:
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
    for kind, owner, id_, d1, d2, t1, t2, b1, b2, n1 in session.execute(
        _history_query(list(collectors))
    ):
        collectors[owner].add(kind, id_, d1, d2, t1, t2, b1, b2, n1)
    return {p.id: collectors[p.id].facts(p) for p in patients}


# One patient's history is read on every eligibility check, lookup and dispense. Building the
# nine-arm UNION and computing its cache key cost more than the database does, so it is
# compiled once per database dialect and sent as plain SQL.
_ONE_PATIENT = _history_query(None)
_COMPILED: dict[str, tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}


def _compiled_for(dialect: Any) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    entry = _COMPILED.get(dialect.name)
    if entry is None:
        compiled = _ONE_PATIENT.compile(dialect=dialect)
        params = compiled.construct_params({"patient_id": 0})
        order = tuple(compiled.positiontup) if dialect.positional else None
        entry = (compiled.string, dict(params), order)
        _COMPILED[dialect.name] = entry
    return entry


def _as_date(value: Any) -> date | None:
    # SQLite hands dates back as ISO text when SQLAlchemy's types are not in the way.
    return date.fromisoformat(value) if isinstance(value, str) else value


def load_patient_facts(session: Session, patient: Patient) -> PatientFacts:
    """Every record of one patient, as the engine's facts (one query)."""
    connection = session.connection()
    sql, template, order = _compiled_for(connection.dialect)
    params = {**template, "patient_id": patient.id}
    collector = _Collector()
    rows = connection.exec_driver_sql(
        sql, tuple(params[name] for name in order) if order is not None else params)
    for kind, _owner, id_, d1, d2, t1, t2, b1, b2, n1 in rows:
        collector.add(kind, id_, _as_date(d1), _as_date(d2), t1, t2, b1, b2, n1)
    return collector.facts(patient)


def prescriber_facts(user: User) -> PrescriberFacts:
    return PrescriberFacts(active=user.active, home_testing_permitted=user.home_testing_permitted)


def prescription_facts(rx: Prescription) -> PrescriptionFacts:
    return PrescriptionFacts(
        id=rx.id,
        status=PrescriptionStatus(rx.status),
        written_on=rx.written_on,
        days_supply=rx.days_supply,
        quantity=rx.quantity,
    )


def pharmacy_facts(pharmacy: Pharmacy) -> PharmacyFacts:
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
