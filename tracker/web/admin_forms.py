"""The administration's forms. They check shapes only; the services decide what is accepted and
their messages are shown on the same fields."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from tracker.services.administration import REASON_MAX
from tracker.services.pharmacies import NAME_MAX
from tracker.services.queries.token_list import TOKEN_STATUSES
from tracker.web.forms import explain_unreadable_date
from tracker.web.shown_again import ShownAgainForm

ROLE_CHOICES = [("prescriber", "Prescriber"), ("staff", "Office staff (a prescriber's)"),
                ("pharmacist", "Pharmacy staff"), ("admin", "Administrator"),
                ("auditor", "Auditor (reports and audit trails, read-only)")]
WORKS_FOR_HELP = ("The emails of the prescribers they work for, one per line. Office staff "
                  "prepare those prescribers' work and never sign for them.")


def _choices(pairs: list[tuple[str, str]]) -> list[Any]:
    """Select options in the form the installed WTForms expects (SelectChoice from 3.3 on,
    where (value, label) pairs are deprecated)."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # pragma: no cover - WTForms before 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def _reason(label: str, hint: str) -> TextAreaField:
    return TextAreaField(label, validators=[
        DataRequired("Give the reason; it is kept in the audit trail."),
        Length(max=REASON_MAX, message=f"At most {REASON_MAX} characters.")],
        description=hint)


class PharmacyForm(ShownAgainForm):
    name = StringField("Name", validators=[DataRequired("Enter the pharmacy's name."),
                                           Length(max=NAME_MAX)])
    ncpdp_id = StringField("NCPDP id", validators=[DataRequired("Enter the NCPDP id.")],
                           description="The pharmacy's 7-digit NCPDP provider id.",
                           render_kw={"inputmode": "numeric", "autocomplete": "off"})
    activated_on = DateField("Activation date", validators=[Optional()],
                             description="Leave empty for today. The activation counts for "
                                         "365 days and is renewed every year.")
    trained_on = DateField("Staff training attestation date", validators=[Optional()],
                           description="Leave empty for today. The attestation counts for "
                                       "365 days and is renewed every year.")
    submit = SubmitField("Create the pharmacy")

    def validate_activated_on(self, field: DateField) -> None:
        explain_unreadable_date(field)

    def validate_trained_on(self, field: DateField) -> None:
        explain_unreadable_date(field)


class PharmacyEditForm(PharmacyForm):
    activated_on = DateField("Activation date",
                             validators=[InputRequired("Enter the activation date.")])
    trained_on = DateField("Staff training attestation date", validators=[Optional()],
                           description="Empty when no attestation is on file.")
    reason = _reason("Reason for the change", "For example: NCPDP id entered wrongly.")
    submit = SubmitField("Save the changes")


class ReactivationForm(ShownAgainForm):
    activated_on = DateField("Reactivation date",
                             validators=[InputRequired("Enter the reactivation date.")])
    submit = SubmitField("Record the reactivation")

    def validate_activated_on(self, field: DateField) -> None:
        explain_unreadable_date(field)


class TrainingForm(ShownAgainForm):
    trained_on = DateField("Attestation date",
                           validators=[InputRequired("Enter the attestation date.")])
    attested_by = StringField(
        "Attested by", validators=[DataRequired("Enter who signed the attestation."),
                                   Length(max=NAME_MAX)],
        description="The pharmacist who attested that the staff are trained.")
    submit = SubmitField("Record the attestation")

    def validate_trained_on(self, field: DateField) -> None:
        explain_unreadable_date(field)


class UserForm(ShownAgainForm):
    role = SelectField("Role", choices=_choices(ROLE_CHOICES))
    name = StringField("Full name", validators=[DataRequired("Enter the person's name."),
                                                Length(max=NAME_MAX)])
    email = EmailField("Email", validators=[DataRequired("Enter the email address."),
                                            Length(max=254)],
                       description="They sign in with it.")
    npi = StringField("NPI (prescribers)", validators=[Optional(), Length(max=10)],
                      description="The prescriber's 10-digit National Provider Identifier.",
                      render_kw={"inputmode": "numeric", "autocomplete": "off"})
    pharmacy = StringField("Pharmacy NCPDP id (pharmacy staff)",
                           validators=[Optional(), Length(max=7)],
                           description="The NCPDP id of the pharmacy they work at.",
                           render_kw={"inputmode": "numeric", "autocomplete": "off"})
    works_for = TextAreaField("Works for (office staff)", validators=[Length(max=5000)],
                              description=WORKS_FOR_HELP)
    submit = SubmitField("Create the user")


class WorksForForm(ShownAgainForm):
    works_for = TextAreaField("Works for", validators=[Length(max=5000)],
                              description=WORKS_FOR_HELP)
    submit = SubmitField("Save whom they work for")


class DeactivateForm(ShownAgainForm):
    reason = _reason("Reason for deactivating",
                     "For example: left the practice. Their sessions end and their API "
                     "tokens are revoked at once.")
    submit = SubmitField("Deactivate")


class ReactivateForm(ShownAgainForm):
    reason = _reason("Reason for reactivating", "For example: returned from leave.")
    submit = SubmitField("Reactivate")


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""

    submit = SubmitField("Confirm")


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or email", validators=[Optional(), Length(max=100)])
    role = SelectField("Role", choices=_choices([("", "Any role"), *ROLE_CHOICES]),
                       validators=[Optional()])
    status = SelectField("Status", choices=_choices([("", "Any status"), ("active", "Active"),
                                                     ("deactivated", "Deactivated")]),
                         validators=[Optional()])
    submit = SubmitField("Show")


class PharmacyFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Name or NCPDP id", validators=[Optional(), Length(max=100)])
    submit = SubmitField("Show")


class TokenFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Tokens",
                         choices=_choices([(s, s.capitalize()) for s in TOKEN_STATUSES]),
                         validators=[Optional()])
    submit = SubmitField("Show")
