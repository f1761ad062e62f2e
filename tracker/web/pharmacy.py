"""The pharmacy counter: look an authorization up, record the dispense (at most once), reverse
an undispensed authorization, and the pharmacy's dispense history with a CSV export.

Three screens from lookup to record: the lookup form, the status page (the decision and the
dispense form) and the dispense record. Minimum necessary (API.md): the counter sees only the
decision folded for the pharmacy; no test result, contraception or questionnaire answer reaches
these pages."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from tracker.domain.reasons import ReasonCode
from tracker.http.access import requires
from tracker.http.requests import context, mark_rollback, writes_on_read
from tracker.models import AuthorizationState, Role
from tracker.services import authorizations, dispenses
from tracker.services.dispenses import Lookup
from tracker.services.errors import NoMatch, Refused, Throttled, ValidationFailed
from tracker.services.paging import page_number
from tracker.services.queries import dispense_history
from tracker.web.formatting import cutoff, written_date, written_dates, written_time
from tracker.web.forms import show_service_errors
from tracker.web.pharmacy_forms import (
    DispenseForm,
    ExportForm,
    LookupForm,
    PeriodForm,
    ReverseForm,
    normalize_number,
)
from tracker.web.shown_again import show_again

bp = Blueprint("pharmacy", __name__, url_prefix="/pharmacy")


# --- what the counter is told -------------------------------------------------------------------


def _zone() -> str:
    return str(current_app.config["PROGRAM_TIMEZONE"])


def counter_reasons(found: Lookup) -> list[str]:
    """The folded decision in the counter's words. Only the non-clinical codes of API.md are
    spelled out; anything else says only that the prescriber must act."""
    unmet = found.decision.unmet
    codes = {reason.code for reason in unmet}
    if ReasonCode.ALREADY_DISPENSED in codes:
        # Once dispensed, nothing else about the authorization matters at the counter.
        return [already_dispensed(found)]
    lines: list[str] = []
    for reason in unmet:
        code = reason.code
        if code == ReasonCode.AUTHORIZATION_EXPIRED and reason.closed_on is not None:
            lines.append(f"Authorization expired: it could be dispensed until "
                         f"{cutoff(reason.closed_on, _zone())}. Contact the prescriber for a "
                         f"new one.")
        elif code == ReasonCode.AUTHORIZATION_EXPIRED:
            lines.append("Authorization expired. Contact the prescriber for a new one.")
        elif code == ReasonCode.WINDOW_EXPIRED and reason.closed_on is not None:
            lines.append(f"Window closed on {written_date(reason.closed_on)}: contact the "
                         f"prescriber.")
        elif code == ReasonCode.WINDOW_EXPIRED:
            lines.append("The dispensing window has closed: contact the prescriber.")
        elif code == ReasonCode.NOT_DISPENSABLE:
            lines.append(_not_authorized(found))
        elif code == ReasonCode.PHARMACY_INACTIVE:
            lines.append("Your pharmacy is not active in the program, so it cannot dispense. "
                         + written_dates(reason.message.removeprefix(
                             "The pharmacy is not active. "))
                         + " Ask your program administrator to record the renewal.")
        elif code == ReasonCode.PRESCRIBER_INACTIVE:
            lines.append("The prescriber is not active in the program: this prescription "
                         "cannot be dispensed. The patient needs an active prescriber.")
        else:
            # PRESCRIBER_ACTION_REQUIRED, and any code the counter may not read.
            lines.append("Not ready to dispense: contact the prescriber.")
    return list(dict.fromkeys(lines))


def _not_authorized(found: Lookup) -> str:
    state = found.authorization.state
    if state == AuthorizationState.REVERSED:
        when = found.authorization.closed_at
        on = f" on {written_time(when, _zone())}" if when else ""
        return f"This authorization was reversed{on}: contact the prescriber for a new one."
    if state == AuthorizationState.LAPSED:
        return "This authorization expired unused and was closed: contact the prescriber."
    return "Not authorized yet: contact the prescriber."


def already_dispensed(found: Lookup) -> str:
    """"Already dispensed on … by …": when, by whom and where, from the dispense record."""
    if found.dispense is None:
        return "Already dispensed."
    by = dispense_history.dispensed_by(context(), found.dispense)
    return (f"Already dispensed on {written_time(found.dispense.dispensed_at, _zone())} by "
            f"{by.pharmacist_name} at {by.pharmacy.name} (NCPDP {by.pharmacy.ncpdp_id}).")


# --- views --------------------------------------------------------------------------------------


def _status(found: Lookup, notice: str | None = None) -> ResponseReturnValue:
    carried = {"authorization_number": found.authorization.number,
               "date_of_birth": found.patient.date_of_birth.isoformat()}
    # A form sent back with errors is filled in with what was typed (tracker.web.shown_again).
    dispense_form = DispenseForm(formdata=None, data={
        **carried, "quantity": found.prescription.quantity,
        "days_supply": found.prescription.days_supply})
    reverse_form = ReverseForm(formdata=None, data=carried)
    decision = found.decision
    today = decision.as_of
    last_day = decision.do_not_dispense_after
    own_dispense = (found.dispense is not None
                    and found.dispense.pharmacy_id == context().actor.pharmacy_id)
    page = render_template(
        "pharmacy/status.html", found=found, decision=decision, reasons=counter_reasons(found),
        last_day=last_day, last_day_is_today=last_day == today,
        dispense_form=dispense_form, reverse_form=reverse_form, notice=notice,
        # RULES.md §8: only staff of an active pharmacy reverse an authorization.
        can_reverse=found.authorization.state == AuthorizationState.OPEN and not any(
            reason.code == ReasonCode.PHARMACY_INACTIVE for reason in found.decision.unmet),
        own_dispense=own_dispense,
    )
    return page


def _lookup_page(form: LookupForm, status: int = 200,
                 headers: dict[str, str] | None = None) -> ResponseReturnValue:
    standing = dispense_history.counter_standing(context())
    page = render_template("pharmacy/lookup.html", form=form, standing=standing)
    return page, status, headers or {}


# Lookups shown by a GET of /pharmacy/result/<handle>: the number and the birth date stay in the
# server-side session, so no birth date lands in a URL, and Back or Reload never re-posts a form.
_LOOKUPS_KEY = "_pharmacy_lookups"
_LOOKUPS_KEPT = 5  # a few tabs of the counter at once


def _remember_lookup(number: str, born: date) -> str:
    """A short handle for a lookup, kept in the (server-side) session."""
    kept = dict(session.get(_LOOKUPS_KEY) or {})
    handle = secrets.token_urlsafe(9)
    kept[handle] = {"number": number, "born": born.isoformat()}
    session[_LOOKUPS_KEY] = dict(list(kept.items())[-_LOOKUPS_KEPT:])
    return handle


@bp.route("", methods=["GET", "POST"])
@requires(Role.PHARMACIST)
def lookup() -> ResponseReturnValue:
    """The counter's home page: look an authorization up by its number and the birth date.
    A valid form leads to the result page by a handle (Post/Redirect/Get)."""
    form = LookupForm()
    if request.method == "GET":
        return _lookup_page(form)
    if not form.validate_on_submit():
        return show_again(form, url_for("pharmacy.lookup"))
    handle = _remember_lookup(form.authorization_number.data or "", form.date_of_birth.data)
    return redirect(url_for("pharmacy.result", handle=handle), 303)


@bp.route("/result/<handle>", methods=["GET"])
@requires(Role.PHARMACIST)
@writes_on_read
def result(handle: str) -> ResponseReturnValue:
    """The status page of a lookup. Each showing is a lookup: evaluated now, written to the
    access log and counted by the guessing throttle like the first one."""
    kept = (session.get(_LOOKUPS_KEY) or {}).get(handle)
    if kept is None:
        flash("Look the authorization up again.")
        return redirect(url_for("pharmacy.lookup"))
    form = LookupForm(formdata=None, data={"authorization_number": kept["number"]})
    try:
        found = dispenses.lookup(context(), kept["number"], date.fromisoformat(kept["born"]))
    except NoMatch:
        # The same answer whichever of the two did not match: nothing is revealed. The failed
        # attempt stays in the access log (the guessing throttle counts it).
        show_service_errors(form, {"form": [
            "No authorization matches this number and date of birth. Check both and try again."]})
        return _lookup_page(form, 404)
    except Throttled as exc:
        show_service_errors(form, {"form": [str(exc) + " Try again later."]})
        return _lookup_page(form, 429, {"Retry-After": str(exc.retry_after)})
    return _status(found, notice=session.pop(_NOTICE_KEY, None))


# A refusal is told on the result page it leads back to.
_NOTICE_KEY = "_pharmacy_notice"


def _refused(form: DispenseForm | ReverseForm, notice: str) -> ResponseReturnValue:
    """After a refusal (committed with its audit event): back to the status page, by GET, with
    the notice; the page says why."""
    found = _carried(form)
    session[_NOTICE_KEY] = notice
    handle = _remember_lookup(found.authorization.number, found.patient.date_of_birth)
    return redirect(url_for("pharmacy.result", handle=handle), 303)


def _not_accepted(form: DispenseForm | ReverseForm) -> ResponseReturnValue:
    """A dispense or reversal form with errors: nothing is stored, and the status page shows
    the form again with what was typed and why (Post/Redirect/Get)."""
    mark_rollback()
    found = _carried(form)
    handle = _remember_lookup(found.authorization.number, found.patient.date_of_birth)
    return show_again(form, url_for("pharmacy.result", handle=handle))


def _carried(form: DispenseForm | ReverseForm) -> Lookup:
    """Look the authorization up again from the status page's hidden fields."""
    number = normalize_number(form.authorization_number.data) or ""
    try:
        born = date.fromisoformat(form.date_of_birth.data or "")
    except ValueError:
        abort(400)
    return dispenses.lookup(context(), number, born)


