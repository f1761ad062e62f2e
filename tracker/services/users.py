"""Users of every role: creating them (office staff with the prescribers they work for),
finding them, deactivating and reactivating them, and a prescriber's own settings. Every
change is audited. (Forgotten passwords: tracker.services.password_resets; whom office staff
work for: tracker.services.care_team.)

A user is never deleted (audit rows and records point at the id, which is never reused):
deactivation ends every browser session of the user and revokes their API tokens."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update

from tracker.models import ApiToken, LoginSession, Pharmacy, Role, User
from tracker.services.administration import given_reason, require_admin
from tracker.services.audit import record_event
from tracker.services.care_team import check_works_for, start_work
from tracker.services.context import Context
from tracker.services.dml import rows_changed
from tracker.services.errors import NotFound, ValidationFailed, require
from tracker.services.passwords import hash_password, password_problems
from tracker.services.text import has_control_characters, name_problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def npi_is_valid(npi: str) -> bool:
    """A National Provider Identifier: 10 digits whose last is a Luhn check digit computed over
    the prefix 80840 and the first nine digits (CMS NPI check-digit standard)."""
    if not re.fullmatch(r"\d{10}", npi or ""):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


@dataclass(frozen=True)
class NewUser:
    user: User
    initial_password: str | None  # shown once when no password was chosen


def create_user(
    ctx: Context,
    *,
    role: str,
    email: str,
    name: str,
    password: str | None = None,
    npi: str | None = None,
    pharmacy_id: int | None = None,
    works_for: list[str] | None = None,
    fast_hash: bool = False,
) -> NewUser:
    """Create a user of any role. Without a password a one-time initial password is generated
    and must be changed at the first login. Office staff work for the prescribers whose emails
    are in `works_for` (at least one)."""
    email = normalize_email(email)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {
        "role": [], "email": [], "name": [], "password": [], "npi": [], "pharmacy": []
    }
    if role not in {r.value for r in Role}:
        errors["role"].append("The role is one of admin, prescriber, pharmacist, staff, auditor.")
    if has_control_characters(email) or not _EMAIL.match(email) or len(email) > 254:
        errors["email"].append("Enter a valid email address.")
    elif ctx.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        errors["email"].append("A user with this email already exists.")
    if problem := name_problem(name):
        errors["name"].append(problem)
    elif not name or len(name) > 200:
        errors["name"].append("Enter the person's name (1 to 200 characters).")
    if password is not None:
        errors["password"].extend(password_problems(password, email, name))
    if role == Role.PRESCRIBER:
        if not npi_is_valid(npi or ""):
            errors["npi"].append("The NPI has 10 digits and a valid check digit.")
        elif ctx.session.scalar(select(User.id).where(User.npi == npi)):
            errors["npi"].append("A prescriber with this NPI already exists.")
    elif npi:
        errors["npi"].append("Only prescribers have an NPI.")
    if role == Role.PHARMACIST:
        if pharmacy_id is None or ctx.session.get(Pharmacy, pharmacy_id) is None:
            errors["pharmacy"].append("Choose an existing pharmacy for pharmacy staff.")
    elif pharmacy_id is not None:
        errors["pharmacy"].append("Only pharmacy staff belong to a pharmacy.")
    prescribers = check_works_for(ctx, role, works_for or [], errors)
    require(errors)

    initial = None
    if password is None:
        initial = secrets.token_urlsafe(12)
        password = initial
    user = User(
        role=Role(role),
        email=email,
        name=name,
        npi=npi if role == Role.PRESCRIBER else None,
        pharmacy_id=pharmacy_id if role == Role.PHARMACIST else None,
        password_hash=hash_password(password, fast=fast_hash),
        must_change_password=initial is not None,
        password_changed_at=ctx.now(),
        created_at=ctx.now(),
    )
    ctx.session.add(user)
    ctx.session.flush()
    record_event(
        ctx,
        "user.created",
        "user",
        user.id,
        new={"role": role, "email": email, "name": name, "npi": user.npi,
             "pharmacy_id": user.pharmacy_id},
    )
    start_work(ctx, user, prescribers)
    return NewUser(user, initial)


def admin_create_user(ctx: Context, *, role: str, email: str, name: str, npi: str | None,
                pharmacy_ncpdp: str | None, works_for: list[str] | None = None,
                fast_hash: bool = False) -> NewUser:
    """A user of any role with a one-time initial password, to be changed at the first login.
    Pharmacy staff are attached to a pharmacy by its NCPDP id; office staff work for the
    prescribers whose emails are in `works_for`."""
    require_admin(ctx)
    ncpdp = (pharmacy_ncpdp or "").strip()
    pharmacy_id = None
    if ncpdp:
        # An unknown NCPDP id becomes id 0, which no pharmacy has, so that create_user
        # refuses it along with every other field error.
        pharmacy_id = ctx.session.scalar(
            select(Pharmacy.id).where(Pharmacy.ncpdp_id == ncpdp)) or 0
    try:
        return create_user(ctx, role=role, email=email, name=name,
                           npi=(npi or "").strip() or None, pharmacy_id=pharmacy_id,
                           works_for=works_for, fast_hash=fast_hash)
    except ValidationFailed as exc:
        errors = dict(exc.errors)
        if "pharmacy" in errors:
            if role != Role.PHARMACIST:
                message = "Only pharmacy staff belong to a pharmacy; leave the NCPDP id empty."
            elif not ncpdp:
                message = "Enter the NCPDP id of the pharmacy this person works at."
            else:
                message = f"No pharmacy has the NCPDP id {ncpdp}."
            errors["pharmacy"] = [message]
        raise ValidationFailed(errors) from None


def user_by_email(ctx: Context, email: str) -> User:
    user = ctx.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))
    if user is None:
        raise NotFound("no user with this email")
    return user


def user_by_id(ctx: Context, user_id: int) -> User:
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def end_sessions(ctx: Context, user_id: int) -> int:
    """End every open browser session of the user; returns how many were open."""
    return rows_changed(ctx.session,
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=ctx.now())
    )


def deactivate_user(ctx: Context, user_id: int, reason: str | None) -> User:
    """Take a user out of the program: they can no longer sign in or use the API, their open
    sessions end and their tokens are revoked at once. A deactivated prescriber's prescriptions
    can no longer be marked dispensable or dispensed (RULES.md §3, PRESCRIBER_INACTIVE)."""
    require_admin(ctx)
    user = user_by_id(ctx, user_id)
    errors: dict[str, list[str]] = {}
    text = given_reason(errors, reason, "the user is deactivated")
    if user.id == ctx.actor.user_id:
        errors.setdefault("user", []).append(
            "You cannot deactivate your own account; another administrator can.")
    require(errors)
    now = ctx.now()
    # Conditional, so that two administrators pressing the button record one deactivation.
    moved = rows_changed(ctx.session,
        update(User).where(User.id == user.id, User.active.is_(True))
        .values(active=False, deactivated_at=now)
    )
    if moved != 1:
        raise ValidationFailed({"user": ["This user is already deactivated."]})
    sessions = end_sessions(ctx, user.id)
    tokens = rows_changed(ctx.session,
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ctx.session.flush()
    ctx.session.refresh(user)
    record_event(ctx, "user.deactivated", "user", user.id, old={"active": True},
                 new={"active": False, "sessions_ended": sessions, "tokens_revoked": tokens},
                 reason=text)
    return user


def reactivate_user(ctx: Context, user_id: int, reason: str | None) -> User:
    """Let a deactivated user back in with the same id. Their old tokens stay revoked."""
    require_admin(ctx)
    user = user_by_id(ctx, user_id)
    errors: dict[str, list[str]] = {}
    text = given_reason(errors, reason, "the user is reactivated")
    require(errors)
    moved = rows_changed(ctx.session,
        update(User).where(User.id == user.id, User.active.is_(False))
        .values(active=True, deactivated_at=None)
    )
    if moved != 1:
        raise ValidationFailed({"user": ["This user is already active."]})
    ctx.session.flush()
    ctx.session.refresh(user)
    record_event(ctx, "user.reactivated", "user", user.id, old={"active": False},
                 new={"active": True}, reason=text)
    return user


def set_home_testing(ctx: Context, permitted: bool) -> User:
    """RULES.md §3: the prescriber attests to a process against misread or falsified home test
    results; off by default, every change audited."""
    if ctx.actor.role != Role.PRESCRIBER:
        raise ValidationFailed({"home_testing_permitted": ["Only prescribers have this setting."]})
    user = ctx.session.get(User, ctx.actor.user_id)
    assert user is not None
    if user.home_testing_permitted != permitted:
        old = user.home_testing_permitted
        user.home_testing_permitted = permitted
        ctx.session.flush()
        record_event(ctx, "prescriber.home_testing_changed", "user", user.id,
                     old={"home_testing_permitted": old},
                     new={"home_testing_permitted": permitted},
                     reason="attested: process against misread or falsified home results"
                     if permitted else None)
    return user
