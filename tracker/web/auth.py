"""Sign in, sign out, change password, a user's own API tokens, and setting a new password
with a reset link."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
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
from flask_babel import gettext
from flask_login import login_user, logout_user
from werkzeug.datastructures import MultiDict

from tracker.http import sessions
from tracker.http.access import WORKFORCE, public, requires
from tracker.http.requests import context, db_session, mark_rollback
from tracker.models import Role
from tracker.services import auth as auth_service
from tracker.services import drafts, own_tokens, password_resets
from tracker.services.audit import record_event
from tracker.services.errors import (
    NotFound,
    PasswordGuessingStopped,
    PasswordRejected,
    ValidationFailed,
)
from tracker.services.signing import ReenteredPassword
from tracker.web.forms import (
    ChangePasswordForm,
    LoginForm,
    OwnTokenForm,
    ResetPasswordForm,
    RevokeOwnTokenForm,
    show_service_errors,
)
from tracker.web.shown_again import show_again

bp = Blueprint("auth", __name__)
# The session key of a form to fill in again after an expired session (server-side data only).
RESTORED_FORM_KEY = "_restored_form"


def home_for(role: Role) -> str:
    """The role's home page, or the account page while that part of the app is not installed."""
    endpoint = {
        Role.PRESCRIBER: "prescriber.worklist",
        Role.STAFF: "prescriber.worklist",
        Role.PHARMACIST: "pharmacy.lookup",
        Role.ADMIN: "admin.home",
        Role.AUDITOR: "reports.index",
        Role.PATIENT: "portal.home",
    }.get(role, "auth.account")
    return endpoint if endpoint in current_app.view_functions else "auth.account"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site; never an absolute URL (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/", methods=["GET"])
@public
def index() -> ResponseReturnValue:
    user = g.get("user")
    if user is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for(home_for(user.role)))


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    form = LoginForm()
    expired = session.pop("_expired", False)
    signed_out = session.pop("_signed_out", None)
    if session.pop(sessions.DEACTIVATED_KEY, False):
        signed_out = auth_service.DEACTIVATED
    if request.method == "GET" and (request.args.get("next") or "").startswith("/portal"):
        # A patient's page asked them to sign in: the patient's sign-in page, in their
        # language (the expired-session notice goes with them).
        if expired:
            session["_expired"] = True
        return redirect(url_for("portal.login", next=request.args.get("next"),
                                draft=request.args.get("draft")))
    if form.validate_on_submit():
        result = auth_service.authenticate(
            context(), form.email.data or "", form.password.data or ""
        )
        if result.user is not None:
            sessions.rotate(session)
            login_user(_LoginUser(result.user))
            target = _safe_next(request.args.get("next"))
            restore_draft(result.user.id, request.args.get("draft"))
            if result.user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(target or url_for(home_for(result.user.role)))
        show_service_errors(form, {"form": [result.message or auth_service.GENERIC_FAILURE]})
        if result.retry_after is None:
            return render_template("auth/login.html", form=form), 200
        response = make_response(render_template("auth/login.html", form=form), 429)
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, expired=expired,
                           signed_out=signed_out), status


def restore_draft(user_id: int, token: str | None) -> None:
    """After sign-in: a form kept when the session expired (tracker.http.expired_forms) is
    moved into the new server-side session, to fill the form in when its page is opened. Only
    the user who typed it gets it back."""
    if not token:
        return
    draft = drafts.take_draft(db_session(), token, user_id, context().now())
    if draft is not None:
        session[RESTORED_FORM_KEY] = {"path": draft.path, "fields": draft.fields}


@bp.before_app_request
def _fill_restored_form() -> None:
    """The page of a restored form shows what was typed, once; nothing is sent for the user."""
    kept = session.get(RESTORED_FORM_KEY)
    if kept is None or request.method != "GET" or g.get("user") is None:
        return
    if kept.get("path") != request.path:
        return
    session.pop(RESTORED_FORM_KEY)
    g.restored_form = MultiDict([tuple(pair) for pair in kept["fields"]])
    if request.blueprint == "portal":  # the patient's pages speak the patient's language
        flash(gettext("Your session had expired, so nothing was saved. What you typed is "
                      "filled in below: check it and send it again."))
        return
    flash("Your session had expired, so nothing was saved. What you typed is filled in below: "
          "check it and send it again.")


