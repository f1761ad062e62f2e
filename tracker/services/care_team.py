"""Who works on whose patients: a prescriber on their own, office staff (role `staff`, the
prescriber's designees) on those of the prescribers they work for. Every patient, record and
prescription use case asks `prescribers_in_reach` (through patients.own_patient and
prescriptions.own_prescription), so the rule lives in one place; another prescriber's patient
is not found, whoever asks (API.md: its existence is not revealed).

Staff prepare the prescriber's work but never sign for them: the acts that carry the
prescriber's signature call `require_signer` (API.md: 403 for staff).

Which prescribers a staff member works for is set by an administrator (or the command line);
a prescriber can end a staff member's work for them. Both are audited; the link is never
deleted, only ended (and reopened when the same pair is linked again)."""

from __future__ import annotations

from sqlalchemy import select

from tracker.models import Role, StaffAssignment, User
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound, ValidationFailed, require
from tracker.services.text import as_doctor

_CLINIC_ROLES = (Role.PRESCRIBER, Role.STAFF)


def prescribers_in_reach(ctx: Context) -> list[int]:
    """The prescribers whose patients the acting user may work on: a prescriber, themselves;
    staff, the prescribers they currently work for. Any other role may not (Forbidden)."""
    if ctx.actor.role == Role.PRESCRIBER and ctx.actor.user_id is not None:
        return [ctx.actor.user_id]
    if ctx.actor.role == Role.STAFF and ctx.actor.user_id is not None:
        return list(ctx.session.scalars(
            select(StaffAssignment.prescriber_id)
            .where(StaffAssignment.staff_id == ctx.actor.user_id,
                   StaffAssignment.ended_at.is_(None))
            .order_by(StaffAssignment.prescriber_id)
        ))
    raise Forbidden("Only prescribers and their office staff work on patients.")


def require_in_reach(ctx: Context, prescriber_id: int, what: str = "patient") -> None:
    """NotFound unless the prescriber's patients are the acting user's to work on."""
    if prescriber_id not in prescribers_in_reach(ctx):
        raise NotFound(f"no such {what}")


def prescriber_name(ctx: Context, prescriber_id: int) -> str:
    prescriber = ctx.session.get(User, prescriber_id)
    return prescriber.name if prescriber is not None else "the prescriber"


def require_signer(ctx: Context, prescriber_id: int, act: str) -> None:
    """The prescriber's own signed acts (witnessing an acknowledgment, confirming counseling,
    marking a prescription dispensable): staff prepare them, only the prescriber signs."""
    if ctx.actor.role != Role.PRESCRIBER or ctx.actor.user_id != prescriber_id:
        raise Forbidden(f"Only {as_doctor(prescriber_name(ctx, prescriber_id))} can {act}; "
                        f"office staff prepare it and it waits for the prescriber to sign.")


def is_clinic_role(role: Role | str | None) -> bool:
    return role in _CLINIC_ROLES


def prescribers_of(ctx: Context, staff_id: int) -> list[User]:
    """The prescribers a staff member works for now, by name."""
    return list(ctx.session.scalars(
        select(User).join(StaffAssignment, StaffAssignment.prescriber_id == User.id)
        .where(StaffAssignment.staff_id == staff_id, StaffAssignment.ended_at.is_(None))
        .order_by(User.name, User.id)
    ))


def in_reach_prescribers(ctx: Context) -> list[User]:
    """The prescribers whose patients the acting user works on, by name."""
    ids = prescribers_in_reach(ctx)
    if not ids:
        return []
    return list(ctx.session.scalars(
        select(User).where(User.id.in_(ids)).order_by(User.name, User.id)))


def staff_of(ctx: Context, prescriber_id: int) -> list[User]:
    """The staff who work for a prescriber now, by name."""
    return list(ctx.session.scalars(
        select(User).join(StaffAssignment, StaffAssignment.staff_id == User.id)
        .where(StaffAssignment.prescriber_id == prescriber_id,
               StaffAssignment.ended_at.is_(None))
        .order_by(User.name, User.id)
    ))


def prescriber_for_new_patient(ctx: Context, prescriber_npi: str | None) -> User:
    """Whose patient a new registration is: a prescriber registers their own (an NPI, if
    given, must be theirs); staff name the prescriber by NPI when they work for several
    (API.md: 422 when it is needed and missing or not theirs)."""
    ids = prescribers_in_reach(ctx)
    npi = (prescriber_npi or "").strip()
    if npi:
        found = ctx.session.scalar(select(User).where(User.npi == npi, User.id.in_(ids or [0])))
        if found is None:
            raise ValidationFailed({"prescriber_npi": [
                "Give the NPI of a prescriber you work for."]})
        return found
    if len(ids) != 1:
        raise ValidationFailed({"prescriber_npi": [
            "Choose the prescriber the patient is registered with."
            if ids else "You work for no prescriber yet; an administrator sets whom you work "
                        "for."]})
    user = ctx.session.get(User, ids[0])
    assert user is not None
    return user


