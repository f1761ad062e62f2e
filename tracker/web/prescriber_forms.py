"""The forms of the prescriber's pages (CSRF through Flask-WTF). Forms check shapes only: a date
is a date, a number a number. Whether a value is accepted is the services' decision; their
messages come back on the same fields (see `tracker.web.forms.show_service_errors`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.db import INT_MAX
from tracker.domain.comprehension import QUESTIONS
from tracker.domain.contraception import METHOD_LABELS, PRIMARY_METHODS, SECONDARY_METHODS
from tracker.web.forms import RestorableForm
from tracker.web.shown_again import ShownAgainForm

CATEGORY_CHOICES = [
    SelectChoice("can_get_pregnant", "Can get pregnant"),
    SelectChoice("cannot_get_pregnant", "Cannot get pregnant"),
]
# RULES.md §3, as help for the prescriber who decides.
CATEGORY_HELP = (
    "Decided on reproductive potential, not gender. The usual cases of 'cannot get pregnant' "
    "are a hysterectomy, removal of both ovaries (bilateral oophorectomy) or medically "
    "confirmed menopause. A tubal ligation still counts as 'can get pregnant'."
)
RESULT_CHOICES = [SelectChoice("negative", "Negative"), SelectChoice("positive", "Positive")]
SETTING_CHOICES = [
    SelectChoice("lab", "CLIA-certified laboratory"),
    SelectChoice("office", "Medical office (another medical setting)"),
    SelectChoice("home", "Home test by the patient"),
]
ANSWER_CHOICES = [SelectChoice("true", "True"), SelectChoice("false", "False")]


class WrittenDateField(DateField):
    """A date picked, or typed as YYYY-MM-DD or MM/DD/YYYY (the way US offices write dates,
    for a browser that shows a plain text box). Left empty it is None, and the service says
    what is missing; anything else that is not a real date is a field error here."""

    HINT = "Pick the date, or type it as YYYY-MM-DD or MM/DD/YYYY."

    def __init__(self, label: str, **kw: Any) -> None:
        kw.setdefault("description", self.HINT)
        super().__init__(label, **kw)

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = (valuelist[0] if valuelist else "") or ""
        text = str(text).strip()
        if not text:
            self.data = None
            return
        self.data = _typed_date(text)
        if self.data is None:
            raise ValueError("Enter a real date as YYYY-MM-DD or MM/DD/YYYY.")


def _typed_date(text: str) -> date | None:
    """YYYY-MM-DD, or MM/DD/YYYY with a four-digit year (a two-digit year would have to guess
    the century of a birth date); None for anything else or a day the calendar lacks."""
    try:
        if "/" in text:
            parts = text.split("/")
            if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
                return date(int(parts[2]), int(parts[0]), int(parts[1]))
            return None
        return date.fromisoformat(text)
    except ValueError:
        return None


class WholeNumberField(IntegerField):
    """A whole number; left empty it is None (the service says what is missing)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str((valuelist[0] if valuelist else "") or "").strip()
        if not text:
            self.data = None
            return
        try:
            self.data = int(text)
        except ValueError:
            self.data = None
            raise ValueError("Enter a whole number, in digits.") from None


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes, each with its own label."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _radio(label: str, choices: list[SelectChoice], **kw: Any) -> RadioField:
    # Choices are checked by the services, whose messages name what is accepted.
    return RadioField(label, choices=choices, validate_choice=False, **kw)


def _methods(label: str, codes: Sequence[str]) -> CheckboxesField:
    return CheckboxesField(label, choices=[SelectChoice(c, METHOD_LABELS[c]) for c in codes],
                           validate_choice=False)


def whole_number(value: str | None) -> int | None:
    """A hidden id sent back by a form, or None when it is absent or not a number."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 and int(text) <= INT_MAX else None


class SearchForm(FlaskForm):
    """The worklist search (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Search",
                    description="Part of the name, or “Last, First”; the birth date as "
                                "YYYY-MM-DD or MM/DD/YYYY; or a program, prescription or "
                                "authorization number.")


class PatientForm(RestorableForm):
    first_name = StringField("First name")
    last_name = StringField("Last name")
    date_of_birth = WrittenDateField("Birth date")
    category = _radio("Category", CATEGORY_CHOICES, description=CATEGORY_HELP)
    # Office staff who work for several prescribers choose whose patient it is (by NPI); the
    # service checks the choice is one of theirs.
    prescriber_npi = SelectField("Prescriber", choices=[], validate_choice=False,
                                 description="The prescriber the patient is registered with.")
    # Sent by the "Register anyway" button of the possible-duplicate warning.
    register_anyway = BooleanField("Register anyway")
    submit = SubmitField("Register the patient")


