"""Program administration: pharmacies, users, API tokens. Admins run the program from here
without touching the database; every change is made and audited by the services
(pharmacies, users, tokens); the pages read through tracker.services.queries.

Administrators list and revoke API tokens but never create one: a token signs as its owner, so
users create their own (account page). A forgotten password is replaced through a single-use
link the administrator hands over; they never see a usable password.

One-time secrets (an initial password, a reset link) are shown in the answer to the POST that
made them and never again: they are not put in a redirect, a flash message or a log."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from tracker.http.access import requires
from tracker.http.requests import context, mark_rollback
from tracker.models import Role
from tracker.services import care_team, password_resets
from tracker.services import pharmacies as pharmacy_service
from tracker.services import tokens as token_service
from tracker.services import users as user_service
from tracker.services.errors import ValidationFailed
from tracker.services.paging import page_number
from tracker.services.queries import (
    admin_overview,
    audit_events,
    notice_list,
    pharmacy_list,
    token_list,
    user_list,
)
from tracker.web.admin_forms import (
    ConfirmForm,
    DeactivateForm,
    PharmacyEditForm,
    PharmacyFilterForm,
    PharmacyForm,
    ReactivateForm,
    ReactivationForm,
    TokenFilterForm,
    TrainingForm,
    UserFilterForm,
    UserForm,
    WorksForForm,
)
from tracker.web.audit_words import action_label, changes
from tracker.web.forms import show_service_errors
from tracker.web.shown_again import show_again

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN = Role.ADMIN

@bp.context_processor
def _audit_helpers() -> dict[str, Any]:
    return {"action_label": action_label, "changes": changes}


def _fast() -> bool:
    return bool(current_app.config.get("ARGON2_FAST"))


def _invalid(form: Any, exc: ValidationFailed) -> None:
    """Nothing is stored; the service's messages go on the form's fields."""
    mark_rollback()
    show_service_errors(form, exc.errors)


# --- home ---------------------------------------------------------------------------------------


@bp.route("", methods=["GET"])
@requires(ADMIN)
def home() -> ResponseReturnValue:
    """Who is active, which pharmacies need renewing, and the ways in."""
    ctx = context()
    return render_template(
        "admin/home.html", overview=admin_overview.overview(ctx),
        renewals=pharmacy_list.pharmacies_needing_renewal(
            ctx, page_number(request.args.get("page"))),
        notice_days=pharmacy_service.RENEWAL_NOTICE_DAYS,
    )


# --- reminder notices ---------------------------------------------------------------------------


@bp.route("/notices", methods=["GET"])
@requires(ADMIN)
def notices() -> ResponseReturnValue:
    """The reminder emails of `tracker notify run`: sent, waiting and failed, newest first."""
    ctx = context()
    status = request.args.get("status") or None
    if status not in notice_list.STATUS_LABELS:
        status = None
    found = notice_list.list_notices(ctx, page_number(request.args.get("page")), status)
    return render_template("admin/notices.html", found=found, status=status,
                           counts=notice_list.counts(ctx),
                           statuses=notice_list.STATUS_LABELS,
                           args={"status": status} if status else {})


# --- pharmacies ---------------------------------------------------------------------------------


@bp.route("/pharmacies", methods=["GET"])
@requires(ADMIN)
def pharmacies() -> ResponseReturnValue:
    form = PharmacyFilterForm(formdata=request.args)
    form.validate()
    query = (form.q.data or "") if not form.q.errors else ""
    found = pharmacy_list.list_pharmacies(context(), page_number(request.args.get("page")), query)
    args = {"q": query} if query else {}
    return render_template("admin/pharmacies.html", form=form, found=found, args=args)


@bp.route("/pharmacies/new", methods=["GET", "POST"])
@requires(ADMIN)
def new_pharmacy() -> ResponseReturnValue:
    form = PharmacyForm()
    if form.validate_on_submit():
        try:
            pharmacy = pharmacy_service.admin_create_pharmacy(context(), form.name.data or "",
                                               form.ncpdp_id.data or "", form.activated_on.data,
                                               form.trained_on.data)
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash(f"Pharmacy {pharmacy.name} is created.")
            return redirect(url_for("admin.pharmacy", pharmacy_id=pharmacy.id))
    if request.method == "POST":
        return show_again(form, url_for("admin.new_pharmacy"))
    return render_template("admin/pharmacy_new.html", form=form)


def _pharmacy_page(pharmacy_id: int) -> ResponseReturnValue:
    ctx = context()
    today = ctx.today()
    found = pharmacy_list.get_pharmacy(ctx, pharmacy_id)
    forms = {"reactivation": ReactivationForm(formdata=None, data={"activated_on": today}),
             "training": TrainingForm(formdata=None, data={"trained_on": today})}
    staff = pharmacy_list.pharmacy_staff(ctx, pharmacy_id, page_number(request.args.get("page")))
    events = audit_events.history(ctx, "pharmacy", pharmacy_id,
                             page_number(request.args.get("history")))
    return render_template("admin/pharmacy.html", found=found, staff=staff, events=events,
                           **forms)


@bp.route("/pharmacies/<int:pharmacy_id>", methods=["GET"])
@requires(ADMIN)
def pharmacy(pharmacy_id: int) -> ResponseReturnValue:
    return _pharmacy_page(pharmacy_id)


@bp.route("/pharmacies/<int:pharmacy_id>/edit", methods=["GET", "POST"])
@requires(ADMIN)
def edit_pharmacy(pharmacy_id: int) -> ResponseReturnValue:
    ctx = context()
    current = pharmacy_list.get_pharmacy(ctx, pharmacy_id).pharmacy
    form = PharmacyEditForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            pharmacy_service.edit_pharmacy(ctx, pharmacy_id, name=form.name.data or "",
                                  ncpdp_id=form.ncpdp_id.data or "",
                                  activated_on=form.activated_on.data,
                                  trained_on=form.trained_on.data, reason=form.reason.data)
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash("The pharmacy's details are saved.")
            return redirect(url_for("admin.pharmacy", pharmacy_id=pharmacy_id))
    if request.method == "POST":
        return show_again(form, url_for("admin.edit_pharmacy", pharmacy_id=pharmacy_id))
    return render_template("admin/pharmacy_edit.html", form=form, pharmacy=current)


@bp.route("/pharmacies/<int:pharmacy_id>/reactivation", methods=["POST"])
@requires(ADMIN)
def reactivate_pharmacy(pharmacy_id: int) -> ResponseReturnValue:
    form = ReactivationForm()
    if form.validate_on_submit():
        try:
            pharmacy_service.record_reactivation(context(), pharmacy_id, form.activated_on.data)
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash("The annual reactivation is recorded.")
            return redirect(url_for("admin.pharmacy", pharmacy_id=pharmacy_id))
    return show_again(form, url_for("admin.pharmacy", pharmacy_id=pharmacy_id))


@bp.route("/pharmacies/<int:pharmacy_id>/training", methods=["POST"])
@requires(ADMIN)
def record_training(pharmacy_id: int) -> ResponseReturnValue:
    form = TrainingForm()
    if form.validate_on_submit():
        try:
            pharmacy_service.record_training(context(), pharmacy_id, form.trained_on.data,
                                    form.attested_by.data)
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash("The staff training attestation is recorded.")
            return redirect(url_for("admin.pharmacy", pharmacy_id=pharmacy_id))
    return show_again(form, url_for("admin.pharmacy", pharmacy_id=pharmacy_id))


# --- users --------------------------------------------------------------------------------------


@bp.route("/users", methods=["GET"])
@requires(ADMIN)
def users() -> ResponseReturnValue:
    form = UserFilterForm(formdata=request.args)
    valid = form.validate()
    query = (form.q.data or "") if valid else ""
    role = (form.role.data or None) if valid else None
    status = (form.status.data or None) if valid else None
    found = user_list.list_users(context(), page_number(request.args.get("page")), query, role,
                               status)
    args = {k: v for k, v in (("q", query), ("role", role), ("status", status)) if v}
    return render_template("admin/users.html", form=form, found=found, args=args)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(ADMIN)
def new_user() -> ResponseReturnValue:
    form = UserForm()
    if request.method == "GET" and request.args.get("pharmacy"):
        # Coming from a pharmacy's page: pharmacy staff of that pharmacy.
        form.role.data = Role.PHARMACIST.value
        form.pharmacy.data = request.args.get("pharmacy", "")[:7]
    if form.validate_on_submit():
        try:
            made = user_service.admin_create_user(context(), role=form.role.data or "",
                                       email=form.email.data or "", name=form.name.data or "",
                                       npi=form.npi.data, pharmacy_ncpdp=form.pharmacy.data,
                                       works_for=care_team.split_emails(form.works_for.data),
                                       fast_hash=_fast())
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            return render_template("admin/user_created.html", user=made.user,
                                   initial_password=made.initial_password)
    if request.method == "POST":
        return show_again(form, url_for("admin.new_user"))
    return render_template("admin/user_new.html", form=form)


def _user_page(user_id: int) -> ResponseReturnValue:
    ctx = context()
    found = user_list.get_user(ctx, user_id)
    works_for = care_team.prescribers_of(ctx, user_id)
    forms = {"deactivate": DeactivateForm(formdata=None),
             "reactivate": ReactivateForm(formdata=None),
             "works_for_form": WorksForForm(
                 formdata=None, data={"works_for": "\n".join(p.email for p in works_for)})}
    tokens = token_list.list_tokens(ctx, page_number(request.args.get("tokens")), "all", user_id)
    events = audit_events.history(ctx, "user", user_id, page_number(request.args.get("history")))
    return render_template("admin/user.html", found=found, tokens=tokens, events=events,
                           is_self=found.user.id == g.user.id, works_for=works_for,
                           **forms)


@bp.route("/users/<int:user_id>", methods=["GET"])
@requires(ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    return _user_page(user_id)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@requires(ADMIN)
def deactivate_user(user_id: int) -> ResponseReturnValue:
    form = DeactivateForm()
    if form.validate_on_submit():
        try:
            done = user_service.deactivate_user(context(), user_id, form.reason.data)
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash(f"{done.name} is deactivated: their sessions have ended and their API "
                  f"tokens are revoked.")
            return redirect(url_for("admin.user", user_id=user_id))
    return show_again(form, url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/works-for", methods=["POST"])
@requires(ADMIN)
def set_works_for(user_id: int) -> ResponseReturnValue:
    """Set the prescribers an office staff member works for."""
    form = WorksForForm()
    if form.validate_on_submit():
        try:
            care_team.set_prescribers(context(), user_id,
                                      care_team.split_emails(form.works_for.data))
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash("Whom they work for is saved.")
            return redirect(url_for("admin.user", user_id=user_id))
    return show_again(form, url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@requires(ADMIN)
def reactivate_user(user_id: int) -> ResponseReturnValue:
    form = ReactivateForm()
    if form.validate_on_submit():
        try:
            done = user_service.reactivate_user(context(), user_id, form.reason.data)
        except ValidationFailed as exc:
            _invalid(form, exc)
        else:
            flash(f"{done.name} is active again. Their old API tokens stay revoked.")
            return redirect(url_for("admin.user", user_id=user_id))
    return show_again(form, url_for("admin.user", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires(ADMIN)
def reset_password(user_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            made = password_resets.issue_reset_link(context(), user_id)
        except ValidationFailed as exc:
            mark_rollback()
            for messages in exc.errors.values():
                for message in messages:
                    flash(message)
            return redirect(url_for("admin.user", user_id=user_id))
        link = url_for("auth.reset_password", token=made.token, _external=True)
        return render_template("admin/password_reset.html", user=made.user, link=link,
                               expires_at=made.expires_at)
    return redirect(url_for("admin.user", user_id=user_id), 303)


# --- tokens -------------------------------------------------------------------------------------


@bp.route("/tokens", methods=["GET"])
@requires(ADMIN)
def tokens() -> ResponseReturnValue:
    form = TokenFilterForm(formdata=request.args)
    status = form.status.data if form.validate() and form.status.data else "active"
    form.status.data = status
    found = token_list.list_tokens(context(), page_number(request.args.get("page")), status)
    return render_template("admin/tokens.html", form=form, found=found,
                           args={"status": status})


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(ADMIN)
def revoke_token(token_id: int) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.tokens"))
    row = token_service.admin_revoke_token(context(), token_id)
    flash(f"The token {row.prefix}… is revoked.")
    if request.form.get("back") == "user":
        return redirect(url_for("admin.user", user_id=row.user_id))
    return redirect(url_for("admin.tokens"))


def register(app: Flask) -> None:
    from tracker.web import admin_imports

    app.register_blueprint(bp)
    app.register_blueprint(admin_imports.bp)
