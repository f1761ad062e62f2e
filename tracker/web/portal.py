"""The patient's own pages (the role `patient`), in English or Spanish: setting up the account
with the clinic's invitation, the patient's overview (enrolled or not, what the next fill still
needs and from whom, the program number, open authorizations with their QR code), the monthly
questions, and the warning with the patient's own signed acknowledgment.

A patient's account reaches nothing but these pages: every staff page answers 403 (their
roles are declared there), and the pages here read only the signed-in patient's own record
(services.portal_accounts.portal_patient), so nothing else is ever found."""

from __future__ import annotations

import io

import segno
from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from tracker.domain.comprehension import QUESTIONS
from tracker.http import sessions
from tracker.http.access import public, requires
from tracker.http.requests import context, mark_rollback
from tracker.models import Role
from tracker.services import auth as auth_service
from tracker.services import portal_accounts, portal_tasks
from tracker.services.errors import NoMatch, NotFound, Throttled, ValidationFailed
from tracker.services.queries import portal_overview
from tracker.web import portal_words
from tracker.web.auth import LoginUser, home_for, restore_draft, safe_next
from tracker.web.portal_forms import JoinForm, LoginForm, MonthlyForm, question_field
from tracker.web.shown_again import notes, show_again

bp = Blueprint("portal", __name__, url_prefix="/portal")
patient_only = requires(Role.PATIENT)


def _show_errors(form: JoinForm | MonthlyForm | LoginForm, errors: dict[str, list[str]],
                 aliases: dict[str, str] | None = None) -> None:
    """A service's messages on the form's fields, in the page's language."""
    aliases = aliases or {}
    for name, messages in errors.items():
        name = aliases.get(name, name)
        if name.startswith("answers."):
            name = question_field(name.removeprefix("answers."))
        field = getattr(form, name, None)
        words = [portal_words.message(m) for m in messages]
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + words
        else:
            form.form_errors = list(getattr(form, "form_errors", [])) + words


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """The patient's sign-in page, in their language: the same accounts, checks, back-off and
    audit as the staff's sign-in page (tracker.web.auth.login)."""
    form = LoginForm()
    expired = session.pop("_expired", False)
    if form.validate_on_submit():
        result = auth_service.authenticate(context(), form.email.data or "",
                                           form.password.data or "")
        if result.user is not None:
            sessions.rotate(session)
            login_user(LoginUser(result.user))
            # A form sent after the session had expired is filled in again (expired_forms).
            restore_draft(result.user.id, request.args.get("draft"))
            if result.user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next"))
                            or url_for(home_for(result.user.role)))
        if result.retry_after is not None:
            form.form_errors = [portal_words.wait_message(result.retry_after)]
            response = make_response(render_template("portal/login.html", form=form), 429)
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        form.form_errors = [portal_words.message(result.message or auth_service.GENERIC_FAILURE)]
        return render_template("portal/login.html", form=form), 200
    status = 422 if request.method == "POST" else 200
    return render_template("portal/login.html", form=form, expired=expired), status


@bp.route("/join", methods=["GET", "POST"])
@public
def join() -> ResponseReturnValue:
    """Set up the account with the invitation of the printed slip (the code travels in the
    link's query string, which the access log never holds, or is typed)."""
    form = JoinForm(data={"code": request.args.get("code", "")} if request.method == "GET"
                    else None)
    status = 200
    if form.validate_on_submit():
        try:
            portal_accounts.accept_invitation(
                context(), form.code.data or "", form.date_of_birth.data,
                form.email.data or "", form.password.data or "",
                fast_hash=current_app.config["ARGON2_FAST"])
        except Throttled as exc:
            # The refused attempt is audited: committed with this answer.
            form.form_errors = [portal_words.message(str(exc))]
            response = make_response(render_template("portal/join.html", form=form), 429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except NoMatch as exc:
            status = 422  # the wrong birth date is audited and counted: committed
            form.date_of_birth.errors = [portal_words.message(str(exc))]
        except NotFound as exc:
            mark_rollback()
            status = 422
            form.code.errors = [portal_words.message(str(exc))]
        except ValidationFailed as exc:
            mark_rollback()
            status = 422
            _show_errors(form, exc.errors)
        else:
            if g.get("user") is not None:
                logout_user()
            sessions.end(session)
            flash(_("Your account is ready. Sign in with your email address and password."))
            return redirect(url_for("portal.login"))
    elif request.method == "POST":
        status = 422
    return render_template("portal/join.html", form=form), status


def _long_date(day: object) -> str:
    return format_date(day, format="long") if day is not None else ""


@bp.route("", methods=["GET"])
@patient_only
def home() -> ResponseReturnValue:
    view = portal_overview.overview(context())
    return render_template("portal/home.html", view=view, words=portal_words)


@bp.route("/monthly", methods=["GET", "POST"])
@patient_only
def monthly() -> ResponseReturnValue:
    """The monthly questions: a wrong answer names the statements to read again, and the
    patient answers again (every attempt is kept)."""
    view = portal_overview.overview(context())
    if not view.can_get_pregnant:
        raise NotFound("no monthly questions")
    form = MonthlyForm()
    page = url_for("portal.monthly")
    if form.validate_on_submit():
        try:
            attempt = portal_tasks.answer_monthly_questions(
                context(), form.answers(), form.methods(), bool(form.abstinence.data))
        except ValidationFailed as exc:
            mark_rollback()
            _show_errors(form, exc.errors, {"contraception_methods": "primary_methods"})
        else:
            if attempt.passed:
                flash(_("Thank you: your answers are all right and your clinic can see them."))
                return redirect(url_for("portal.home"))
            # A failed attempt is kept (RULES.md §6.3), committed with this answer; the
            # statements to read again are shown by the GET that follows.
            return show_again(form, page, wrong=[qid for qid in attempt.wrong.split(",") if qid])
    if request.method == "POST":
        return show_again(form, page)
    return render_template("portal/monthly.html", form=form, wrong=notes().get("wrong", []),
                           view=view, questions=QUESTIONS, question_field=question_field,
                           words=portal_words)


@bp.route("/warning", methods=["GET"])
@patient_only
def warning() -> ResponseReturnValue:
    view = portal_overview.overview(context())
    return render_template("portal/warning.html", view=view, words=portal_words)


@bp.route("/authorizations/<int:authorization_id>/qr.svg", methods=["GET"])
@patient_only
def qr_code(authorization_id: int) -> ResponseReturnValue:
    """The QR code the pharmacy scans: it holds the authorization number and nothing else (the
    counter still asks for the birth date)."""
    number = portal_overview.authorization_number(context(), authorization_id)
    out = io.BytesIO()
    segno.make(number, error="m").save(out, kind="svg", scale=8, border=4, xmldecl=False,
                                       dark="#000000", light="#ffffff")
    response = make_response(out.getvalue())
    response.mimetype = "image/svg+xml"
    return response


def install(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(_long_date, "long_date")
    app.add_template_global(portal_words.error_words, "portal_error")
