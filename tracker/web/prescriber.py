"""The prescriber's pages: worklist and settings here; patients (prescriber_patients),
records (prescriber_records) and prescriptions (prescriber_prescriptions) in their own modules,
all on this blueprint. Views translate: read a form, call one service, show its answer."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from tracker.domain.contraception import METHOD_LABELS
from tracker.domain.next_steps import Step
from tracker.domain.validation import age_on
from tracker.models import Role
from tracker.services import users
from tracker.services.paging import page_number
from tracker.services.queries import worklist as worklist_service
from tracker.services.queries.patient_history import CATEGORY_LABELS
from tracker.web.access import requires
from tracker.web.prescriber_forms import HomeTestingForm, SearchForm
from tracker.web.requests import context

bp = Blueprint("prescriber", __name__)
prescriber_only = requires(Role.PRESCRIBER)

_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def written(day: date | None) -> str:
    """A date as people write it: Dec 3, 2026."""
    if day is None:
        return ""
    return f"{day:%b} {day.day}, {day.year}"


def written_text(text: str) -> str:
    """A service or engine message with its YYYY-MM-DD dates written out."""

    def replace(match: re.Match[str]) -> str:
        try:
            return written(date(*(int(part) for part in match.groups())))
        except ValueError:
            return match.group(0)

    return _ISO_DATE.sub(replace, text or "")


def written_time(moment: datetime | None) -> str:
    """A server time in the program time zone: Dec 3, 2026, 2:05 PM EST."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(current_app.config["PROGRAM_TIMEZONE"]))
    hour = local.hour % 12 or 12
    return f"{written(local.date())}, {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} " \
           f"{local.tzname()}"


def when(step: Step, today: date) -> str:
    """When a step is due, in words relative to today."""
    due = step.due_on
    if due is None:
        return ""
    if due < today:
        return f"since {written(due)}"
    if due == today:
        return "today"
    if due == today + timedelta(days=1):
        return "tomorrow"
    return written(due)


@bp.context_processor
def _helpers() -> dict[str, object]:
    return {
        "written": written, "written_text": written_text, "written_time": written_time,
        "when": when, "age_on": age_on, "category_label": CATEGORY_LABELS,
        "method_label": METHOD_LABELS,
    }


def page_arg(name: str = "page") -> int:
    return page_number(request.args.get(name, "1"))


@bp.route("/worklist", methods=["GET"])
@prescriber_only
def worklist() -> ResponseReturnValue:
    """The prescriber's home page: their patients, each with the next step and its date."""
    form = SearchForm(request.args)
    result = worklist_service.worklist(context(), form.q.data or "", page_arg())
    return render_template("prescriber/worklist.html", form=form, worklist=result)


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
        prescriber_patients,
        prescriber_prescriptions,
        prescriber_records,
    )

    app.register_blueprint(bp)
