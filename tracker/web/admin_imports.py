"""The administrator's import of patients in mid-course (the page of `tracker import`): upload
a JSON Lines file, read the dry-run report, confirm. Between the two steps the file is kept on
the server under its SHA-256 (the confirmation names the hash; the file is not sent again), so
what is imported is exactly what was checked. Both steps are audited."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, HiddenField, SubmitField
from wtforms.validators import DataRequired, Length, Regexp

from tracker.http.access import requires
from tracker.http.requests import context, mark_rollback
from tracker.models import Role
from tracker.services.audit import record_event
from tracker.services.errors import Forbidden, NotFound
from tracker.services.import_uploads import keep, kept_path
from tracker.services.imports import ImportReport, file_digest, import_file

bp = Blueprint("admin_imports", __name__, url_prefix="/admin/imports")
_HASH = re.compile(r"[0-9a-f]{64}")


class UploadForm(FlaskForm):
    prescriber_email = EmailField("Prescriber's email", validators=[DataRequired(),
                                                                     Length(max=254)])
    file = FileField("JSON Lines file (one patient per line)", validators=[FileRequired()])
    submit = SubmitField("Check the file")


class ConfirmImportForm(FlaskForm):
    prescriber_email = HiddenField(validators=[DataRequired(), Length(max=254)])
    sha256 = HiddenField(validators=[DataRequired(), Regexp(_HASH.pattern)])
    file_name = HiddenField(validators=[DataRequired(), Length(max=255)])
    submit = SubmitField("Import these patients")


def _kept(sha256: str) -> Path:
    return kept_path(current_app.instance_path, sha256)


def _keep(data: bytes) -> str:
    sha256 = file_digest(data)
    keep(current_app.instance_path, sha256, data)
    return sha256


def _page(upload: UploadForm, report: ImportReport | None = None,
          confirm: ConfirmImportForm | None = None, done: bool = False,
          status: int = 200) -> ResponseReturnValue:
    return render_template("admin/import.html", upload=upload, report=report, confirm=confirm,
                           done=done), status


@bp.route("", methods=["GET", "POST"])
@requires(Role.ADMIN)
def upload() -> ResponseReturnValue:
    """Step one: the file is checked as `tracker import --dry-run` checks it."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(form, status=422 if form.is_submitted() else 200)
    ctx = context()
    data = form.file.data.read()
    name = form.file.data.filename or "import.jsonl"
    email = form.prescriber_email.data or ""
    try:
        report = import_file(ctx, email, name, data, dry_run=True)
    except (NotFound, Forbidden) as exc:
        mark_rollback()
        form.prescriber_email.errors = [str(exc)]
        return _page(form, status=422)
    record_event(ctx, "patients.import_checked", "import", None,
                 new={"file_name": report.file_name, "sha256": report.sha256,
                      "prescriber": email, "patients": len(report.ids), "new": report.new,
                      "problems": len(report.problems)})
    confirm = None
    if report.ok and report.new:
        _keep(data)
        confirm = ConfirmImportForm(formdata=None, data={
            "prescriber_email": email, "sha256": report.sha256, "file_name": report.file_name})
    return _page(form, report, confirm, status=200 if report.ok else 422)


@bp.route("/confirm", methods=["POST"])
@requires(Role.ADMIN)
def confirm() -> ResponseReturnValue:
    """Step two: the kept file, found by its hash, is imported."""
    form = ConfirmImportForm()
    upload_form = UploadForm(formdata=None)
    if not form.validate_on_submit() or not _HASH.fullmatch(form.sha256.data or ""):
        upload_form.form_errors.append("The confirmation is not valid; upload the file again.")
        return _page(upload_form, status=422)
    path = _kept(form.sha256.data or "")
    if not path.exists():
        upload_form.form_errors.append("The checked file is no longer kept; upload it again.")
        return _page(upload_form, status=422)
    data = path.read_bytes()
    ctx = context()
    try:
        report = import_file(ctx, form.prescriber_email.data or "", form.file_name.data or "",
                             data)
    except (NotFound, Forbidden) as exc:
        mark_rollback()
        upload_form.form_errors.append(str(exc))
        return _page(upload_form, status=422)
    if not report.ok:
        # Something changed since the check (a pharmacy, the date): nothing was written.
        mark_rollback()
        return _page(upload_form, report, status=422)
    path.unlink(missing_ok=True)
    return _page(upload_form, report, done=True)
