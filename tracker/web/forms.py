"""WTForms forms of the pages (CSRF through Flask-WTF). Forms check shapes; the rules and the
cross-field checks live in the services, whose errors are shown on the same fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import g, request
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.services.tokens import LABEL_MAX
from tracker.web.shown_again import ShownAgainForm


class RestorableForm(ShownAgainForm):
    """A data-entry form that, opened right after signing in again, shows what was typed before
    the session expired (tracker.http.expired_forms). It is only filled in, never sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        restored = g.get("restored_form")
        if (restored is not None and request.method == "GET" and not args
                and "formdata" not in kwargs):
            kwargs["formdata"] = restored
        super().__init__(*args, **kwargs)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    submit = SubmitField("Sign in")


class ChangePasswordForm(ShownAgainForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 12 characters; a long phrase is easiest to remember.",
    )
    submit = SubmitField("Change password")


class OwnTokenForm(ShownAgainForm):
    label = StringField("Label", validators=[Optional(), Length(max=LABEL_MAX)],
                        description="What the token is for, for example: practice system.")
    password = PasswordField(
        "Your password", validators=[DataRequired(), Length(max=128)],
        description="Re-enter it: an authorization sent with this token is your signature.")
    submit = SubmitField("Create a token")


class RevokeOwnTokenForm(FlaskForm):
    """The revoke button: only the CSRF token."""

    submit = SubmitField("Revoke")


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 12 characters; a long phrase is easiest to remember.",
    )
    repeat_password = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", message="The two passwords differ.")],
    )
    submit = SubmitField("Set the new password")


def show_service_errors(form: FlaskForm, errors: Mapping[str, Sequence[str]],
                        aliases: Mapping[str, str] | None = None) -> None:
    """Attach a service's ValidationFailed messages to the form's fields (or, for a name that is
    no field, such as "form", to the form), under the form's own name for a field the service
    calls differently (`aliases`)."""
    aliases = aliases or {}
    for name, messages in errors.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
        else:
            form.form_errors = list(getattr(form, "form_errors", [])) + list(messages)


def explain_unreadable_date(field: DateField) -> None:
    """A field validator: WTForms' own message for an unreadable date does not say what is
    accepted; this one names the format the input takes."""
    if field.data is None and field.raw_data and field.raw_data[0]:
        field.errors[:] = ["Enter the date as YYYY-MM-DD."]
