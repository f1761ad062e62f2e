"""The audit trail for admins and auditors: who did what when, per patient and per user, with
proof that nothing was altered, printable and exportable as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from tracker.http.access import requires
from tracker.http.requests import context
from tracker.models import Patient, Role
from tracker.services.audit import verify_trail
from tracker.services.paging import Page
from tracker.services.queries import audit_events
from tracker.services.text import as_text_cell
from tracker.web.audit_words import action_label, changes

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50
QUERY_MAX = 100


@bp.context_processor
def _words() -> dict[str, Any]:
    return {"action_label": action_label, "changes": changes}


def _page() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


def _scope(kind: str, object_id: int) -> dict[str, int]:
    if kind == "patients":
        return {"patient_id": object_id}
    if kind == "users":
        return {"user_id": object_id}
    abort(404)


@bp.route("/", methods=["GET"])
@requires(Role.ADMIN, Role.AUDITOR)
def index() -> ResponseReturnValue:
    """Find a patient by name, birth date, program, prescription or authorization number (one
    match opens the trail), or a patient or user by id."""
    kind = request.args.get("kind", "")
    ident = request.args.get("id", "")
    query = " ".join(request.args.get("q", "").split())[:QUERY_MAX]
    error = None
    if kind in ("patients", "users") and ident:
        if ident.isdigit():
            return _redirect(kind, int(ident))
        error = "Enter the numeric id shown on the patient's or user's page."
    found = audit_events.find_patients(context(), query) if query else []
    if len(found) == 1:
        return _redirect("patients", found[0].id)
    return render_template("audit/index.html", error=error, query=query, found=found,
                           limit=audit_events.SEARCH_LIMIT)


def _redirect(kind: str, object_id: int) -> ResponseReturnValue:
    return redirect(url_for("audit.trail", kind=kind, object_id=object_id))


@bp.route("/<kind>/<int:object_id>", methods=["GET"])
@requires(Role.ADMIN, Role.AUDITOR)
def trail(kind: str, object_id: int) -> ResponseReturnValue:
    scope = _scope(kind, object_id)
    ctx = context()
    subject = audit_events.subject(ctx, **scope)
    number = _page()
    rows, total = audit_events.events_page(ctx, page=number, per_page=PER_PAGE, **scope)
    signatures = (audit_events.patient_signatures(ctx, object_id)
                  if isinstance(subject, Patient) else [])
    chain = verify_trail(ctx)
    return render_template("audit/trail.html", kind=kind, subject=subject,
                           events=Page(rows, number, PER_PAGE, total), chain=chain,
                           signatures=signatures, object_id=object_id,
                           is_patient=isinstance(subject, Patient))


@bp.route("/<kind>/<int:object_id>/export.<fmt>", methods=["GET"])
@requires(Role.ADMIN, Role.AUDITOR)
def export(kind: str, object_id: int, fmt: str) -> ResponseReturnValue:
    scope = _scope(kind, object_id)
    ctx = context()
    audit_events.subject(ctx, **scope)
    rows = [r.as_dict() for r in audit_events.all_events(ctx, **scope)]
    name = f"audit-{kind}-{object_id}"
    if fmt == "json":
        body = json.dumps(rows, indent=1, default=str)
        return Response(body, mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="{name}.json"'})
    if fmt == "csv":
        return Response(_csv(rows), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"'})
    abort(404)


def _csv(rows: list[dict[str, object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=audit_events.EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: as_text_cell(v) for k, v in row.items()})
    yield buffer.getvalue()


def register(app: Flask) -> None:
    app.register_blueprint(bp)
