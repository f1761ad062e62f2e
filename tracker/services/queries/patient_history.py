"""A patient's chart as the prescriber reads it: every record with who entered it and when
(corrected versions included), prescriptions with their authorizations, signed
acknowledgments; and the few writes that go with reading it: reporting a positive test to the
pregnancy registry (RULES.md §10) and auditing a failed witness password at signing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Integer,
    String,
    Text,
    false,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from tracker.domain.contraception import METHOD_LABELS
from tracker.domain.facts import Category, RecordKind, TestResult, TestSetting
from tracker.domain.facts import PregnancyTest as TestFact
from tracker.models import (
    Acknowledgment,
    Authorization,
    CategoryChange,
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    CourseEnd,
    Dispense,
    Patient,
    Pharmacy,
    PregnancyTest,
    Prescription,
    Role,
    User,
)
from tracker.services.consent_forms import ConsentForm, current_form
from tracker.services.context import Context
from tracker.services.errors import NotFound
from tracker.services.facts import load_many_patient_facts, split_methods, typed_columns
from tracker.services.paging import PER_PAGE, Page, page_of
from tracker.services.patients import acknowledgment_fields, own_patient
from tracker.services.prescriptions import own_prescription
from tracker.services.queries.worklist import PatientOutlook, outlook_of, summary_of
from tracker.services.records import RECORD_KINDS
from tracker.services.signatures import verify

CATEGORY_LABELS = {
    Category.CAN_GET_PREGNANT: "can get pregnant",
    Category.CANNOT_GET_PREGNANT: "cannot get pregnant",
}
# Who entered a record, as the chart names them next to their name.
ROLE_LABELS = {
    Role.PRESCRIBER: "prescriber",
    Role.STAFF: "office staff",
    Role.ADMIN: "administrator",
    Role.PHARMACIST: "pharmacy staff",
    Role.AUDITOR: "auditor",
    Role.PATIENT: "the patient, in the portal",
}
SETTING_LABELS = {
    "lab": "CLIA-certified laboratory",
    "office": "medical office",
    "home": "home test",
}
# The kinds of record a prescriber corrects by entering a new version (RULES.md: records are
# never overwritten); comprehension attempts are answered again instead.
CORRECTABLE = (RecordKind.COUNSELING, RecordKind.PREGNANCY_TEST, RecordKind.CONTRACEPTION)
# The kinds of record kept in versions, each new one with the reason it replaced the last.
VERSIONED = (*CORRECTABLE, RecordKind.COMPREHENSION)
RX_PER_PAGE = 10


@dataclass(frozen=True)
class HistoryEntry:
    """One version of one record of the chart."""

    kind: RecordKind
    record_id: int
    title: str
    on: date  # the clinical date of the record
    details: tuple[str, ...]
    entered_by: str
    entered_at: datetime
    superseded: bool = False
    corrects_id: int | None = None
    correction_reason: str | None = None
    correctable: bool = False
    reportable: bool = False  # a positive test not yet reported to the registry


@dataclass(frozen=True)
class PrescriptionLine:
    prescription: Prescription
    authorization: Authorization | None  # the newest one, whatever its state
    dispense: Dispense | None


@dataclass(frozen=True)
class PrescriptionDetail:
    prescription: Prescription
    patient: Patient
    authorizations: list[Authorization]  # newest first
    dispense: Dispense | None
    pharmacy: Pharmacy | None
    signers: dict[int, str] = field(default_factory=dict)  # user id -> printed name
    # authorization id -> who closed it and where ("Name, pharmacy staff at Pharmacy")
    closers: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PatientChart:
    """The patient page: the outlook (checklist, steps, windows), a page of the history, a page
    of prescriptions, and every authorization and dispense (for the timeline)."""

    outlook: PatientOutlook
    history: Page[HistoryEntry]
    prescriptions: Page[PrescriptionLine]
    authorizations: list[Authorization]
    dispenses: list[tuple[Dispense, str]]  # with the prescription's number
    closers: dict[int, str] = field(default_factory=dict)  # as PrescriptionDetail.closers


@dataclass(frozen=True)
class SignedAcknowledgment:
    acknowledgment: Acknowledgment
    patient: Patient
    witness: str
    verified: bool  # the e-signature still matches the stored record
    form: ConsentForm | None  # the text signed, when it is still the current version


def methods_text(methods: str, abstinence: bool) -> str:
    """Contraception in words: the methods' names, or abstinence."""
    if abstinence:
        return "Abstinence"
    return " + ".join(METHOD_LABELS.get(m, m) for m in sorted(split_methods(methods)))


