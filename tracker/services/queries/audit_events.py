"""Reading the audit trail: per patient or per user, paged, and whole for export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import aliased

from tracker.models import Acknowledgment, ApiToken, AuditEvent, Authorization, Patient, Role, User
from tracker.services.authorizations import authorization_fields
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound
from tracker.services.paging import Page, paginate
from tracker.services.patients import acknowledgment_fields
from tracker.services.queries.worklist import patients_found_by
from tracker.services.signatures import verify

EXPORT_FIELDS = ("id", "occurred_at", "actor_id", "actor_name", "actor_role", "action",
                 "object_type", "object_id", "patient_id", "old_values", "new_values", "reason",
                 "request_id", "client_addr", "prev_hash", "hash")


@dataclass(frozen=True)
class EventRow:
    event: AuditEvent
    actor_name: str | None

    def as_dict(self) -> dict[str, object]:
        e = self.event
        values: dict[str, object] = {f: getattr(e, f, None) for f in EXPORT_FIELDS}
        values["actor_name"] = self.actor_name
        occurred: datetime = e.occurred_at
        values["occurred_at"] = occurred.isoformat().replace("+00:00", "Z")
        return values


def _require_admin(ctx: Context) -> None:
    """Admins, and auditors, who only read."""
    if ctx.actor.role not in (Role.ADMIN, Role.AUDITOR):
        raise Forbidden("Only admins and auditors read the audit trail.")


def _scope(patient_id: int | None, user_id: int | None) -> Select[AuditEvent, str | None]:
    actor = aliased(User)
    stmt = select(AuditEvent, actor.name).outerjoin(actor, actor.id == AuditEvent.actor_id)
    if patient_id is not None:
        stmt = stmt.where(AuditEvent.patient_id == patient_id)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == user_id)
    return stmt


SEARCH_LIMIT = 50


def find_patients(ctx: Context, query: str) -> list[Patient]:
    """The patients whose trail an admin may open, found by name ("Last, First" or part of
    it), birth date, or exactly a program, prescription or authorization number."""
    _require_admin(ctx)
    if not query.strip():
        return []
    stmt = (select(Patient).where(patients_found_by(query))
            .order_by(Patient.last_name, Patient.first_name, Patient.id).limit(SEARCH_LIMIT))
    return list(ctx.session.scalars(stmt))


def subject(ctx: Context, patient_id: int | None = None,
            user_id: int | None = None) -> Patient | User:
    _require_admin(ctx)
    found = (ctx.session.get(Patient, patient_id) if patient_id is not None
             else ctx.session.get(User, user_id))
    if found is None:
        raise NotFound("not found")
    return found


def events_page(ctx: Context, *, patient_id: int | None = None, user_id: int | None = None,
                page: int = 1, per_page: int = 50) -> tuple[list[EventRow], int]:
    _require_admin(ctx)
    stmt = _scope(patient_id, user_id)
    total = ctx.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = ctx.session.execute(
        stmt.order_by(AuditEvent.id).limit(per_page).offset(max(page - 1, 0) * per_page)).all()
    return [EventRow(e, name) for e, name in rows], total


def all_events(ctx: Context, *, patient_id: int | None = None,
               user_id: int | None = None) -> Iterator[EventRow]:
    """Every event of the scope in order, read in batches (for exports)."""
    _require_admin(ctx)
    last = 0
    while True:
        rows = ctx.session.execute(
            _scope(patient_id, user_id).where(AuditEvent.id > last)
            .order_by(AuditEvent.id).limit(1000)).all()
        if not rows:
            return
        for event, name in rows:
            yield EventRow(event, name)
        last = rows[-1][0].id


def patient_signatures(ctx: Context, patient_id: int) -> list[tuple[str, bool]]:
    """Each e-signature on the patient's records and whether it verifies."""
    _require_admin(ctx)
    out: list[tuple[str, bool]] = []
    for ack in ctx.session.scalars(select(Acknowledgment).where(
            Acknowledgment.patient_id == patient_id).order_by(Acknowledgment.id)):
        ok = verify(ctx.signature_keys, ack.signature_key_id, "acknowledgment",
                    acknowledgment_fields(ack), ack.signature_hmac)
        out.append((f"Acknowledgment {ack.form_code} v{ack.form_version} signed "
                     f"{ack.signed_on.isoformat()} by {ack.patient_signature}", ok))
    for auth in ctx.session.scalars(select(Authorization).where(
            Authorization.patient_id == patient_id).order_by(Authorization.id)):
        ok = verify(ctx.signature_keys, auth.signature_key_id, "authorization",
                    authorization_fields(auth), auth.signature_hmac)
        out.append((f"Authorization {auth.number} issued {auth.issued_on.isoformat()}", ok))
    return out


def history(ctx: Context, object_type: str, object_id: int, page: int = 1,
            per_page: int = 10) -> Page[tuple[AuditEvent, str | None]]:
    """The audit events of one user or pharmacy, newest first, with the acting user's name.
    A user's history includes the issuing and revoking of their API tokens."""
    _require_admin(ctx)
    if object_type not in {"user", "pharmacy"}:
        raise NotFound("no such history")
    about = (AuditEvent.object_type == object_type) & (AuditEvent.object_id == str(object_id))
    if object_type == "user":
        # Audit rows name their object by a string id.
        tokens = select(cast(ApiToken.id, String(40))).where(ApiToken.user_id == object_id)
        about = about | ((AuditEvent.object_type == "api_token")
                         & AuditEvent.object_id.in_(tokens))
    stmt = (
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(about)
        .order_by(AuditEvent.id.desc())
    )
    return paginate(ctx.session, stmt, page, per_page,
                    row=lambda found: (found[0], found[1]))
