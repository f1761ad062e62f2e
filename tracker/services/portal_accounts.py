"""The patient's own account for the portal: the clinic makes a single-use invitation (a code,
printed on a slip with the portal's address), the patient opens it, confirms their birth date
and chooses a sign-in email and a password (the staff password policy, argon2id). Wrong birth
dates are counted like failed sign-ins, per invitation and per client address.

An invitation expires after 7 days; a newer one voids the older ones. Only a SHA-256 of the
code is stored (80 random bits, as for API tokens a plain hash is enough). Accepting an
invitation for a patient who already has an account sets that account's new password (the way
back in after a forgotten password) and ends its sessions.

Minors: the account is the patient's own at any age; a parent or guardian signs only the
acknowledgment (RULES.md §4), beside the patient, never the account."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from tracker.models import Patient, PatientAccount, PortalInvitation, Role, User
from tracker.services import auth
from tracker.services.audit import record_event
from tracker.services.codes import printed_code, random_code
from tracker.services.context import Context
from tracker.services.dml import rows_changed
from tracker.services.errors import Forbidden, NoMatch, NotFound, Throttled, ValidationFailed
from tracker.services.passwords import hash_password, password_problems
from tracker.services.patients import own_patient
from tracker.services.text import has_control_characters
from tracker.services.users import end_sessions, normalize_email

INVITATION_LIFETIME = timedelta(days=7)
_CODE_GROUPS = 4  # 80 random bits
_CODE_MAX = 40
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UNUSABLE = "This invitation cannot be used: it has expired, was already used or was replaced " \
    "by a newer one. Ask your clinic for a new invitation."
BIRTH_DATE_WRONG = "This birth date does not match the invitation. Check it and try again."
PAUSED = "Too many wrong birth dates: this invitation is paused for a while. Try again later."
EMAIL_INVALID = "Enter a valid email address."
EMAIL_TAKEN = "This email address is already used by another account; choose another."
BIRTH_DATE_MISSING = "Enter your birth date."


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_code(value: str | None) -> str:
    """An invitation code as typed ("7k2m 9qxd 4tpa hh3w") in its printed form."""
    return printed_code(value, _CODE_GROUPS)[:_CODE_MAX]


@dataclass(frozen=True)
class Invitation:
    patient: Patient
    code: str  # shown once, on the slip; never stored
    expires_at: datetime


def issue_invitation(ctx: Context, patient_id: int) -> Invitation:
    """A new invitation for a patient the acting prescriber or staff member works on (another
    prescriber's patient is not found); earlier unused invitations of the patient stop
    working."""
    patient = own_patient(ctx, patient_id)
    now = ctx.now()
    voided = rows_changed(ctx.session,
        update(PortalInvitation)
        .where(PortalInvitation.patient_id == patient.id, PortalInvitation.used_at.is_(None),
               PortalInvitation.voided_at.is_(None))
        .values(voided_at=now)
    )
    code = random_code(_CODE_GROUPS)
    row = PortalInvitation(patient_id=patient.id, code_hash=_hash(code),
                           created_by=ctx.actor.user_id, created_at=now,
                           expires_at=now + INVITATION_LIFETIME)
    ctx.session.add(row)
    ctx.session.flush()
    record_event(ctx, "portal.invitation_created", "portal_invitation", row.id,
                 patient_id=patient.id,
                 new={"expires_at": row.expires_at.isoformat(), "earlier_voided": voided})
    return Invitation(patient, code, row.expires_at)


def usable_invitation(ctx: Context, code: str) -> PortalInvitation:
    """The invitation behind a code while it can still be used; NotFound otherwise."""
    code = normalize_code(code)
    row = ctx.session.scalar(select(PortalInvitation).where(
        PortalInvitation.code_hash == _hash(code), PortalInvitation.used_at.is_(None),
        PortalInvitation.voided_at.is_(None), PortalInvitation.expires_at > ctx.now()))
    if row is None:
        raise NotFound(UNUSABLE)
    return row


def account_of(ctx: Context, patient_id: int) -> User | None:
    """The patient's account, if they have one."""
    return ctx.session.scalar(select(User).join(
        PatientAccount, PatientAccount.user_id == User.id).where(
        PatientAccount.patient_id == patient_id))


def _check_email(ctx: Context, email: str, errors: dict[str, list[str]],
                 own: User | None) -> str:
    email = normalize_email(email)
    if has_control_characters(email) or not _EMAIL.match(email) or len(email) > 254:
        errors.setdefault("email", []).append(EMAIL_INVALID)
        return email
    taken = ctx.session.scalar(select(User.id).where(func.lower(User.email) == email))
    if taken is not None and (own is None or taken != own.id):
        errors.setdefault("email", []).append(EMAIL_TAKEN)
    return email


def accept_invitation(ctx: Context, code: str, date_of_birth: date | None, email: str,
                      password: str, *, fast_hash: bool = False) -> User:
    """The patient sets up (or takes back) their account with a usable invitation. A wrong
    birth date is audited and counted (NoMatch: the caller commits that); while the back-off
    runs every attempt on the invitation is refused (Throttled). Otherwise the email and the
    password are checked (ValidationFailed, nothing stored), the invitation is used up, and
    the account is the patient's: every event of it names the patient's user as its actor."""
    row = usable_invitation(ctx, code)
    keys = auth.attempt_keys(f"invitation:{row.id}", ctx.actor.client_addr)
    wait = auth.seconds_to_wait(ctx, keys)
    if wait:
        record_event(ctx, "portal.invitation_throttled", "portal_invitation", row.id,
                     patient_id=row.patient_id, new={"retry_after": wait})
        raise Throttled(PAUSED, wait)
    if date_of_birth is None:
        raise ValidationFailed({"date_of_birth": [BIRTH_DATE_MISSING]})
    patient = ctx.session.get(Patient, row.patient_id)
    assert patient is not None
    if patient.date_of_birth != date_of_birth:
        failures = auth.count_failed_attempt(ctx, keys)
        record_event(ctx, "portal.invitation_birth_date_failed", "portal_invitation", row.id,
                     patient_id=patient.id, new={"failures": failures})
        raise NoMatch(BIRTH_DATE_WRONG)
    user = account_of(ctx, patient.id)
    errors: dict[str, list[str]] = {}
    email = _check_email(ctx, email, errors, user)
    full_name = f"{patient.first_name} {patient.last_name}"
    problems = password_problems(password, email, full_name)
    if problems:
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    now = ctx.now()
    used = rows_changed(ctx.session,
        update(PortalInvitation)
        .where(PortalInvitation.id == row.id, PortalInvitation.used_at.is_(None),
               PortalInvitation.voided_at.is_(None), PortalInvitation.expires_at > now)
        .values(used_at=now)
    )
    if used != 1:
        raise NotFound(UNUSABLE)
    created = user is None
    if user is None:
        user = User(email=email, name=full_name, role=Role.PATIENT, active=True,
                    must_change_password=False, created_at=now)
        ctx.session.add(user)
        ctx.session.flush()
        ctx.session.add(PatientAccount(user_id=user.id, patient_id=patient.id, created_at=now))
    old_email = user.email
    user.email = email
    user.password_hash = hash_password(password, fast=fast_hash)
    user.password_changed_at = now
    user.active = True
    sessions = 0 if created else end_sessions(ctx, user.id)
    ctx.session.flush()
    as_patient = dataclasses.replace(ctx, actor=dataclasses.replace(
        ctx.actor, user_id=user.id, role=Role.PATIENT, name=user.name, pharmacy_id=None))
    record_event(as_patient, "portal.account_created" if created else "portal.password_set",
                 "user", user.id, patient_id=patient.id,
                 old=None if created else {"email": old_email},
                 new={"invitation_id": row.id, "email": email, "sessions_ended": sessions})
    return user


def portal_patient(ctx: Context) -> Patient:
    """The patient whose account is signing in: the only record a patient ever sees."""
    if ctx.actor.role != Role.PATIENT or ctx.actor.user_id is None:
        raise Forbidden("Only a patient's own account opens the portal.")
    patient = ctx.session.scalar(select(Patient).join(
        PatientAccount, PatientAccount.patient_id == Patient.id).where(
        PatientAccount.user_id == ctx.actor.user_id))
    if patient is None:
        raise NotFound("no patient for this account")
    return patient

