"""Logging in: password check, throttling per account and per client address, soft lock,
password changes. Every failure is audited; the answer never says which part was wrong."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from tracker.models import LoginAttempt, User
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import ValidationFailed
from tracker.services.passwords import hash_password, password_problems, verify_password

MAX_FAILURES = 5  # failures on one account within the window before a soft lock
# A clinic's staff often share one address (NAT): the address allows more failures than an
# account before it pauses, but still stops one machine from guessing across many accounts.
MAX_ADDRESS_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
GENERIC_FAILURE = "The email or password is not right, or sign-in is paused for a while."


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message: str | None = None


def _keys(email: str, addr: str | None) -> list[str]:
    keys = ["account:" + email.strip().lower()]
    if addr:
        keys.append("addr:" + addr)
    return keys


def _locked(ctx: Context, keys: list[str], now: datetime) -> bool:
    rows = ctx.session.scalars(select(LoginAttempt).where(LoginAttempt.key.in_(keys))).all()
    return any(r.locked_until is not None and r.locked_until > now for r in rows)


def _count_failure(ctx: Context, keys: list[str], now: datetime) -> None:
    for key in keys:
        row = ctx.session.scalar(select(LoginAttempt).where(LoginAttempt.key == key))
        if row is None:
            row = LoginAttempt(key=key, failures=0, first_failure_at=now)
            ctx.session.add(row)
        if now - row.first_failure_at > FAILURE_WINDOW:
            row.failures, row.first_failure_at = 0, now
        row.failures += 1
        limit = MAX_ADDRESS_FAILURES if key.startswith("addr:") else MAX_FAILURES
        if row.failures >= limit:
            row.locked_until = now + LOCK_FOR
    ctx.session.flush()


def authenticate(ctx: Context, email: str, password: str) -> LoginResult:
    """Check a login. A soft lock (per account or per address) refuses even a right password, so
    guessing cannot go on; the message is the same as for a wrong password."""
    now = ctx.now()
    email = (email or "").strip().lower()
    keys = _keys(email, ctx.actor.client_addr)
    user = ctx.session.scalar(select(User).where(func.lower(User.email) == email))
    if _locked(ctx, keys, now):
        verify_password(None, password)
        record_event(ctx, "login.throttled", "user", user.id if user else None,
                     new={"reason": "locked"})
        return LoginResult(None, GENERIC_FAILURE)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        _count_failure(ctx, keys, now)
        record_event(ctx, "login.failed", "user", user.id if user else None,
                     new={"reason": "inactive" if ok and user else "bad-credentials"})
        return LoginResult(None, GENERIC_FAILURE)
    ctx.session.execute(delete(LoginAttempt).where(LoginAttempt.key == keys[0]))
    # From here on the person is known: the event names them as its actor.
    signed_in = replace(ctx, actor=replace(ctx.actor, user_id=user.id, role=user.role,
                                           name=user.name))
    record_event(signed_in, "login.succeeded", "user", user.id)
    return LoginResult(user)


def change_password(ctx: Context, user: User, current: str, new: str, fast: bool = False) -> None:
    if not verify_password(user.password_hash, current):
        raise ValidationFailed({"current_password": ["The current password is not right."]})
    problems = password_problems(new, user.email, user.name)
    if verify_password(user.password_hash, new):
        problems.append("Choose a password different from the current one.")
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = hash_password(new, fast=fast)
    user.must_change_password = False
    user.password_changed_at = ctx.now()
    record_event(ctx, "user.password_changed", "user", user.id)
