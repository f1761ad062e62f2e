"""Logging in: password check, back-off per account and per client address, password
changes. Every failure is audited; the answer never says which part was wrong.

Back-off, not a lock: after a few failures each further attempt waits 2^n seconds (capped), so
guessing slows to a crawl while a person who mistyped is delayed for seconds, not locked out
by whoever typed their email. A wrong password typed inside a signed-in session (a signature,
the current password at a change) counts for the account like a failed sign-in, and the
failure that reaches the limit ends the user's sessions."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from tracker.models import LoginAttempt, User
from tracker.services.audit import record_event
from tracker.services.context import Context
from tracker.services.errors import PasswordGuessingStopped, PasswordRejected, ValidationFailed
from tracker.services.passwords import hash_password, password_problems, verify_password

MAX_FAILURES = 5  # failures on one account before each further attempt waits
# A clinic's staff often share one address (NAT): the address allows more failures than an
# account before it waits, but still stops one machine from guessing across many accounts.
MAX_ADDRESS_FAILURES = 20
MAX_WAIT = timedelta(minutes=15)
# Failures are forgotten after this long without one (counted from the end of the last wait),
# so a guesser at the longest wait stays there instead of starting over.
FORGET_AFTER = timedelta(hours=1)
GENERIC_FAILURE = "The email or password is not right, or sign-in is paused for a while."
# Said only to someone who gave the account's right password: it tells them nothing new about
# the account's existence, and why they are turned away.
DEACTIVATED = ("This account has been deactivated by an administrator. Ask your administrator "
               "to reactivate it.")
SIGNED_OUT = ("You were signed out: the password was entered wrongly too many times. Sign in "
              "again; sign-in may be paused for a short while first.")


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    message: str | None = None
    retry_after: int | None = None  # seconds to wait before the next attempt is heard


def wait_after(failures: int, limit: int) -> timedelta:
    """The wait before the next attempt, after `failures` in a row on a key that allows
    `limit` before it waits: 2 s at the limit, doubling with each further failure, capped."""
    if failures < limit:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - limit + 1, 20)), MAX_WAIT)


def _account_key(email: str) -> str:
    return "account:" + email.strip().lower()


def _keys(email: str, addr: str | None) -> list[str]:
    keys = [_account_key(email)]
    if addr:
        keys.append("addr:" + addr)
    return keys


def _limit(key: str) -> int:
    return MAX_ADDRESS_FAILURES if key.startswith("addr:") else MAX_FAILURES


def is_forgotten(row: LoginAttempt, now: datetime) -> bool:
    """Whether the back-off has forgotten a counter (the purge removes exactly these)."""
    return now - (row.locked_until or row.first_failure_at) > FORGET_AFTER


def _waiting(ctx: Context, keys: list[str], now: datetime) -> timedelta:
    """How long the longest wait on any of the keys still runs (zero when none does)."""
    rows = ctx.session.scalars(select(LoginAttempt).where(LoginAttempt.key.in_(keys))).all()
    return max((r.locked_until - now for r in rows
                if r.locked_until is not None and r.locked_until > now), default=timedelta(0))


def _count_failure(ctx: Context, keys: list[str], now: datetime) -> int:
    """Count one failure on each key (the wait after it is stored as `locked_until`); the
    number of failures in a row on the first key."""
    counts = []
    for key in keys:
        row = ctx.session.scalar(select(LoginAttempt).where(LoginAttempt.key == key))
        if row is None:
            row = LoginAttempt(key=key, failures=0, first_failure_at=now)
            ctx.session.add(row)
        elif is_forgotten(row, now):
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        row.failures += 1
        wait = wait_after(row.failures, _limit(key))
        row.locked_until = now + wait if wait else None
        counts.append(row.failures)
    ctx.session.flush()
    return counts[0]


def seconds_to_wait(ctx: Context, keys: list[str]) -> int:
    """How many seconds the back-off still makes an attempt on any of the keys wait (0: none).
    Other secrets a person types to get in (a portal invitation's birth date) use the same
    back-off as sign-in, under keys of their own."""
    wait = _waiting(ctx, keys, ctx.now())
    return math.ceil(wait.total_seconds()) if wait else 0


def count_failed_attempt(ctx: Context, keys: list[str]) -> int:
    """Count one failed attempt on each key, as a failed sign-in counts (see seconds_to_wait)."""
    return _count_failure(ctx, keys, ctx.now())


def attempt_keys(subject: str, addr: str | None) -> list[str]:
    """The back-off keys of an attempt on `subject` from the client address `addr`."""
    return [subject] + (["addr:" + addr] if addr else [])


def authenticate(ctx: Context, email: str, password: str) -> LoginResult:
    """Check a login. While a wait runs (per account or per address) even a right password is
    refused, so guessing cannot go faster; the answer says when to try again and is the same
    whether or not the account exists."""
    now = ctx.now()
    email = (email or "").strip().lower()
    keys = _keys(email, ctx.actor.client_addr)
    user = ctx.session.scalar(select(User).where(func.lower(User.email) == email))
    wait = _waiting(ctx, keys, now)
    if wait:
        verify_password(None, password)
        seconds = math.ceil(wait.total_seconds())
        record_event(ctx, "login.throttled", "user", user.id if user else None,
                     new={"reason": "waiting", "retry_after": seconds})
        return LoginResult(None, f"Sign-in is paused for a while after too many failed "
                                 f"attempts. Try again in {_spoken(seconds)}.", seconds)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        _count_failure(ctx, keys, now)
        record_event(ctx, "login.failed", "user", user.id if user else None,
                     new={"reason": "inactive" if ok and user else "bad-credentials"})
        return LoginResult(None, DEACTIVATED if ok and user else GENERIC_FAILURE)
    ctx.session.execute(delete(LoginAttempt).where(LoginAttempt.key == keys[0]))
    # From here on the person is known: the event names them as its actor.
    signed_in = replace(ctx, actor=replace(ctx.actor, user_id=user.id, role=user.role,
                                           name=user.name))
    record_event(signed_in, "login.succeeded", "user", user.id)
    return LoginResult(user)


def _spoken(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    return f"{math.ceil(seconds / 60)} minutes"


def count_password_failure(ctx: Context, user: User) -> None:
    """A wrong password typed by a signed-in user (a signature, the current password at a
    change) counts for their account like a failed sign-in. The failure that brings the
    account to its limit is audited and raises PasswordGuessingStopped: the caller ends every
    session of the user, and signing in again waits as after failed sign-ins."""
    failures = _count_failure(ctx, [_account_key(user.email)], ctx.now())
    if failures >= MAX_FAILURES:
        record_event(ctx, "user.signed_out_after_password_failures", "user", user.id,
                     new={"failures": failures})
        raise PasswordGuessingStopped(SIGNED_OUT)


def change_password(ctx: Context, user: User, current: str, new: str, fast: bool = False) -> None:
    """Change the user's own password. A wrong current password is audited and counted like a
    failed sign-in (PasswordRejected: the caller commits that record), and nothing changes."""
    if not verify_password(user.password_hash, current):
        record_event(ctx, "user.password_change_failed", "user", user.id,
                     new={"reason": "current-password-wrong"})
        count_password_failure(ctx, user)
        raise PasswordRejected({"current_password": ["The current password is not right."]})
    problems = password_problems(new, user.email, user.name)
    if verify_password(user.password_hash, new):
        problems.append("Choose a password different from the current one.")
    if problems:
        raise ValidationFailed({"new_password": problems})
    user.password_hash = hash_password(new, fast=fast)
    user.must_change_password = False
    user.password_changed_at = ctx.now()
    record_event(ctx, "user.password_changed", "user", user.id)