# The columns of the history query: one meaning each, whatever the kind of record. The
# pregnancy-test arm comes first and its typed columns (UTC times, booleans) type the result.
_HISTORY_COLUMNS: dict[str, Any] = {
    "kind": String, "record_id": Integer,
    "record_date": Date,  # the clinical date of the record
    "entered_by": String, "entered_role": String,
    "entered_at": PregnancyTest.recorded_at.type,
    "superseded": Boolean, "corrects_id": Integer, "correction_reason": Text,
    "result": String, "setting": String, "reported_by": String,
    "registry_reported_at": PregnancyTest.registry_reported_at.type,
    "methods": String, "abstinence": Boolean, "started_on": Date,
    "passed": Boolean, "wrong_answers": String,
    "category": String, "change_reason": Text,
    "form_code": String, "form_version": String, "patient_signature": String,
    "guardian_signature": String, "guardian_relationship": String,
}


def _history_query(patient_id: int) -> Any:
    """Every version of every record of one patient in one UNION ALL, each with the name of
    who entered it."""
    reporter = aliased(User)

    def arm(kind: RecordKind, model: Any, on: Any, at: Any, who: Any, *joins: Any,
            versioned: bool = True, **columns: Any) -> Any:
        given = {"kind": literal(kind.value, String), "record_id": model.id, "record_date": on,
                 "entered_by": User.name, "entered_role": User.role, "entered_at": at,
                 "superseded": false(), **columns}
        if versioned:
            given.update(superseded=model.superseded, corrects_id=model.corrects_id,
                         correction_reason=model.correction_reason)
        stmt = select(*typed_columns(_HISTORY_COLUMNS, given)).join(User, User.id == who)
        for target, condition in joins:
            stmt = stmt.outerjoin(target, condition)
        return stmt.where(model.patient_id == patient_id)

    return union_all(
        arm(RecordKind.PREGNANCY_TEST, PregnancyTest, PregnancyTest.collected_on,
            PregnancyTest.recorded_at, PregnancyTest.recorded_by,
            (reporter, reporter.id == PregnancyTest.registry_reported_by),
            result=PregnancyTest.result, setting=PregnancyTest.setting,
            reported_by=reporter.name, registry_reported_at=PregnancyTest.registry_reported_at),
        arm(RecordKind.COUNSELING, Counseling, Counseling.counseled_on, Counseling.recorded_at,
            Counseling.recorded_by),
        arm(RecordKind.CONTRACEPTION, ContraceptionEntry, ContraceptionEntry.recorded_on,
            ContraceptionEntry.recorded_at, ContraceptionEntry.recorded_by,
            methods=ContraceptionEntry.methods, started_on=ContraceptionEntry.started_on,
            abstinence=ContraceptionEntry.abstinence),
        arm(RecordKind.COMPREHENSION, ComprehensionAttempt, ComprehensionAttempt.completed_on,
            ComprehensionAttempt.recorded_at, ComprehensionAttempt.recorded_by,
            methods=ComprehensionAttempt.methods, wrong_answers=ComprehensionAttempt.wrong,
            abstinence=ComprehensionAttempt.abstinence, passed=ComprehensionAttempt.passed),
        arm(RecordKind.ACKNOWLEDGMENT, Acknowledgment, Acknowledgment.signed_on,
            Acknowledgment.signed_at, Acknowledgment.witness_id, versioned=False,
            form_code=Acknowledgment.form_code, form_version=Acknowledgment.form_version,
            patient_signature=Acknowledgment.patient_signature,
            guardian_signature=Acknowledgment.guardian_signature,
            guardian_relationship=Acknowledgment.guardian_relationship,
            category=Acknowledgment.category),
        arm(RecordKind.CATEGORY_CHANGE, CategoryChange, CategoryChange.changed_on,
            CategoryChange.changed_at, CategoryChange.changed_by, versioned=False,
            category=CategoryChange.category, change_reason=CategoryChange.reason),
        arm(RecordKind.COURSE_END, CourseEnd, CourseEnd.last_dose_on, CourseEnd.recorded_at,
            CourseEnd.recorded_by, versioned=False),
    )


