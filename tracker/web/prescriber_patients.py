"""The prescriber's patient pages: register, the patient's page, the signed acknowledgment of
the warning (and its printable view), a category change, the end of a course, and the report of
a positive test to the pregnancy registry."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from tracker.domain.next_steps import screening_only_tests
from tracker.domain.validation import needs_guardian
from tracker.http.requests import context, mark_rollback
from tracker.services import care_team, duplicates, imports, patients, records
from tracker.services.consent_forms import current_form
from tracker.services.errors import SignatureRejected, ValidationFailed
from tracker.services.queries import patient_history
from tracker.services.signing import ReenteredPassword
from tracker.web import timeline
from tracker.web.formatting import written_date
from tracker.web.forms import show_service_errors
from tracker.web.prescriber import bp, clinic, page_arg, prescriber_only, signer_name, signs
from tracker.web.prescriber_forms import (
    AcknowledgmentForm,
    ActionForm,
    CategoryForm,
    EndCourseForm,
    PatientForm,
    RemindersForm,
)
from tracker.web.shown_again import notes, show_again


@bp.route("/patients/new", methods=["GET", "POST"])
@clinic
def new_patient() -> ResponseReturnValue:
    """Register a patient: name, birth date and category (RULES.md §3). Office staff who work
    for several prescribers choose the prescriber."""
    ctx = context()
    form = PatientForm()
    prescribers = [] if signs() else care_team.in_reach_prescribers(ctx)
    form.prescriber_npi.choices = [("", "Choose the prescriber")] + [
        (p.npi or "", p.name) for p in prescribers]
    npi = form.prescriber_npi.data if len(prescribers) > 1 else None
    sent = form.validate_on_submit()
    # A possible duplicate is a question, not an error: the form is shown again with it, and
    # "register anyway" sends it again.
    asks = (sent and not form.register_anyway.data) or notes().get("duplicate")
    existing = duplicates.possible_duplicate_patients(
        ctx, form.first_name.data or "", form.last_name.data or "", form.date_of_birth.data,
        npi) if asks and form.date_of_birth.data else []
    if sent and existing:
        return show_again(form, url_for("prescriber.new_patient"), duplicate=True)
    if sent:
        try:
            patient = patients.register_patient(
                ctx, form.first_name.data or "", form.last_name.data or "",
                form.date_of_birth.data, form.category.data or "", npi)
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            if not signs():
                flash(f"{patient.first_name} {patient.last_name} is registered. Next: the "
                      f"acknowledgment of the warning, signed by the patient in front of Dr "
                      f"{signer_name(patient.prescriber_id)}, who witnesses it.")
                return redirect(url_for("prescriber.patient", patient_id=patient.id))
            flash(f"{patient.first_name} {patient.last_name} is registered. Next: the "
                  f"acknowledgment of the warning, signed by the patient.")
            return redirect(url_for("prescriber.acknowledge", patient_id=patient.id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.new_patient"))
    return render_template("prescriber/new_patient.html", form=form, existing=existing,
                           choose_prescriber=len(prescribers) > 1)


@bp.route("/patients/<int:patient_id>", methods=["GET"])
@clinic
def patient(patient_id: int) -> ResponseReturnValue:
    """The patient's page: next steps, the checklist for the next fill, the timeline, the
    prescriptions and every record with who entered it."""
    chart = patient_history.chart(context(), patient_id, page_arg("records_page"),
                                  page_arg("rx_page"))
    view = chart.outlook
    picture = timeline.render(
        timeline.TimelineData(view.today, view.facts, view.windows, chart.authorizations,
                              chart.dispenses, chart.closers,
                              screening_only_tests(view.facts, context().rule_sets)),
        written_date)
    return render_template("prescriber/patient.html", view=view, records=chart.history,
                           prescriptions=chart.prescriptions, timeline=picture,
                           timeline_legend=timeline.legend(),
                           closers=chart.closers, action=ActionForm(),
                           imported=imports.import_of(context(), patient_id))


@bp.route("/patients/<int:patient_id>/acknowledgment", methods=["GET", "POST"])
@prescriber_only
def acknowledge(patient_id: int) -> ResponseReturnValue:
    """The current form of the patient's category, signed by the patient (and a guardian for a
    minor) and witnessed by the prescriber, who re-enters their password (RULES.md §4)."""
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    today = ctx.today()
    form = AcknowledgmentForm(data={"signed_on": today})
    if form.validate_on_submit():
        try:
            ack = patients.record_acknowledgment(
                ctx, patient.id, form.signed_on.data, form.patient_signature.data or "",
                form.guardian_signature.data, form.guardian_relationship.data,
                witness=ReenteredPassword(form.witness_password.data or ""))
        except SignatureRejected as exc:
            form.witness_password.errors.append(str(exc))
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            flash("The acknowledgment is signed and recorded.")
            return redirect(url_for("prescriber.acknowledgment_print",
                                    patient_id=patient.id, acknowledgment_id=ack.id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.acknowledge", patient_id=patient.id))
    minor = needs_guardian(patient.date_of_birth, today, ctx.policy(today))
    return render_template("prescriber/acknowledgment.html", form=form, patient=patient,
                           consent=current_form(patient.category), minor=minor, today=today)


@bp.route("/patients/<int:patient_id>/acknowledgments/<int:acknowledgment_id>",
          methods=["GET"])
@clinic
def acknowledgment_print(patient_id: int, acknowledgment_id: int) -> ResponseReturnValue:
    """The signed form, printable: the text, the printed names, date and time, meaning."""
    signed = patient_history.acknowledgment(context(), patient_id, acknowledgment_id)
    return render_template("prescriber/acknowledgment_print.html", signed=signed)


@bp.route("/patients/<int:patient_id>/category", methods=["GET", "POST"])
@clinic
def change_category(patient_id: int) -> ResponseReturnValue:
    """A new category, which needs a new acknowledgment (RULES.md §4)."""
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            patients.change_category(ctx, patient.id, form.category.data or "",
                                     (form.reason.data or "").strip() or None)
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            flash("The category is changed. The patient signs the acknowledgment for the new "
                  "category before the next fill.")
            return redirect(url_for("prescriber.acknowledge", patient_id=patient.id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.change_category", patient_id=patient.id))
    return render_template("prescriber/category.html", form=form, patient=patient)


@bp.route("/patients/<int:patient_id>/reminders", methods=["GET", "POST"])
@clinic
def reminders(patient_id: int) -> ResponseReturnValue:
    """The patient's email address, the language of their reminders and whether they want
    them (tracker notify run); every change is audited."""
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    form = RemindersForm(data={"email": patient.email or "", "language": patient.language,
                               "opted_out": patient.reminders_opted_out})
    if form.validate_on_submit():
        try:
            patients.change_reminders(ctx, patient.id, email=form.email.data,
                                      language=form.language.data or "",
                                      opted_out=bool(form.opted_out.data))
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            flash("The reminder settings are saved.")
            return redirect(url_for("prescriber.patient", patient_id=patient.id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.reminders", patient_id=patient.id))
    return render_template("prescriber/reminders.html", form=form, patient=patient)


@bp.route("/patients/<int:patient_id>/course-end", methods=["GET", "POST"])
@clinic
def end_course(patient_id: int) -> ResponseReturnValue:
    """The last dose ends the course (RULES.md §4)."""
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    form = EndCourseForm(data={"last_dose_on": ctx.today()})
    if form.validate_on_submit():
        try:
            patients.end_course(ctx, patient.id, form.last_dose_on.data)
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            flash("The course is ended. A new course needs a new acknowledgment.")
            return redirect(url_for("prescriber.patient", patient_id=patient.id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.end_course", patient_id=patient.id))
    return render_template("prescriber/course_end.html", form=form, patient=patient)


@bp.route("/patients/<int:patient_id>/pregnancy-tests/<int:test_id>/report", methods=["POST"])
@clinic
def report_positive(patient_id: int, test_id: int) -> ResponseReturnValue:
    """Record that a positive test was reported to the pregnancy registry (RULES.md §10).
    A test that cannot be reported is explained on the patient's page (Post/Redirect/Get)."""
    try:
        records.report_positive_test(context(), patient_id, test_id)
    except ValidationFailed as exc:
        mark_rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(message)
        return redirect(url_for("prescriber.patient", patient_id=patient_id), 303)
    flash("The positive test is recorded as reported to the pregnancy registry.")
    return redirect(url_for("prescriber.patient", patient_id=patient_id))