@bp.route("/dispense", methods=["POST"])
@requires(Role.PHARMACIST)
def dispense() -> ResponseReturnValue:
    """Record the dispense: the pharmacist from the login, the pharmacy from their account, the
    time from the server. A second attempt, from any counter, is told who dispensed it."""
    form = DispenseForm()
    found = _carried(form)
    if not form.validate_on_submit():
        return _not_accepted(form)
    ctx = context()
    try:
        row = dispenses.dispense(ctx, found.prescription.id, found.authorization.number,
                                 form.quantity.data, form.days_supply.data,
                                 form.medication_guide_given.data is True)
    except ValidationFailed as exc:
        mark_rollback()
        show_service_errors(form, exc.errors)
        return _not_accepted(form)
    except Refused:
        # The refusal's audit event is committed with the request; look again to say why.
        return _refused(form, "The dispense was not recorded.")
    flash("The dispense is recorded.")
    return redirect(url_for("pharmacy.dispense_record", dispense_id=row.id))


@bp.route("/reverse", methods=["POST"])
@requires(Role.PHARMACIST)
def reverse() -> ResponseReturnValue:
    """Reverse an undispensed authorization (not picked up, wrong entry), with a reason."""
    form = ReverseForm()
    found = _carried(form)
    if not form.validate_on_submit():
        return _not_accepted(form)
    number = found.authorization.number
    try:
        authorizations.reverse(context(), number, form.reason.data, found.patient.date_of_birth)
    except ValidationFailed as exc:
        mark_rollback()
        show_service_errors(form, exc.errors)
        return _not_accepted(form)
    except Refused:
        return _refused(form, "The authorization was not reversed.")
    flash(f"Authorization {number} is reversed; the prescription is back with the "
          f"prescriber, who can issue a new authorization.")
    return redirect(url_for("pharmacy.lookup"))