def _entry(row: Any, first_category_id: int | None) -> HistoryEntry:
    """One row of the history query in words."""
    kind = RecordKind(row.kind)
    details: tuple[str, ...] = ()
    reportable = False
    if kind == RecordKind.PREGNANCY_TEST:
        title = f"Pregnancy test: {row.result}"
        details = (f"Done at: {SETTING_LABELS.get(row.setting, row.setting)}",)
        if row.result == TestResult.POSITIVE and row.registry_reported_at is not None:
            details += (f"Reported to the pregnancy registry by {row.reported_by} on "
                        f"{row.registry_reported_at.date().isoformat()}",)
        elif row.result == TestResult.POSITIVE and not row.superseded:
            details += ("Not yet reported to the pregnancy registry",)
            reportable = True
    elif kind == RecordKind.COUNSELING:
        title = "Counseling"
    elif kind == RecordKind.CONTRACEPTION:
        title = "Contraception"
        details = (methods_text(row.methods, bool(row.abstinence)),
                   f"Started on {row.started_on.isoformat()}")
    elif kind == RecordKind.COMPREHENSION:
        wrong = [w for w in (row.wrong_answers or "").split(",") if w]
        outcome = "passed" if row.passed else f"not passed ({len(wrong)} wrong)"
        title = f"Comprehension questions: {outcome}"
        details = (f"Contraception confirmed by the patient: "
                   f"{methods_text(row.methods, bool(row.abstinence))}",)
    elif kind == RecordKind.ACKNOWLEDGMENT:
        title = "Acknowledgment signed"
        details = (f"Form {row.form_code} version {row.form_version} "
                   f"({CATEGORY_LABELS.get(row.category, row.category)})",
                   f"Signed by {row.patient_signature}")
        if row.guardian_signature:
            details += (f"Co-signed by {row.guardian_signature} ({row.guardian_relationship})",)
    elif kind == RecordKind.CATEGORY_CHANGE:
        # Registration writes the first category; later rows are changes.
        what = "Registered" if row.record_id == first_category_id else "Category changed"
        title = f"{what}: {CATEGORY_LABELS.get(row.category, row.category)}"
        details = (f"Reason: {row.change_reason}",) if row.change_reason else ()
    else:
        title = "Course ended (last dose)"
    correction = row.correction_reason if kind in VERSIONED else None
    if row.corrects_id is not None:
        details += (f"Correction of version #{row.corrects_id}: {correction}",)
    entered_by = f"{row.entered_by} ({ROLE_LABELS.get(row.entered_role, row.entered_role)})"
    return HistoryEntry(kind, row.record_id, title, row.record_date, details, entered_by,
                        row.entered_at, bool(row.superseded), row.corrects_id, correction,
                        kind in CORRECTABLE and not row.superseded, reportable)


def _history(ctx: Context, patient_id: int) -> tuple[list[HistoryEntry], list[TestFact]]:
    """The patient's history, newest first, and the positive tests still to report to the
    registry (RULES.md §10), read from the same rows."""
    rows = ctx.session.execute(_history_query(patient_id)).all()
    categories = [row.record_id for row in rows if row.kind == RecordKind.CATEGORY_CHANGE]
    first_category = min(categories) if categories else None
    entries = [_entry(row, first_category) for row in rows]
    entries.sort(key=lambda e: (e.on, e.entered_at, e.record_id), reverse=True)
    unreported = [TestFact(row.record_id, row.record_date, TestResult.POSITIVE,
                           TestSetting(row.setting))
                  for row in rows if row.kind == RecordKind.PREGNANCY_TEST
                  and row.result == TestResult.POSITIVE and not row.superseded
                  and row.registry_reported_at is None]
    return entries, unreported


