"""The prescriber's record forms: counseling, pregnancy tests, contraception (each can correct
an earlier version with a reason: the earlier one is kept), and the comprehension questions in
a hand-over mode, where the patient answers on the screen and confirms their contraception."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from tracker.domain.comprehension import QUESTIONS
from tracker.domain.contraception import PRIMARY_METHODS
from tracker.domain.facts import RecordKind
from tracker.http.requests import context, mark_rollback
from tracker.services import duplicates, patients, records
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed
from tracker.services.facts import join_methods, split_methods
from tracker.services.queries import patient_history
from tracker.web import handover
from tracker.web.forms import show_service_errors
from tracker.web.prescriber import bp, clinic, prescriber_only
from tracker.web.prescriber_forms import (
    ComprehensionForm,
    ContraceptionForm,
    CounselingForm,
    PregnancyTestForm,
    question_field,
    whole_number,
)
from tracker.web.shown_again import notes, show_again

_METHOD_ERRORS = {"methods": "primary_methods", "contraception_methods": "primary_methods"}


def _chosen_methods(form: Any) -> list[str]:
    return list(form.primary_methods.data or []) + list(form.secondary_methods.data or [])


def _split_for_form(methods: str) -> dict[str, list[str]]:
    codes = sorted(split_methods(methods))
    return {"primary_methods": [c for c in codes if c in PRIMARY_METHODS],
            "secondary_methods": [c for c in codes if c not in PRIMARY_METHODS]}


@dataclass(frozen=True)
class _Kind:
    """How one kind of record is entered and corrected."""

    kind: RecordKind  # one of patient_history.CORRECTABLE
    form: type[FlaskForm]
    template: str
    done: str  # the message once recorded
    defaults: Callable[[date], dict[str, Any]]
    prefill: Callable[[Any], dict[str, Any]]
    save: Callable[[Context, int, Any, int | None, str | None], Any]
    # The stored columns the form's entry would hold: an equal current record on the same
    # date is a possible duplicate.
    same_values: Callable[[Any], dict[str, Any]]
    aliases: dict[str, str] = field(default_factory=dict)


def _record(spec: _Kind, patient_id: int) -> ResponseReturnValue:
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    posted = request.method == "POST"
    corrects = whole_number(request.form.get("corrects_id") if posted
                            else request.args.get("corrects"))
    data = spec.defaults(ctx.today())
    old = None
    if corrects is not None:
        # Another patient's record, or one of another kind, is not found (404).
        old = patient_history.correctable_record(ctx, patient.id, spec.kind, corrects)
        data = {**spec.prefill(old), "corrects_id": str(old.id)}
    form = spec.form(data=data)
    sent = form.validate_on_submit()
    # The page the form is shown again on (Post/Redirect/Get), the correction's included.
    page = url_for(request.endpoint or "", patient_id=patient.id,
                   corrects=old.id if old is not None else None)
    # A correction replaces its record, so only a new entry is checked for a duplicate. A
    # possible duplicate is a question, not an error: the form is shown again with it, and
    # "record anyway" sends it again.
    asks = (sent and not form.record_anyway.data) or notes().get("duplicate")
    duplicate = duplicates.same_day_record(
        ctx, patient.id, spec.kind, spec.same_values(form)) if asks and old is None else None
    if sent and duplicate is not None:
        return show_again(form, page, duplicate=True)
    if sent:
        reason = (form.correction_reason.data or "").strip() or None
        try:
            spec.save(ctx, patient.id, form, corrects, reason)
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors, spec.aliases)
        else:
            flash(spec.done + (" The earlier version is kept." if old is not None else ""))
            return redirect(url_for("prescriber.patient", patient_id=patient.id))
    if posted:
        return show_again(form, page)
    return render_template(spec.template, form=form, patient=patient, old=old,
                           duplicate=duplicate)


def _save_counseling(ctx: Context, pid: int, form: Any, corrects: int | None,
                     reason: str | None) -> Any:
    return records.record_counseling(ctx, pid, form.counseled_on.data, corrects_id=corrects,
                                     reason=reason)


def _save_test(ctx: Context, pid: int, form: Any, corrects: int | None,
               reason: str | None) -> Any:
    return records.record_pregnancy_test(ctx, pid, form.collected_on.data, form.result.data,
                                         form.setting.data, corrects_id=corrects, reason=reason)


def _save_contraception(ctx: Context, pid: int, form: Any, corrects: int | None,
                        reason: str | None) -> Any:
    return records.record_contraception(ctx, pid, form.recorded_on.data, form.started_on.data,
                                        _chosen_methods(form), bool(form.abstinence.data),
                                        corrects_id=corrects, reason=reason)


COUNSELING = _Kind(
    RecordKind.COUNSELING, CounselingForm, "prescriber/counseling.html",
    "The counseling is recorded.",
    lambda today: {"counseled_on": today},
    lambda row: {"counseled_on": row.counseled_on},
    _save_counseling,
    lambda form: {"counseled_on": form.counseled_on.data},
)
PREGNANCY_TEST = _Kind(
    RecordKind.PREGNANCY_TEST, PregnancyTestForm, "prescriber/pregnancy_test.html",
    "The pregnancy test is recorded.",
    lambda today: {"collected_on": today},
    lambda row: {"collected_on": row.collected_on, "result": row.result,
                 "setting": row.setting},
    _save_test,
    lambda form: {"collected_on": form.collected_on.data, "result": form.result.data,
                  "setting": form.setting.data},
)
CONTRACEPTION = _Kind(
    RecordKind.CONTRACEPTION, ContraceptionForm, "prescriber/contraception.html",
    "The contraception is recorded.",
    lambda today: {"recorded_on": today},
    lambda row: {"recorded_on": row.recorded_on, "started_on": row.started_on,
                 "abstinence": row.abstinence, **_split_for_form(row.methods)},
    _save_contraception,
    lambda form: {"recorded_on": form.recorded_on.data, "started_on": form.started_on.data,
                  "methods": join_methods(_chosen_methods(form)),
                  "abstinence": bool(form.abstinence.data)},
    _METHOD_ERRORS,
)


@bp.route("/patients/<int:patient_id>/counseling/new", methods=["GET", "POST"])
@prescriber_only
def record_counseling(patient_id: int) -> ResponseReturnValue:
    """Counseling by the prescriber (RULES.md §6.1, §7), or a corrected version of one."""
    return _record(COUNSELING, patient_id)


@bp.route("/patients/<int:patient_id>/pregnancy-tests/new", methods=["GET", "POST"])
@clinic
def record_pregnancy_test(patient_id: int) -> ResponseReturnValue:
    """A pregnancy test: collection date, result, where it was done (RULES.md §6.4, §6.5)."""
    return _record(PREGNANCY_TEST, patient_id)


@bp.route("/patients/<int:patient_id>/contraception/new", methods=["GET", "POST"])
@clinic
def record_contraception(patient_id: int) -> ResponseReturnValue:
    """The contraception in use: methods grouped primary and secondary, or abstinence, and the
    date it started (RULES.md §6.2, §6.7)."""
    return _record(CONTRACEPTION, patient_id)


@bp.route("/patients/<int:patient_id>/comprehension", methods=["GET", "POST"])
@clinic
def comprehension(patient_id: int) -> ResponseReturnValue:
    """Hand-over mode: the patient answers the questions of RULES.md §9 on this screen and
    chooses their contraception from the list. A wrong answer is shown as wrong and the patient
    can try again; every attempt is kept (a failed one changes nothing)."""
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    handover.start(patient.id)
    form = ComprehensionForm()
    page = url_for("prescriber.comprehension", patient_id=patient.id)
    if form.validate_on_submit():
        try:
            attempt = records.record_comprehension(
                ctx, patient.id, ctx.today(), form.answers(), _chosen_methods(form),
                bool(form.abstinence.data))
        except ValidationFailed as exc:
            mark_rollback()
            aliases = {f"answers.{q.id}": question_field(q.id) for q in QUESTIONS}
            show_service_errors(form, exc.errors, {**aliases, **_METHOD_ERRORS})
        else:
            # The attempt is kept either way; its outcome is shown by a GET.
            return show_again(form, page, passed=attempt.passed,
                              wrong=[w for w in attempt.wrong.split(",") if w])
    if request.method == "POST":
        return show_again(form, page)
    shown = notes()
    if shown.get("passed"):
        return render_template("prescriber/comprehension_done.html", patient=patient)
    return render_template("prescriber/comprehension.html", form=form, patient=patient,
                           wrong=set(shown.get("wrong", [])), question_field=question_field,
                           questions=QUESTIONS)
