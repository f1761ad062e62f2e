"""Users, pharmacies and API tokens: the administration use cases."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from tracker.models import ApiToken, Pharmacy, Role, User
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import NotFound, ValidationFailed, require
from tracker.services.passwords import hash_password, password_problems
from tracker.services.text import MESSAGE as TEXT_MESSAGE
from tracker.services.text import has_control_characters, name_problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "trk_"  # noqa: S105 - a marker, not a secret


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


def ncpdp_is_valid(ncpdp: str) -> bool:
    return bool(re.fullmatch(r"\d{7}", ncpdp or ""))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


@dataclass(frozen=True)
class NewUser:
    user: User
    initial_password: str | None  # shown once when no password was chosen


def create_pharmacy(
    ctx: Context,
    name: str,
    ncpdp_id: str,
    activated_on: date | None = None,
    trained_on: date | None = None,
) -> Pharmacy:
    name = (name or "").strip()
    errors: dict[str, list[str]] = {
        "name": [], "ncpdp_id": [], "activated_on": [], "trained_on": []
    }
    if has_control_characters(name):
        errors["name"].append(TEXT_MESSAGE)
    elif not name or len(name) > 200:
        errors["name"].append("Enter the pharmacy's name (1 to 200 characters).")
    if not ncpdp_is_valid(ncpdp_id):
        errors["ncpdp_id"].append("The NCPDP id has exactly 7 digits.")
    elif ctx.session.scalar(select(Pharmacy.id).where(Pharmacy.ncpdp_id == ncpdp_id)):
        errors["ncpdp_id"].append("A pharmacy with this NCPDP id already exists.")
    today = ctx.today()
    activated_on = activated_on or today
    trained_on = trained_on or today
    if activated_on > today:
        errors["activated_on"].append("The activation date cannot be in the future.")
    if trained_on > today:
        errors["trained_on"].append("The training attestation date cannot be in the future.")
    require(errors)
    pharmacy = Pharmacy(
        name=name, ncpdp_id=ncpdp_id, activated_on=activated_on, trained_on=trained_on,
        created_at=ctx.now(),
    )
    ctx.session.add(pharmacy)
    ctx.session.flush()
    record_event(
        ctx,
        "pharmacy.created",
        "pharmacy",
        pharmacy.id,
        new={"name": name, "ncpdp_id": ncpdp_id, "activated_on": activated_on,
             "trained_on": trained_on},
    )
    return pharmacy


def create_user(
    ctx: Context,
    *,
    role: str,
    email: str,
    name: str,
    password: str | None = None,
    npi: str | None = None,
    pharmacy_id: int | None = None,
    fast_hash: bool = False,
) -> NewUser:
    """Create a user of any role. Without a password a one-time initial password is generated
    and must be changed at the first login."""
    email = normalize_email(email)
    name = (name or "").strip()
    errors: dict[str, list[str]] = {
        "role": [], "email": [], "name": [], "password": [], "npi": [], "pharmacy": []
    }
    if role not in {r.value for r in Role}:
        errors["role"].append("The role is one of admin, prescriber, pharmacist.")
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
    require(errors)

    initial = None
    if password is None:
        initial = secrets.token_urlsafe(12)
        password = initial
    user = User(
        role=role,
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
    return NewUser(user, initial)


def user_by_email(ctx: Context, email: str) -> User:
    user = ctx.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))
    if user is None:
        raise NotFound("no user with this email")
    return user


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(ctx: Context, user: User, label: str | None = None) -> str:
    """Issue a new API token for a user; returns the token, which is never stored."""
    if not user.active:
        raise ValidationFailed({"user": ["The user is deactivated."]})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=token_hash(token), prefix=token[:10], label=label
    )
    ctx.session.add(row)
    ctx.session.flush()
    record_event(ctx, "token.created", "api_token", row.id, new={"user_id": user.id,
                                                                   "prefix": row.prefix})
    return token


def revoke_token(ctx: Context, token_id: int) -> ApiToken:
    row = ctx.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("no such token")
    if row.revoked_at is None:
        row.revoked_at = ctx.now()
        record_event(ctx, "token.revoked", "api_token", row.id, new={"user_id": row.user_id})
    return row


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


def authenticate_token(session: Session, token: str, now: datetime) -> User | None:
    """The active user behind a bearer token, or None. Records when the token was last used
    (at most once a minute, so that reads stay reads)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    found = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
        # Pharmacy staff's pharmacy comes in the same statement: the lookup and the dispense
        # then find it in the session instead of asking the database again.
        .options(joinedload(User.pharmacy))
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    if not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        # Best effort: a read request on SQLite cannot always take the write lock while another
        # process writes ("database is locked"); the request must not fail for this time stamp.
        try:
            with session.begin_nested():
                session.execute(update(ApiToken).where(ApiToken.id == row.id)
                                .values(last_used_at=now))
        except OperationalError:
            pass
    return user