def _prescribers_by_email(ctx: Context, emails: list[str]) -> tuple[list[User], list[str]]:
    found, unknown = [], []
    for email in emails:
        wanted = (email or "").strip().lower()
        user = ctx.session.scalar(select(User).where(User.email == wanted,
                                                     User.role == Role.PRESCRIBER))
        if user is None:
            unknown.append(email)
        elif user not in found:
            found.append(user)
    return found, unknown


def check_works_for(ctx: Context, role: str, emails: list[str],
                    errors: dict[str, list[str]]) -> list[User]:
    """The prescribers a new user works for, checked with the user's other fields: staff work
    for at least one prescriber (by email); other roles work for nobody."""
    emails = [e for e in emails if (e or "").strip()]
    if role != Role.STAFF:
        if emails:
            errors.setdefault("works_for", []).append(
                "Only office staff work for a prescriber.")
        return []
    if not emails:
        errors.setdefault("works_for", []).append(
            "Office staff work for at least one prescriber: give the prescriber's email.")
        return []
    found, unknown = _prescribers_by_email(ctx, emails)
    for email in unknown:
        errors.setdefault("works_for", []).append(f"No prescriber has the email {email}.")
    return found


def _open(ctx: Context, staff: User, prescriber: User) -> bool:
    """Staff now work for the prescriber; False when they already did."""
    row = ctx.session.scalar(select(StaffAssignment).where(
        StaffAssignment.staff_id == staff.id, StaffAssignment.prescriber_id == prescriber.id))
    if row is not None and row.ended_at is None:
        return False
    if row is None:
        row = StaffAssignment(staff_id=staff.id, prescriber_id=prescriber.id)
        ctx.session.add(row)
    row.started_at, row.started_by = ctx.now(), ctx.actor.user_id
    row.ended_at = row.ended_by = None
    ctx.session.flush()
    record_event(ctx, "staff.works_for", "user", staff.id,
                 new={"prescriber_id": prescriber.id, "prescriber": prescriber.name})
    return True


def _end(ctx: Context, staff: User, prescriber_id: int, reason: str | None) -> bool:
    row = ctx.session.scalar(select(StaffAssignment).where(
        StaffAssignment.staff_id == staff.id, StaffAssignment.prescriber_id == prescriber_id,
        StaffAssignment.ended_at.is_(None)))
    if row is None:
        return False
    row.ended_at, row.ended_by = ctx.now(), ctx.actor.user_id
    ctx.session.flush()
    record_event(ctx, "staff.work_ended", "user", staff.id,
                 old={"prescriber_id": prescriber_id},
                 new={"ended_by": ctx.actor.user_id}, reason=reason)
    return True


def start_work(ctx: Context, staff: User, prescribers: list[User]) -> None:
    """Link a new staff member to the prescribers they work for (user creation)."""
    for prescriber in prescribers:
        _open(ctx, staff, prescriber)


def split_emails(text: str | None) -> list[str]:
    """Prescribers' emails as typed in one box: one per line, or separated by commas."""
    return [e for e in (text or "").replace(",", "\n").split() if e]


def set_prescribers(ctx: Context, staff_id: int, emails: list[str]) -> list[User]:
    """An administrator sets whom a staff member works for (the prescribers' emails): links
    are opened and ended to match. Every change is audited."""
    if ctx.actor.role != Role.ADMIN:
        raise Forbidden("Only administrators set whom office staff work for.")
    staff = ctx.session.get(User, staff_id)
    if staff is None:
        raise NotFound("no such user")
    errors: dict[str, list[str]] = {}
    if staff.role != Role.STAFF:
        errors.setdefault("works_for", []).append("Only office staff work for a prescriber.")
    wanted, unknown = _prescribers_by_email(ctx, emails)
    for email in unknown:
        errors.setdefault("works_for", []).append(f"No prescriber has the email {email}.")
    if not wanted and not errors:
        errors.setdefault("works_for", []).append(
            "Office staff work for at least one prescriber; deactivate the account instead.")
    require(errors)
    current = {p.id for p in prescribers_of(ctx, staff.id)}
    for user in wanted:
        if user.id not in current:
            _open(ctx, staff, user)
    for pid in current - {u.id for u in wanted}:
        _end(ctx, staff, pid, "changed by an administrator")
    return prescribers_of(ctx, staff.id)


def end_work_for_me(ctx: Context, staff_id: int) -> User:
    """The acting prescriber ends a staff member's work for them: from now on the staff member
    no longer sees or enters anything for the prescriber's patients."""
    if ctx.actor.role != Role.PRESCRIBER or ctx.actor.user_id is None:
        raise Forbidden("Only a prescriber ends the work of their own staff.")
    staff = ctx.session.get(User, staff_id)
    if staff is None or staff.role != Role.STAFF or not _end(
            ctx, staff, ctx.actor.user_id, "ended by the prescriber"):
        raise NotFound("no such staff member")
    return staff