@bp.route("/dispenses/<int:dispense_id>", methods=["GET"])
@requires(Role.PHARMACIST)
def dispense_record(dispense_id: int) -> ResponseReturnValue:
    """One dispense of this pharmacy (another pharmacy's is not found)."""
    row = dispense_history.get_dispense(context(), dispense_id)
    return render_template("pharmacy/dispense.html", row=row)


def _period(form: PeriodForm) -> tuple[date | None, date | None]:
    return form.date_from.data, form.date_to.data


@bp.route("/dispenses", methods=["GET"])
@requires(Role.PHARMACIST)
def history() -> ResponseReturnValue:
    """The pharmacy's dispenses, newest first, a page at a time, optionally for a period."""
    form = PeriodForm(formdata=request.args)
    ctx = context()
    if request.args and not form.validate():
        return _history_page(form, None), 422
    date_from, date_to = _period(form)
    try:
        found = dispense_history.list_dispenses(ctx, page_number(request.args.get("page")),
                                                date_from, date_to)
    except ValidationFailed as exc:
        show_service_errors(form, exc.errors)
        return _history_page(form, None), 422
    return _history_page(form, found)


def _history_page(form: PeriodForm, found: Any) -> str:
    date_from, date_to = (form.date_from.data, form.date_to.data) if not form.errors else (
        None, None)
    export = ExportForm(formdata=None, data={
        "date_from": date_from.isoformat() if date_from else "",
        "date_to": date_to.isoformat() if date_to else ""})
    period = {k: v.isoformat() for k, v in (("date_from", date_from), ("date_to", date_to)) if v}
    return render_template("pharmacy/history.html", form=form, found=found, export=export,
                           period=period, standing=dispense_history.counter_standing(context()))


def _iso(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed({field: ["Enter the date as YYYY-MM-DD."]}) from None


@bp.route("/dispenses/export", methods=["POST"])
@requires(Role.PHARMACIST)
def export() -> ResponseReturnValue:
    """The history as a CSV file (audited: it carries patient names off the system)."""
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    ctx = context()
    date_from = _iso(form.date_from.data, "date_from")
    date_to = _iso(form.date_to.data, "date_to")
    text, _ = dispenses.export_csv(ctx, date_from, date_to)
    pharmacy = dispense_history.own_pharmacy(ctx)
    name = "-".join(["dispenses", pharmacy.ncpdp_id,
                     date_from.isoformat() if date_from else "start",
                     (date_to or ctx.today()).isoformat()])
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def register(app: Flask) -> None:
    app.register_blueprint(bp)
