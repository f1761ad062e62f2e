"""The administrator's import of patients in mid-course (the page of `tracker import`): upload
a JSON Lines file, read the dry-run report, confirm. Between the two steps the file is kept on
the server under its SHA-256 (the confirmation names the hash; the file is not sent again), so
what is imported is exactly what was checked. Both steps are audited."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
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
from tracker.services.import_rows import ImportedId
from tracker.services.import_uploads import keep, kept_path
from tracker.services.imports import ImportReport, file_digest, import_file
from tracker.web.shown_again import ShownAgainForm, show_again

bp = Blueprint("admin_imports", __name__, url_prefix="/admin/imports")
_HASH = re.compile(r"[0-9a-f]{64}")


class UploadForm(ShownAgainForm):
    prescriber_email = EmailField("Prescriber's email", validators=[DataRequired(),
                                                                     Length(max=254)])
    file = FileField("JSON Lines file (one patient per line)",
                     validators=[FileRequired("Choose the JSON Lines file to check.")])
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


# Post/Redirect/Get: each step's outcome (the report, whether it was imported, a problem with
# the confirmation) waits in the server-side session for the GET of the page, shown once.
_OUTCOME_KEY = "_import_outcome"


def _show(report: ImportReport | None = None, confirm: dict[str, str] | None = None,
          done: bool = False, error: str | None = None) -> ResponseReturnValue:
    session[_OUTCOME_KEY] = {"report": asdict(report) if report is not None else None,
                             "confirm": confirm, "done": done, "error": error}
    return redirect(url_for("admin_imports.upload"), 303)


def _report(kept: dict[str, Any]) -> ImportReport:
    ids = [ImportedId(**i) for i in kept.pop("ids")]
    return ImportReport(ids=ids, **kept)


def _page() -> ResponseReturnValue:
    outcome = session.pop(_OUTCOME_KEY, None) or {}
    upload = UploadForm()
    if outcome.get("error"):
        upload.form_errors.append(outcome["error"])
    report = _report(outcome["report"]) if outcome.get("report") else None
    confirm = (ConfirmImportForm(formdata=None, data=outcome["confirm"])
               if outcome.get("confirm") else None)
    return render_template("admin/import.html", upload=upload, report=report, confirm=confirm,
                           done=bool(outcome.get("done")))


@bp.route("", methods=["GET", "POST"])
@requires(Role.ADMIN)
def upload() -> ResponseReturnValue:
    """Step one: the file is checked as `tracker import --dry-run` checks it."""
    if request.method == "GET":
        return _page()
    form = UploadForm()
    page = url_for("admin_imports.upload")
    if not form.validate_on_submit():
        return show_again(form, page)
    ctx = context()
    data = form.file.data.read()
    name = form.file.data.filename or "import.jsonl"
    email = form.prescriber_email.data or ""
    try:
        report = import_file(ctx, email, name, data, dry_run=True)
    except (NotFound, Forbidden) as exc:
        mark_rollback()
        form.prescriber_email.errors = [str(exc)]
        return show_again(form, page)
    record_event(ctx, "patients.import_checked", "import", None,
                 new={"file_name": report.file_name, "sha256": report.sha256,
                      "prescriber": email, "patients": len(report.ids), "new": report.new,
                      "problems": len(report.problems)})
    confirm = None
    if report.ok and report.new:
        _keep(data)
        confirm = {"prescriber_email": email, "sha256": report.sha256,
                   "file_name": report.file_name}
    return _show(report, confirm)


@bp.route("/confirm", methods=["POST"])
@requires(Role.ADMIN)
def confirm() -> ResponseReturnValue:
    """Step two: the kept file, found by its hash, is imported."""
    form = ConfirmImportForm()
    if not form.validate_on_submit() or not _HASH.fullmatch(form.sha256.data or ""):
        return _show(error="The confirmation is not valid; upload the file again.")
    path = _kept(form.sha256.data or "")
    if not path.exists():
        return _show(error="The checked file is no longer kept; upload it again.")
    data = path.read_bytes()
    ctx = context()
    try:
        report = import_file(ctx, form.prescriber_email.data or "", form.file_name.data or "",
                             data)
    except (NotFound, Forbidden) as exc:
        mark_rollback()
        return _show(error=str(exc))
    if not report.ok:
        # Something changed since the check (a pharmacy, the date): nothing was written.
        mark_rollback()
        return _show(report)
    path.unlink(missing_ok=True)
    return _show(report, done=True)
