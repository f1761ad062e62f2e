"""The prescriber's pages, which the prescriber's office staff use too, except for the acts the
prescriber signs (`prescriber_only`): worklist and settings here; patients (prescriber_patients),
records (prescriber_records) and prescriptions (prescriber_prescriptions) in their own modules,
all on this blueprint. Views translate: read a form, call one service, show its answer."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from tracker.domain.contraception import METHOD_LABELS
from tracker.domain.next_steps import Step, StepKind, Urgency
from tracker.domain.validation import age_on
from tracker.http.access import requires
from tracker.http.requests import context
from tracker.models import Role
from tracker.services import care_team, users
from tracker.services.paging import page_number
from tracker.services.queries import worklist as worklist_service
from tracker.services.queries.patient_history import CATEGORY_LABELS
from tracker.services.queries.worklist import WorklistSort
from tracker.web.formatting import written_date
from tracker.web.prescriber_forms import ActionForm, HomeTestingForm, SearchForm
from tracker.web.shown_again import show_again

bp = Blueprint("prescriber", __name__)
# The worklist's categories, most pressing first, as the filters name them.
URGENCY_LABELS = {
    Urgency.REPORT_DUE: "Registry report due",
    Urgency.BLOCKED: "Blocked",
    Urgency.READY_TO_SIGN: "Ready to sign",
    Urgency.CLOSING: "Closing today or tomorrow",
    Urgency.WAITING: "Waiting for the patient",
    Urgency.NOTHING_DUE: "Nothing due",
}

# The prescriber's own acts (their signature, their settings); everything else the clinic does
# (`clinic`) their office staff do too, on the patients of the prescribers they work for.
prescriber_only = requires(Role.PRESCRIBER)
clinic = requires(Role.PRESCRIBER, Role.STAFF)
# Steps only the prescriber can take: staff see that they wait for the prescriber's signature.
SIGNED_STEPS = frozenset({StepKind.MARK_DISPENSABLE, StepKind.READY_TO_SIGN,
                          StepKind.SIGN_ACKNOWLEDGMENT})

def when(step: Step, today: date) -> str:
    """When a step is due, in words relative to today."""
    due = step.due_on
    if due is None:
        return ""
    if due < today:
        return f"since {written_date(due)}"
    if due == today:
        return "today"
    if due == today + timedelta(days=1):
        return "tomorrow"
    return written_date(due)


@bp.context_processor
def _helpers() -> dict[str, object]:
    return {
        "when": when, "age_on": age_on, "category_label": CATEGORY_LABELS,
        "method_label": METHOD_LABELS, "signs": signs, "signer_name": signer_name,
        "signed_steps": SIGNED_STEPS,
    }


def signs() -> bool:
    """Whether the signed-in user signs (the prescriber) or prepares for a signature (staff)."""
    return g.get("user") is not None and g.user.role == Role.PRESCRIBER


def signer_name(prescriber_id: int) -> str:
    """The prescriber whose signature a staff member's work waits for."""
    return care_team.prescriber_name(context(), prescriber_id)


def page_arg(name: str = "page") -> int:
    return page_number(request.args.get(name, "1"))


@bp.route("/worklist", methods=["GET"])
@clinic
def worklist() -> ResponseReturnValue:
    """The clinic's home page: the patients, each with the next step and its date, most pressing
    first; a filter by category (an unknown one shows every patient) and the order; staff who
    work for several prescribers may show one prescriber's."""
    ctx = context()
    form = SearchForm(request.args)
    prescribers = care_team.in_reach_prescribers(ctx) if not signs() else []
    raw = request.args.get("prescriber", "")
    chosen = int(raw) if raw.isdigit() and len(raw) < 10 else None
    category = request.args.get("category", "")
    sort = request.args.get("sort", "")
    result = worklist_service.worklist(
        ctx, form.q.data or "", page_arg(), prescriber_id=chosen,
        category=Urgency(category) if category in URGENCY_LABELS else None,
        sort=WorklistSort(sort) if sort in set(WorklistSort) else WorklistSort.URGENCY)
    return render_template("prescriber/worklist.html", form=form, worklist=result,
                           prescribers=prescribers, urgency_labels=URGENCY_LABELS)


@bp.route("/settings", methods=["GET", "POST"])
@prescriber_only
def settings() -> ResponseReturnValue:
    """The prescriber's home-testing permission, given with its attestation (RULES.md §3)."""
    form = HomeTestingForm()
    if form.validate_on_submit():
        permitted = form.permit.data == "1"
        users.set_home_testing(context(), permitted)
        flash("Home pregnancy tests are now permitted for your patients." if permitted
              else "Home pregnancy tests are no longer permitted for your patients.")
        return redirect(url_for("prescriber.settings"))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.settings"))
    return render_template("prescriber/settings.html", form=form, user=g.user,
                           staff=care_team.staff_of(context(), g.user.id),
                           end_form=ActionForm())


@bp.route("/settings/staff/<int:staff_id>/end", methods=["POST"])
@prescriber_only
def end_staff(staff_id: int) -> ResponseReturnValue:
    """End a staff member's work for the signed-in prescriber (audited)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    staff = care_team.end_work_for_me(context(), staff_id)
    flash(f"{staff.name} no longer works for you.")
    return redirect(url_for("prescriber.settings"))


def register(app: Flask) -> None:
    # The other modules of the area add their routes to `bp` when imported.
    from tracker.web import (  # noqa: F401
        handover,
        portal_invitations,
        prescriber_patients,
        prescriber_prescriptions,
        prescriber_records,
    )

    app.register_blueprint(bp)
    handover.install(app)
