"""The comprehension hand-over: the clinic's screen is handed to the patient, who answers the
questions of RULES.md §9 on it. While the patient holds it, the signed-in session opens nothing
but the questions: every other page of the app leads to "hand the screen back", which the
clinic leaves only by re-entering the signed-in user's password (counted with failed sign-ins,
so the patient cannot guess it either)."""

from __future__ import annotations

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from wtforms import PasswordField, SubmitField

from tracker.http.access import requires
from tracker.http.requests import context
from tracker.models import Role
from tracker.services.errors import SignatureRejected
from tracker.services.signing import ReenteredPassword, take_back_screen
from tracker.web.prescriber import bp
from tracker.web.shown_again import ShownAgainForm, show_again

SESSION_KEY = "handover_patient_id"
# What the patient may open while holding the screen: the questions of that patient, the page
# that hands the screen back, signing out, and what every page loads.
_OPEN_DURING_HANDOVER = frozenset({
    "prescriber.comprehension", "prescriber.end_handover", "auth.logout", "static",
    "health.healthz",
})


class EndHandoverForm(ShownAgainForm):
    password = PasswordField("Your password (the clinic's, not the patient's)")
    submit = SubmitField("Take the screen back")


def start(patient_id: int) -> None:
    """The screen is now the patient's: lock the session to the questions."""
    session[SESSION_KEY] = patient_id


def _held_by_patient() -> int | None:
    value = session.get(SESSION_KEY)
    return value if isinstance(value, int) else None


def _guard() -> ResponseReturnValue | None:
    patient_id = _held_by_patient()
    if patient_id is None or g.get("user") is None:
        return None
    endpoint = request.endpoint or ""
    if endpoint == "prescriber.comprehension" and (request.view_args or {}).get(
            "patient_id") == patient_id:
        return None
    if endpoint in _OPEN_DURING_HANDOVER - {"prescriber.comprehension"}:
        return None
    return redirect(url_for("prescriber.end_handover"))


@bp.route("/handover/end", methods=["GET", "POST"])
@requires(Role.PRESCRIBER, Role.STAFF)
def end_handover() -> ResponseReturnValue:
    """Hand the screen back to the clinic: the signed-in user re-enters their password."""
    patient_id = _held_by_patient()
    if patient_id is None:
        return redirect(url_for("prescriber.worklist"))
    form = EndHandoverForm()
    if form.validate_on_submit():
        try:
            take_back_screen(context(), ReenteredPassword(form.password.data or ""))
        except SignatureRejected as exc:
            # The failed attempt is counted (committed with this request).
            form.password.errors = [str(exc)]
        else:
            session.pop(SESSION_KEY, None)
            return redirect(url_for("prescriber.patient", patient_id=patient_id))
    if request.method == "POST":
        return show_again(form, url_for("prescriber.end_handover"))
    return render_template("prescriber/handover_end.html", form=form, patient_id=patient_id)


def install(app: Flask) -> None:
    app.before_request(_guard)
