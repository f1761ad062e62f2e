"""Recording counseling, pregnancy tests, contraception and comprehension attempts, and
correcting them. Every entry is validated first (nothing is stored when anything is wrong) and
audited in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from tracker.domain.comprehension import answer_errors, grade
from tracker.domain.contraception import contraception_errors
from tracker.domain.facts import RecordKind, TestResult, TestSetting
from tracker.models import (
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    Patient,
    PregnancyTest,
)
from tracker.services.audit import record_event
from tracker.services.care_team import require_signer
from tracker.services.context import Context
from tracker.services.errors import NotFound, ValidationFailed, require
from tracker.services.facts import join_methods
from tracker.services.patients import check_clinical_date, own_patient
from tracker.services.text import MESSAGE as TEXT_MESSAGE
from tracker.services.text import has_control_characters

REASON_MAX = 500
RECORD_KINDS: dict[RecordKind, Any] = {
    RecordKind.COUNSELING: Counseling,
    RecordKind.PREGNANCY_TEST: PregnancyTest,
    RecordKind.CONTRACEPTION: ContraceptionEntry,
    RecordKind.COMPREHENSION: ComprehensionAttempt,
}


# The kinds of clinical record, each corrected by a new row of its own kind.
_R = TypeVar("_R", Counseling, PregnancyTest, ContraceptionEntry, ComprehensionAttempt)


def _correction(ctx: Context, model: type[_R], patient_id: int, corrects_id: int | None,
                reason: str | None, errors: dict[str, list[str]]) -> _R | None:
    """The record a new entry corrects, checked: same patient, not already corrected, and a
    reason given."""
    if corrects_id is None:
        return None
    old = ctx.session.get(model, corrects_id)
    if old is None or old.patient_id != patient_id:
        raise NotFound("no such record")
    if old.superseded:
        errors.setdefault("corrects_id", []).append(
            "This record has already been corrected; correct the newest version.")
    if has_control_characters(reason, multiline=True):
        errors.setdefault("correction_reason", []).append(TEXT_MESSAGE)
    elif not (reason or "").strip():
        errors.setdefault("correction_reason", []).append("Say why the record is corrected.")
    elif len(reason or "") > REASON_MAX:
        errors.setdefault("correction_reason", []).append(
            f"The reason has at most {REASON_MAX} characters.")
    return old


def _store(ctx: Context, row: _R, old: _R | None, kind: RecordKind, values: Mapping[str, Any],
           reason: str | None) -> _R:
    if old is not None:
        old.superseded = True
        row.corrects_id = old.id
        row.correction_reason = (reason or "").strip()
    ctx.session.add(row)
    ctx.session.flush()
    action = f"{kind.value}.corrected" if old is not None else f"{kind.value}.recorded"
    record_event(ctx, action, kind.value, row.id, patient_id=row.patient_id,
                 old=_values(old) if old is not None else None, new=dict(values),
                 reason=row.correction_reason)
    return row


def _values(row: Any) -> dict[str, Any]:
    skip = {"id", "patient_id", "recorded_by", "recorded_at", "superseded", "corrects_id",
            "correction_reason", "answers"}
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}


def record_counseling(ctx: Context, patient_id: int, counseled_on: date | None, *,
                      corrects_id: int | None = None, reason: str | None = None) -> Counseling:
    """The prescriber confirms they counseled the patient (RULES.md §6.1, §7): their own act,
    never their staff's."""
    patient = own_patient(ctx, patient_id)
    require_signer(ctx, patient.prescriber_id, "confirm the counseling")
    errors: dict[str, list[str]] = {}
    check_clinical_date(errors, "counseled_on", counseled_on, ctx.today(), patient.date_of_birth)
    old = _correction(ctx, Counseling, patient.id, corrects_id, reason, errors)
    require(errors)
    row = Counseling(patient_id=patient.id, counseled_on=counseled_on,
                     recorded_by=ctx.actor.user_id, recorded_at=ctx.now())
    return _store(ctx, row, old, RecordKind.COUNSELING, {"counseled_on": counseled_on}, reason)


def check_test_values(errors: dict[str, list[str]], result: object, setting: object) -> None:
    if result not in {r.value for r in TestResult}:
        errors.setdefault("result", []).append("The result is negative or positive.")
    if setting not in {s.value for s in TestSetting}:
        errors.setdefault("setting", []).append(
            "The setting is lab (CLIA-certified laboratory), office (another medical setting) "
            "or home.")


def record_pregnancy_test(ctx: Context, patient_id: int, collected_on: date | None,
                          result: str | None, setting: str | None, *,
                          corrects_id: int | None = None,
                          reason: str | None = None) -> PregnancyTest:
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    check_clinical_date(errors, "collected_on", collected_on, ctx.today(), patient.date_of_birth)
    check_test_values(errors, result, setting)
    old = _correction(ctx, PregnancyTest, patient.id, corrects_id, reason, errors)
    require(errors)
    assert result is not None and setting is not None
    row = PregnancyTest(patient_id=patient.id, collected_on=collected_on,
                        result=TestResult(result), setting=TestSetting(setting),
                        recorded_by=ctx.actor.user_id, recorded_at=ctx.now())
    return _store(ctx, row, old, RecordKind.PREGNANCY_TEST,
                  {"collected_on": collected_on, "result": result, "setting": setting}, reason)


def _methods_list(errors: dict[str, list[str]], field: str, methods: Any) -> list[str]:
    if methods is None:
        return []
    if not isinstance(methods, (list, tuple, set, frozenset)) or not all(
        isinstance(m, str) for m in methods
    ):
        errors.setdefault(field, []).append("Give the methods as a list of method codes.")
        return []
    return list(methods)


