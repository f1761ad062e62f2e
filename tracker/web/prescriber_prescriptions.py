"""The prescriber's prescription pages: write one, see whether it can be marked dispensable
(every requirement, met or not), mark it dispensable (the program's authorization) and reverse
an authorization. A refusal lists every unmet requirement with the date it can be met."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from tracker.domain.decision import Decision
from tracker.domain.facts import PrescriptionStatus
from tracker.domain.reasons import Reason, ReasonCode
from tracker.http.requests import context, mark_rollback
from tracker.models import AuthorizationState
from tracker.services import authorizations, patients, prescriptions
from tracker.services.context import Context
from tracker.services.errors import NotFound, Refused, SignatureRejected, ValidationFailed
from tracker.services.queries import patient_history
from tracker.services.queries import worklist as worklist_service
from tracker.services.signing import ReenteredPassword
from tracker.web.forms import show_service_errors
from tracker.web.prescriber import bp, clinic, prescriber_only
from tracker.web.prescriber_forms import (
    ActionForm,
    AuthorizeForm,
    PrescriptionForm,
    ReverseForm,
)
from tracker.web.shown_again import show_again


@bp.route("/patients/<int:patient_id>/prescriptions/new", methods=["GET", "POST"])
@clinic
def new_prescription(patient_id: int) -> ResponseReturnValue:
    """Write a prescription: days' supply, quantity, no refills (RULES.md §8)."""
    ctx = context()
    patient = patients.own_patient(ctx, patient_id)
    form = PrescriptionForm(data={"written_on": ctx.today(), "refills": 0})
    if form.validate_on_submit():
        try:
            rx = prescriptions.write_prescription(
                ctx, patient.id, form.written_on.data, form.days_supply.data,
                form.quantity.data, form.refills.data if form.refills.data is not None else 0)
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            flash(f"Prescription {rx.number} is written. Mark it dispensable once every "
                  f"requirement is met.")
            return redirect(url_for("prescriber.prescription", prescription_id=rx.id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.new_prescription", patient_id=patient.id))
    return render_template("prescriber/new_prescription.html", form=form, patient=patient)


def _page(ctx: Context, prescription_id: int) -> ResponseReturnValue:
    detail = patient_history.prescription_detail(ctx, prescription_id)
    outlook = None
    blockers: tuple[Reason, ...] = ()
    if detail.prescription.status == PrescriptionStatus.PENDING:
        outlook = worklist_service.prescription_outlook(ctx, prescription_id)
    elif detail.prescription.status == PrescriptionStatus.DISPENSABLE:
        blockers = worklist_service.authorization_blockers(ctx, prescription_id)
    return (render_template("prescriber/prescription.html", detail=detail, outlook=outlook,
                            blockers=blockers,
                            reverse_form=ReverseForm(formdata=None), action=ActionForm(),
                            authorize_form=AuthorizeForm(formdata=None),
                            today=ctx.today(), open_state=AuthorizationState.OPEN))


@bp.route("/prescriptions/<int:prescription_id>", methods=["GET"])
@clinic
def prescription(prescription_id: int) -> ResponseReturnValue:
    """The prescription, its authorization (number and last day, large), and for a pending one
    the checklist of what marking it dispensable needs today."""
    return _page(context(), prescription_id)


@bp.route("/prescriptions/<int:prescription_id>/authorize", methods=["POST"])
@prescriber_only
def mark_dispensable(prescription_id: int) -> ResponseReturnValue:
    """RULES.md §8: every rule on today's program date. A refusal changes nothing but the
    audit trail, which is committed with the refusal page."""
    ctx = context()
    form = AuthorizeForm()
    # A form that does not validate signs with no password: the service rejects and audits it.
    password = (form.password.data or "") if form.validate_on_submit() else ""
    try:
        authorizations.authorize(ctx, prescription_id, signature=ReenteredPassword(password))
    except SignatureRejected as exc:
        # The rejected signature is audited (committed with this request); the password is
        # never kept for the page that shows the form again.
        form.password.errors = [str(exc)]
        return show_again(form, url_for("prescriber.prescription",
                                        prescription_id=prescription_id))
    except Refused as exc:
        return _refused(prescription_id, exc)
    session.pop(_REFUSAL_KEY, None)
    flash("The prescription is marked dispensable.")
    return redirect(url_for("prescriber.prescription", prescription_id=prescription_id))


# The refusal the refused page tells, in the server-side session: the prescription and the
# message; the unmet requirements of marking it dispensable are evaluated again when the page is
# shown, those of a reversal (the authorization is dispensed or no longer open: nothing the
# records can change) are kept.
_REFUSAL_KEY = "_authorization_refusal"


def _refused(prescription_id: int, exc: Refused, reversal: bool = False) -> ResponseReturnValue:
    """Post/Redirect/Get: the refusal (its audit event committed with this request) is shown
    by a GET, so Back or Reload never sends the form again."""
    session[_REFUSAL_KEY] = {
        "prescription_id": prescription_id, "message": str(exc),
        "reversal": None if not reversal else {
            "rule_set": exc.decision.rule_set, "as_of": exc.decision.as_of.isoformat(),
            "unmet": [[r.code.value, r.message] for r in exc.decision.unmet]},
    }
    return redirect(url_for("prescriber.refused", prescription_id=prescription_id), 303)


def _kept_reversal(kept: dict[str, Any]) -> Decision:
    return Decision(False, kept["rule_set"], date.fromisoformat(kept["as_of"]),
                    tuple(Reason(ReasonCode(code), message) for code, message in kept["unmet"]),
                    None, None, ())


@bp.route("/prescriptions/<int:prescription_id>/refused", methods=["GET"])
@prescriber_only
def refused(prescription_id: int) -> ResponseReturnValue:
    """Why marking the prescription dispensable was refused. The engine's answer is the same
    for the same records on the same program date (RULES.md §8: a refusal changes nothing), so
    the unmet requirements are those of the refusal; if the records have changed since and
    nothing is unmet any more, the prescription page says what can be done now."""
    ctx = context()
    detail = patient_history.prescription_detail(ctx, prescription_id)  # another's: 404
    kept = session.get(_REFUSAL_KEY) or {}
    if kept.get("prescription_id") != prescription_id:
        return redirect(url_for("prescriber.prescription", prescription_id=prescription_id))
    if kept.get("reversal"):
        return render_template("prescriber/refused.html", detail=detail, reversal=True,
                               decision=_kept_reversal(kept["reversal"]),
                               message=kept["message"])
    outlook = worklist_service.prescription_outlook(ctx, prescription_id)
    if outlook.decision.dispensable:
        return redirect(url_for("prescriber.prescription", prescription_id=prescription_id))
    return render_template("prescriber/refused.html", detail=detail,
                           decision=outlook.decision, message=kept["message"])


@bp.route("/prescriptions/<int:prescription_id>/reverse", methods=["POST"])
@prescriber_only
def reverse(prescription_id: int) -> ResponseReturnValue:
    """Reverse the prescription's authorization with a reason: the prescription is pending
    again and a new authorization will get a new number."""
    ctx = context()
    detail = patient_history.prescription_detail(ctx, prescription_id)
    if not detail.authorizations:
        raise NotFound("no authorization to reverse")
    form = ReverseForm()
    if form.validate_on_submit():
        try:
            authorizations.reverse(ctx, detail.authorizations[0].number, form.reason.data)
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        except Refused as exc:
            return _refused(prescription_id, exc, reversal=True)
        else:
            flash("The authorization is reversed; the prescription is pending again.")
            return redirect(url_for("prescriber.prescription", prescription_id=prescription_id))
    return show_again(form, url_for("prescriber.prescription", prescription_id=prescription_id))
