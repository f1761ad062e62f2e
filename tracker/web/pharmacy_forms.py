"""The pharmacy counter's forms. They check shapes only; the dispensing rules live in the
services, whose messages are shown on the same fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from tracker.services.authorizations import AUTHORIZATION_GROUPS
from tracker.services.codes import printed_code
from tracker.web.forms import explain_unreadable_date
from tracker.web.shown_again import ShownAgainForm

NUMBER_MAX = 20
REASON_MAX = 500


def normalize_number(value: str | None) -> str | None:
    """An authorization number as typed ("7k2m 9qxd 4tpa", "7K2M9QXD4TPA") in its printed form
    ("7K2M-9QXD-4TPA"). Anything that does not look like one is returned trimmed, unchanged."""
    if value is None:
        return None
    return printed_code(value, AUTHORIZATION_GROUPS)


def _whole_number(field: IntegerField) -> None:
    if field.data is None and field.raw_data and field.raw_data[0]:
        field.errors[:] = ["Give a whole number."]


class LookupForm(ShownAgainForm):
    authorization_number = StringField(
        "Authorization number",
        validators=[DataRequired("Enter the authorization number."), Length(max=NUMBER_MAX)],
        filters=[normalize_number],
        description="As given by the prescriber's office, for example 7K2M-9QXD-4TPA.",
        render_kw={"autocomplete": "off", "autofocus": True, "spellcheck": "false"},
    )
    date_of_birth = DateField(
        "Patient's date of birth",
        validators=[InputRequired("Enter the patient's date of birth (YYYY-MM-DD).")],
        description="Pick the date, or type it as YYYY-MM-DD.",
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField("Look up")

    def validate_date_of_birth(self, field: DateField) -> None:
        explain_unreadable_date(field)


class _Carried(ShownAgainForm):
    """The looked-up authorization, carried from the status page to the next step."""

    authorization_number = HiddenField(validators=[DataRequired(), Length(max=NUMBER_MAX)])
    date_of_birth = HiddenField(validators=[DataRequired(), Length(max=10)])


class DispenseForm(_Carried):
    quantity = IntegerField(
        "Quantity dispensed",
        validators=[InputRequired("Enter the quantity dispensed.")],
        description="Not more than the prescribed quantity.",
    )
    days_supply = IntegerField(
        "Days' supply",
        validators=[InputRequired("Enter the days' supply dispensed.")],
        description="Not more than the prescribed days' supply.",
    )
    def validate_quantity(self, field: IntegerField) -> None:
        _whole_number(field)

    def validate_days_supply(self, field: IntegerField) -> None:
        _whole_number(field)

    medication_guide_given = BooleanField(
        "I handed the Medication Guide to the patient",
        description="Required: the Medication Guide is given with every fill.",
    )
    submit = SubmitField("Record the dispense")


class ReverseForm(_Carried):
    reason = TextAreaField(
        "Reason for reversing",
        validators=[DataRequired("Say why the authorization is reversed."),
                    Length(max=REASON_MAX, message=f"At most {REASON_MAX} characters.")],
        description="For example: not picked up, entered for the wrong prescription.",
    )
    submit = SubmitField("Reverse the authorization")


class PeriodForm(FlaskForm):
    """The history's period filter (a GET form: it changes nothing)."""

    class Meta:
        csrf = False

    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    submit = SubmitField("Show")

    def validate_date_from(self, field: DateField) -> None:
        explain_unreadable_date(field)

    def validate_date_to(self, field: DateField) -> None:
        explain_unreadable_date(field)


class ExportForm(FlaskForm):
    """Download the history as CSV (a POST: the export is audited)."""

    date_from = HiddenField()
    date_to = HiddenField()
    submit = SubmitField("Download CSV")
