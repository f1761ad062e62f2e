"""The prescriber's pages: worklist and settings here; patients (prescriber_patients),
records (prescriber_records) and prescriptions (prescriber_prescriptions) in their own modules,
all on this blueprint. Views translate: read a form, call one service, show its answer."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from tracker.domain.contraception import METHOD_LABELS
from tracker.domain.next_steps import Step, Urgency
from tracker.domain.validation import age_on
from tracker.http.access import requires
from tracker.http.requests import context
from tracker.models import Role
from tracker.services import users
from tracker.services.paging import page_number
from tracker.services.queries import worklist as worklist_service
from tracker.services.queries.patient_history import CATEGORY_LABELS
from tracker.services.queries.worklist import WorklistSort
from tracker.web.formatting import written_date
from tracker.web.prescriber_forms import HomeTestingForm, SearchForm

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
prescriber_only = requires(Role.PRESCRIBER)

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
        "method_label": METHOD_LABELS,
    }


def page_arg(name: str = "page") -> int:
    return page_number(request.args.get(name, "1"))


@bp.route("/worklist", methods=["GET"])
@prescriber_only
def worklist() -> ResponseReturnValue:
    """The prescriber's home page: their patients, each with the next step and its date, most
    pressing first; a filter by category (an unknown one shows every patient) and the order."""
    form = SearchForm(request.args)
    category = request.args.get("category", "")
    sort = request.args.get("sort", "")
    result = worklist_service.worklist(
        context(), form.q.data or "", page_arg(),
        category=Urgency(category) if category in URGENCY_LABELS else None,
        sort=WorklistSort(sort) if sort in set(WorklistSort) else WorklistSort.URGENCY)
    return render_template("prescriber/worklist.html", form=form, worklist=result,
                           urgency_labels=URGENCY_LABELS)


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
    status = 422 if request.method == "POST" else 200
    return render_template("prescriber/settings.html", form=form, user=g.user), status


def register(app: Flask) -> None:
    # The other modules of the area add their routes to `bp` when imported.
    from tracker.web import (  # noqa: F401
        handover,
        prescriber_patients,
        prescriber_prescriptions,
        prescriber_records,
    )

    app.register_blueprint(bp)
    handover.install(app)
