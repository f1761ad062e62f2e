"""The forms of the patient's pages, labelled in the page's language (lazy translations, read
when the page is drawn). They check shapes only; the services decide."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.domain.comprehension import QUESTIONS
from tracker.domain.contraception import PRIMARY_METHODS, SECONDARY_METHODS
from tracker.web.forms import RestorableForm
from tracker.web.portal_words import METHODS
from tracker.web.portal_words import QUESTIONS as QUESTION_WORDS

CODE_MAX = 40


def unreadable_date(form: FlaskForm, field: DateField) -> None:
    """WTForms' own message for an unreadable date is English and names no format."""
    if field.data is None and field.raw_data and field.raw_data[0]:
        field.errors[:] = [_l("Enter the date as YYYY-MM-DD, for example 1999-04-30.")]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email address"),
                       validators=[InputRequired(_l("Enter your email address.")),
                                   Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"),
                             validators=[InputRequired(_l("Enter your password.")),
                                         Length(max=128)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField(_l("Sign in"))


class JoinForm(FlaskForm):
    code = StringField(
        _l("Invitation code"), validators=[
            InputRequired(_l("Enter the invitation code from your slip.")),
            Length(max=CODE_MAX)],
        description=_l("16 letters and digits, as printed on your slip."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})
    date_of_birth = DateField(
        _l("Your birth date"), validators=[InputRequired(_l("Enter your birth date."))],
        description=_l("To prove the invitation is yours."),
        render_kw={"autocomplete": "bday"})
    email = EmailField(
        _l("Your email address"),
        validators=[InputRequired(_l("Enter a valid email address.")), Length(max=254)],
        description=_l("You sign in with it."), render_kw={"autocomplete": "email"})
    password = PasswordField(
        _l("Choose a password"),
        validators=[InputRequired(_l("Choose a password.")), Length(max=200)],
        description=_l("At least 12 characters; a long phrase is easiest to remember."),
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField(_l("Create my account"))

    def validate_date_of_birth(self, field: DateField) -> None:
        unreadable_date(self, field)


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _methods(label: str, codes: tuple[str, ...]) -> _Checkboxes:
    # Unknown codes are the service's to name.
    return _Checkboxes(label, choices=[SelectChoice(m, METHODS[m]) for m in codes],
                       validate_choice=False)


ANSWER_CHOICES = [SelectChoice("true", _l("True")), SelectChoice("false", _l("False"))]


def question_field(question_id: str) -> str:
    return "q_" + question_id.replace("-", "_")


class MonthlyForm(RestorableForm):
    """The monthly questions and the patient's own statement of their birth control."""

    primary_methods = _methods(_l("Primary methods"), PRIMARY_METHODS)
    secondary_methods = _methods(_l("Other methods"), SECONDARY_METHODS)
    abstinence = BooleanField(_l("I commit to abstinence (instead of methods)"))
    submit = SubmitField(_l("Send my answers"))

    def answer_fields(self) -> list[tuple[str, Field]]:
        return [(q.id, self[question_field(q.id)]) for q in QUESTIONS]

    def answers(self) -> dict[str, object]:
        """The answers as true/false; an unanswered one is left out (the service names it)."""
        values = {"true": True, "false": False}
        return {qid: values[f.data] for qid, f in self.answer_fields() if f.data in values}

    def methods(self) -> list[str]:
        return list(self.primary_methods.data or []) + list(self.secondary_methods.data or [])


for _q in QUESTIONS:
    setattr(MonthlyForm, question_field(_q.id),
            RadioField(QUESTION_WORDS[_q.id], choices=ANSWER_CHOICES, validate_choice=False))
