"""The clinic invites a patient to the patient portal: a button on the patient's page makes a
new invitation (voiding any earlier one) and shows the printable slip with the portal's link and
the code. The code is shown in this answer only; it is never stored."""

from __future__ import annotations

from flask import render_template, url_for
from flask.typing import ResponseReturnValue

from tracker.http.requests import context
from tracker.services import portal_accounts
from tracker.web.prescriber import bp, clinic


def invitation_url(code: str) -> str:
    """The link printed on the slip (and answered by the API)."""
    return url_for("portal.join", code=code, _external=True)


@bp.route("/patients/<int:patient_id>/portal-invitation", methods=["POST"])
@clinic
def invite_to_portal(patient_id: int) -> ResponseReturnValue:
    """A new invitation (the app's CSRF protection has checked the form's token)."""
    invitation = portal_accounts.issue_invitation(context(), patient_id)
    return render_template("prescriber/portal_slip.html", invitation=invitation,
                           url=invitation_url(invitation.code),
                           join_url=url_for("portal.join", _external=True),
                           has_account=portal_accounts.account_of(context(), patient_id)
                           is not None)
