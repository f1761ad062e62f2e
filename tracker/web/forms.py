"""WTForms forms of the pages (CSRF through Flask-WTF). Forms check shapes; the rules and the
cross-field checks live in the services, whose errors are shown on the same fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    submit = SubmitField("Sign in")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 12 characters; a long phrase is easiest to remember.",
    )
    submit = SubmitField("Change password")


def show_service_errors(form: FlaskForm, errors: dict[str, list[str]]) -> None:
    """Attach a service's ValidationFailed messages to the form's fields (or the form)."""
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + list(messages)
        else:
            form.form_errors = list(getattr(form, "form_errors", [])) + list(messages)