class AcknowledgmentForm(RestorableForm):
    signed_on = WrittenDateField("Date of signing")
    patient_signature = StringField(
        "Patient's signature: full name, typed by the patient",
        description="As registered; capitals and spacing do not matter.")
    guardian_signature = StringField(
        "Parent or guardian's signature: full name",
        description="Needed when the patient is under 18 on the date of signing.")
    guardian_relationship = StringField(
        "Relationship of the parent or guardian to the patient",
        description="For example: mother, father, legal guardian.")
    understood = BooleanField(
        "The patient confirms the meaning of this signature: I have read and understood.",
        validators=[DataRequired(
            "The patient must confirm they have read and understood the form.")])
    witness_password = PasswordField(
        "Your password, as the witnessing prescriber",
        validators=[DataRequired("Enter your password to witness the signature.")])
    submit = SubmitField("Record the signature")


class _Correction(RestorableForm):
    corrects_id = HiddenField()
    # Sent by the "Record anyway" button of the same-day duplicate warning.
    record_anyway = BooleanField("Record anyway")
    correction_reason = TextAreaField(
        "Reason for the correction",
        description="Needed when this entry corrects an earlier one; the earlier version is "
                    "kept.")


class CounselingForm(_Correction):
    counseled_on = WrittenDateField("Date of the counseling")
    submit = SubmitField("Record the counseling")


class PregnancyTestForm(_Correction):
    collected_on = WrittenDateField("Date the specimen was collected")
    result = _radio("Result", RESULT_CHOICES)
    setting = _radio("Where the test was done", SETTING_CHOICES)
    submit = SubmitField("Record the test")


class ContraceptionForm(_Correction):
    recorded_on = WrittenDateField("Date of this entry")
    started_on = WrittenDateField("Date the contraception (or abstinence) started")
    primary_methods = _methods("Primary methods", PRIMARY_METHODS)
    secondary_methods = _methods("Secondary methods", SECONDARY_METHODS)
    abstinence = BooleanField("Commitment to abstinence (instead of methods)")
    submit = SubmitField("Record the contraception")


def question_field(question_id: str) -> str:
    """The form field that holds the answer to a comprehension question."""
    return "q_" + question_id.replace("-", "_")


class ComprehensionForm(RestorableForm):
    """The patient's answers and their own statement of the contraception they use; one
    true/false field per question of tracker.domain.comprehension.QUESTIONS (added below)."""

    primary_methods = _methods("Primary methods", PRIMARY_METHODS)
    secondary_methods = _methods("Secondary methods", SECONDARY_METHODS)
    abstinence = BooleanField("I commit to abstinence (instead of methods)")
    submit = SubmitField("Send my answers")

    def answer_fields(self) -> list[tuple[str, Field]]:
        return [(q.id, self[question_field(q.id)]) for q in QUESTIONS]

    def answers(self) -> dict[str, object]:
        """The answers as true/false; an unanswered question is left out (the service names
        it)."""
        values = {"true": True, "false": False}
        out: dict[str, object] = {}
        for question_id, field in self.answer_fields():
            if field.data in values:
                out[question_id] = values[field.data]
        return out


for _q in QUESTIONS:
    setattr(ComprehensionForm, question_field(_q.id), _radio(_q.statement, ANSWER_CHOICES))


class PrescriptionForm(RestorableForm):
    written_on = WrittenDateField("Date written")
    days_supply = WholeNumberField("Days' supply")
    quantity = WholeNumberField("Quantity (capsules)")
    refills = WholeNumberField(
        "Refills", default=0,
        description="Isotretinoin has no refills: every fill needs a new prescription.")
    submit = SubmitField("Write the prescription")


class ReverseForm(ShownAgainForm):
    reason = TextAreaField("Reason for reversing",
                           description="For example: entered in error, not picked up.")
    submit = SubmitField("Reverse the authorization")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AuthorizeForm(ShownAgainForm):
    """Marking dispensable is the prescriber's electronic signature on the authorization: it
    needs their password again, even inside a signed-in session."""

    password = PasswordField(
        "Your password",
        description="Signs the authorization: \"authorized for dispensing\", with your name, "
                    "the date and the time.")


class EndCourseForm(RestorableForm):
    last_dose_on = WrittenDateField("Date of the last dose")
    submit = SubmitField("End the course")


class CategoryForm(RestorableForm):
    category = _radio("New category", CATEGORY_CHOICES, description=CATEGORY_HELP)
    reason = TextAreaField("Reason for the change",
                           validators=[Length(max=500, message="At most 500 characters.")])
    submit = SubmitField("Change the category")


class HomeTestingForm(ShownAgainForm):
    permit = HiddenField()
    attestation = BooleanField(
        "I attest that my practice has a process that guards against misread or falsified "
        "home pregnancy test results.")
    submit = SubmitField("Save")

    def validate_attestation(self, field: BooleanField) -> None:
        # The permission is given only with its attestation (RULES.md §3).
        if self.permit.data == "1" and not field.data:
            raise ValidationError("To permit home tests, tick the attestation.")


LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("es", "Spanish (español)")]


class RemindersForm(RestorableForm):
    email = StringField("Patient's email address",
                        description="Optional: reminders go here. Leave it blank for none.")
    language = _radio("Language of the reminders", LANGUAGE_CHOICES)
    opted_out = BooleanField("The patient does not want reminder emails")
    submit = SubmitField("Save")