def check_contraception(errors: dict[str, list[str]], recorded_on: date | None,
                        started_on: date | None, methods: Any, abstinence: object, today: date,
                        birth: date) -> list[str]:
    """RULES.md §1, §6.2: the entry's dates and its methods or abstinence; returns the
    methods chosen."""
    check_clinical_date(errors, "recorded_on", recorded_on, today, birth)
    check_clinical_date(errors, "started_on", started_on, today, birth)
    if recorded_on and started_on and started_on > recorded_on:
        errors.setdefault("started_on", []).append(
            "The start date cannot be after the date of the entry.")
    chosen = _methods_list(errors, "methods", methods)
    if not errors.get("methods"):
        for problem in contraception_errors(chosen, bool(abstinence)):
            errors.setdefault("methods", []).append(problem)
    return chosen


def record_contraception(ctx: Context, patient_id: int, recorded_on: date | None,
                         started_on: date | None, methods: Any, abstinence: bool, *,
                         corrects_id: int | None = None,
                         reason: str | None = None) -> ContraceptionEntry:
    """RULES.md §6.2: two different methods, at least one primary, or abstinence."""
    patient = own_patient(ctx, patient_id)
    errors: dict[str, list[str]] = {}
    chosen = check_contraception(errors, recorded_on, started_on, methods, abstinence,
                                 ctx.today(), patient.date_of_birth)
    old = _correction(ctx, ContraceptionEntry, patient.id, corrects_id, reason, errors)
    require(errors)
    stored = join_methods(chosen)
    row = ContraceptionEntry(patient_id=patient.id, recorded_on=recorded_on,
                             started_on=started_on, methods=stored, abstinence=bool(abstinence),
                             recorded_by=ctx.actor.user_id, recorded_at=ctx.now())
    return _store(ctx, row, old, RecordKind.CONTRACEPTION,
                  {"recorded_on": recorded_on, "started_on": started_on, "methods": stored,
                   "abstinence": bool(abstinence)}, reason)


def check_comprehension(errors: dict[str, list[str]], completed_on: date | None, answers: Any,
                        methods: Any, abstinence: object, today: date,
                        birth: date) -> list[str]:
    """RULES.md §9 answer sheet and the contraception the patient confirms; returns the
    methods chosen."""
    check_clinical_date(errors, "completed_on", completed_on, today, birth)
    if not isinstance(answers, Mapping):
        errors.setdefault("answers", []).append(
            "Give the answers as an object of question id to true/false.")
    else:
        for qid, problem in answer_errors(answers).items():
            errors.setdefault(f"answers.{qid}", []).append(problem)
    chosen = _methods_list(errors, "contraception_methods", methods)
    if not errors.get("contraception_methods"):
        for problem in contraception_errors(chosen, bool(abstinence)):
            errors.setdefault("contraception_methods", []).append(problem)
    return chosen


def record_comprehension(ctx: Context, patient_id: int, completed_on: date | None,
                         answers: Any, methods: Any, abstinence: bool) -> ComprehensionAttempt:
    """The patient's answers to RULES.md §9, graded here; failed attempts are kept too."""
    return store_comprehension(ctx, own_patient(ctx, patient_id), completed_on, answers,
                               methods, abstinence)


def store_comprehension(ctx: Context, patient: Patient, completed_on: date | None,
                        answers: Any, methods: Any, abstinence: bool) -> ComprehensionAttempt:
    """An attempt at RULES.md §9 for a patient the caller has already checked access to: on
    the clinic's screen (record_comprehension) or in the patient's own portal. Both are the
    same record, so the engine counts them alike (§6.3)."""
    errors: dict[str, list[str]] = {}
    chosen = check_comprehension(errors, completed_on, answers, methods, abstinence,
                                 ctx.today(), patient.date_of_birth)
    require(errors)
    result = grade(answers)
    row = ComprehensionAttempt(
        patient_id=patient.id, completed_on=completed_on,
        answers=json.dumps(dict(answers), sort_keys=True), passed=result.passed,
        wrong=",".join(result.wrong), methods=join_methods(chosen), abstinence=bool(abstinence),
        recorded_by=ctx.actor.user_id, recorded_at=ctx.now(),
    )
    return _store(ctx, row, None, RecordKind.COMPREHENSION,
                  {"completed_on": completed_on, "passed": result.passed,
                   "wrong": list(result.wrong), "methods": row.methods,
                   "abstinence": bool(abstinence)}, None)


def report_positive_test(ctx: Context, patient_id: int, test_id: int) -> PregnancyTest:
    """RULES.md §10: record that a positive test was reported to the pregnancy registry."""
    patient = own_patient(ctx, patient_id)
    test = ctx.session.get(PregnancyTest, test_id)
    if test is None or test.patient_id != patient.id:
        raise NotFound("no such pregnancy test")
    problems = []
    if test.result != TestResult.POSITIVE:
        problems.append("Only a positive pregnancy test is reported to the registry.")
    elif test.superseded:
        problems.append("This test was corrected; the newest version is the one to report.")
    elif test.registry_reported_at is not None:
        problems.append("This test has already been reported to the registry.")
    if problems:
        raise ValidationFailed({"test": problems})
    test.registry_reported_at = ctx.now()
    test.registry_reported_by = ctx.actor.user_id
    ctx.session.flush()
    record_event(ctx, "pregnancy_test.registry_reported", "pregnancy_test", test.id,
                 patient_id=patient.id, new={"collected_on": test.collected_on,
                                             "registry_reported_at": test.registry_reported_at})
    return test