def chart(ctx: Context, patient_id: int, records_page: int = 1,
          prescriptions_page: int = 1) -> PatientChart:
    """Everything the patient page shows, in a fixed number of queries whatever the length of
    the history: the patient, the engine's facts, the prescriptions, authorizations and
    dispenses, and every version of every record with who entered it (one UNION ALL)."""
    patient = own_patient(ctx, patient_id)
    session = ctx.session
    facts = load_many_patient_facts(session, [patient])[patient.id]
    rxs = list(session.scalars(
        select(Prescription).where(Prescription.patient_id == patient.id)
        .order_by(Prescription.written_on.desc(), Prescription.id.desc())
    ))
    auths, closers = _authorizations_with_closers(
        ctx, Authorization.patient_id == patient.id, Authorization.issued_on, Authorization.id)
    dispenses = list(session.scalars(
        select(Dispense).where(Dispense.patient_id == patient.id).order_by(Dispense.dispensed_on)
    ))
    entries, unreported = _history(ctx, patient.id)
    outlook = outlook_of(ctx, patient, facts, [summary_of(rx) for rx in rxs], unreported)
    newest = {auth.prescription_id: auth for auth in auths}
    by_rx = {row.prescription_id: row for row in dispenses}
    numbers = {rx.id: rx.number for rx in rxs}
    lines = [PrescriptionLine(rx, newest.get(rx.id), by_rx.get(rx.id)) for rx in rxs]
    return PatientChart(
        outlook=outlook,
        history=page_of(entries, records_page, PER_PAGE),
        prescriptions=page_of(lines, prescriptions_page, RX_PER_PAGE),
        authorizations=auths,
        dispenses=[(row, numbers.get(row.prescription_id, "")) for row in dispenses],
        closers=closers,
    )


def _authorizations_with_closers(
    ctx: Context, where: ColumnElement[bool], *order: Any
) -> tuple[list[Authorization], dict[int, str]]:
    """Authorizations with who closed each one (a reversal: who, and for pharmacy staff at
    which pharmacy), in one query."""
    closer = aliased(User)
    rows = ctx.session.execute(
        select(Authorization, closer.name, Pharmacy.name)
        .outerjoin(closer, closer.id == Authorization.closed_by)
        .outerjoin(Pharmacy, Pharmacy.id == closer.pharmacy_id)
        .where(where).order_by(*order)
    ).all()
    closers: dict[int, str] = {}
    for auth, name, pharmacy_name in rows:
        if name is not None:
            closers[auth.id] = (f"{name}, pharmacy staff at {pharmacy_name}"
                                if pharmacy_name is not None else name)
    return [row[0] for row in rows], closers


def prescription_detail(ctx: Context, prescription_id: int) -> PrescriptionDetail:
    """The acting prescriber's prescription with every authorization it had and its dispense."""
    rx = own_prescription(ctx, prescription_id)
    session = ctx.session
    auths, closers = _authorizations_with_closers(
        ctx, Authorization.prescription_id == rx.id, Authorization.id.desc())
    found = session.execute(
        select(Dispense, Pharmacy).join(Pharmacy, Pharmacy.id == Dispense.pharmacy_id)
        .where(Dispense.prescription_id == rx.id)
    ).one_or_none()
    patient = session.get(Patient, rx.patient_id)
    assert patient is not None
    dispense, pharmacy = found if found is not None else (None, None)
    signer_ids = {a.issued_by for a in auths}
    signers: dict[int, str] = {}
    if signer_ids:
        for user_id, name in session.execute(
                select(User.id, User.name).where(User.id.in_(signer_ids))):
            signers[user_id] = name
    return PrescriptionDetail(rx, patient, auths, dispense, pharmacy, signers, closers)


def correctable_record(ctx: Context, patient_id: int, kind: RecordKind, record_id: int) -> Any:
    """The record a correction starts from: the patient's own, of a kind that is corrected by
    a new version. Another patient's record is not found."""
    patient = own_patient(ctx, patient_id)
    model = RECORD_KINDS.get(kind) if kind in CORRECTABLE else None
    row = ctx.session.get(model, record_id) if model is not None else None
    if row is None or row.patient_id != patient.id:
        raise NotFound("no such record")
    return row


def acknowledgment(ctx: Context, patient_id: int, acknowledgment_id: int) -> SignedAcknowledgment:
    """A signed acknowledgment of the acting prescriber's patient, for printing, with whether
    its e-signature still verifies."""
    patient = own_patient(ctx, patient_id)
    found = ctx.session.execute(
        select(Acknowledgment, User.name).join(User, User.id == Acknowledgment.witness_id)
        .where(Acknowledgment.id == acknowledgment_id, Acknowledgment.patient_id == patient.id)
    ).one_or_none()
    if found is None:
        raise NotFound("no such acknowledgment")
    ack, witness = found
    verified = verify(ctx.signature_keys, ack.signature_key_id, "acknowledgment",
                      acknowledgment_fields(ack), ack.signature_hmac)
    form = current_form(ack.category)
    shown = form if (form.code, form.version) == (ack.form_code, ack.form_version) else None
    return SignedAcknowledgment(ack, patient, witness, verified, shown)