@bp.route("/logout", methods=["POST"])
@requires()
def logout() -> ResponseReturnValue:
    record_event(context(), "logout", "user", g.user.id)
    patient = g.user.role == Role.PATIENT
    logout_user()
    sessions.end(session)
    if patient:
        flash(gettext("You are signed out."))
        return redirect(url_for("portal.login"))
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/session/keep-alive", methods=["POST"])
@requires()
def keep_alive() -> ResponseReturnValue:
    """"Stay signed in" from the idle warning: the session counts as used now. The script of
    the warning asks for JSON; without the script the button is a form that comes back."""
    session.modified = True  # the session row's last use is written with this answer
    idle_seconds = current_app.config["SESSION_IDLE_MINUTES"] * 60
    if request.accept_mimetypes.best == "application/json":
        return {"idle_seconds": idle_seconds}
    return redirect(_safe_next(request.form.get("next")) or url_for(home_for(g.user.role)))


@bp.route("/account/password", methods=["GET", "POST"])
@requires()
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth_service.change_password(
                context(), g.user, form.current_password.data or "", form.new_password.data or "",
                fast=current_app.config["ARGON2_FAST"],
            )
        except PasswordRejected as exc:
            # The failure is audited and counted: committed with this answer.
            show_service_errors(form, exc.errors)
            return show_again(form, url_for("auth.change_password"))
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
            return show_again(form, url_for("auth.change_password"))
        # Every other session of this user ends; this one gets a new id.
        sessions.end_all_for_user(g.db, g.user.id, context().now())
        sessions.rotate(session)
        login_user(_LoginUser(g.user))
        flash("Your password was changed.")
        return redirect(url_for(home_for(g.user.role)))
    if request.method == "POST":
        return show_again(form, url_for("auth.change_password"))
    return render_template("auth/change_password.html", form=form)


@bp.app_errorhandler(PasswordGuessingStopped)
def password_guessing_stopped(exc: PasswordGuessingStopped) -> ResponseReturnValue:
    """Too many wrong passwords inside a session (signatures, the current password): every
    session of the user ends, committed with the failures that led here, and the browser is
    sent to the sign-in page, which says why."""
    sessions.end_all_for_user(db_session(), g.user.id, context().now())
    logout_user()
    session.clear()
    session["_signed_out"] = str(exc)
    sessions.rotate(session)
    return redirect(url_for("auth.login"))


def _account_page() -> ResponseReturnValue:
    return render_template("auth/account.html", user=g.user,
                           tokens=own_tokens.own_tokens(context()),
                           token_form=OwnTokenForm(formdata=None),
                           revoke_form=RevokeOwnTokenForm(formdata=None))


@bp.route("/account", methods=["GET"])
@requires(*WORKFORCE)
def account() -> ResponseReturnValue:
    return _account_page()


@bp.route("/account/tokens", methods=["POST"])
@requires(*WORKFORCE)
def create_token() -> ResponseReturnValue:
    """A new API token of the signed-in user, after they re-enter their password; the token is
    shown in this answer only (never in a redirect, a flash message or a log)."""
    form = OwnTokenForm()
    if form.validate_on_submit():
        try:
            token = own_tokens.create_own_token(
                context(), form.label.data, proof=ReenteredPassword(form.password.data or ""))
        except PasswordRejected as exc:
            show_service_errors(form, exc.errors)  # the failure is audited and committed
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            return render_template("auth/token_created.html", token=token,
                                   label=form.label.data)
    return show_again(form, url_for("auth.account"))


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(*WORKFORCE)
def revoke_token(token_id: int) -> ResponseReturnValue:
    form = RevokeOwnTokenForm()
    if form.validate_on_submit():
        row = own_tokens.revoke_own_token(context(), token_id)
        flash(f"The token {row.prefix}… is revoked.")
    return redirect(url_for("auth.account"))


@bp.route("/password-reset", methods=["GET", "POST"])
@public
def reset_password() -> ResponseReturnValue:
    """Choose a new password with a single-use link from an administrator. The link's token is
    in the query string, which the access log never holds."""
    token = request.args.get("token", "")
    ctx = context()
    try:
        password_resets.usable_reset(ctx, token)
    except NotFound:
        return render_template("auth/reset_password.html", form=None,
                               unusable=password_resets.UNUSABLE), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password_resets.reset_password_with_link(
                ctx, token, form.new_password.data or "",
                fast_hash=current_app.config["ARGON2_FAST"])
        except ValidationFailed as exc:
            mark_rollback()
            show_service_errors(form, exc.errors)
        else:
            if g.get("user") is not None:
                logout_user()
            sessions.end(session)
            flash("Your new password is set. Sign in with it.")
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form), status


safe_next = _safe_next  # the patient's sign-in page (tracker.web.portal) checks `next` alike


class _LoginUser:
    """What Flask-Login keeps: only the id; the user row is loaded fresh on every request."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: object) -> None:
        self.user = user

    def get_id(self) -> str:
        return str(self.user.id)  # type: ignore[attr-defined]


LoginUser = _LoginUser
