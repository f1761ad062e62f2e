"""The pharmacy counter's access log and its guessing throttle (API.md "Guessing is throttled").

An authorization number and a birth date together open a patient's record at the counter. A
number alone must not let anyone find the birth date by trying dates, so:

- wrong birth dates for one authorization number, from any user (lookup or reverse), lock that
  number for pharmacy staff after 5 tries in 24 hours;
- 30 failed lookups by one user in an hour lock that user's lookups. A `$rems-etasu` look-up
  by pharmacy staff (a patient named by case number, or by name and birth date) that finds no
  one is a failed lookup too: it counts toward the same 30, and the lock pauses both kinds.

Every lookup, found or not, is written to the audit trail (who, from which pharmacy, which
number; for a number that exists, on its patient's trail), which is also where the throttle
counts failures: every app process sees the same counts, and nothing can be guessed by
spreading tries over processes or workers. The birth dates that were tried are never stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil
from typing import cast

from sqlalchemy import Table, and_, bindparam, or_, select

from tracker.db import UTCDateTime
from tracker.models import AuditEvent, Authorization
from tracker.services.audit import chain_pending_events, record_event
from tracker.services.context import Context
from tracker.services.errors import Throttled
from tracker.services.prepared import Prepared
from tracker.services.rows import AuthorizationRow

NUMBER_FAILURES_MAX = 5
NUMBER_WINDOW = timedelta(hours=24)
USER_FAILURES_MAX = 30
USER_WINDOW = timedelta(hours=1)

LOOKED_UP = "authorization.looked_up"
LOOKUP_FAILED = "authorization.lookup_failed"
REVERSE_FAILED = "authorization.reverse_failed"
THROTTLED = "authorization.lookup_throttled"
FAILURES = (LOOKUP_FAILED, REVERSE_FAILED)
# Written by tracker.services.rems_status; named here, where the throttle counts it.
ETASU_LOOKUP_FAILED = "rems.status_not_found"
ETASU_THROTTLED = "rems.status_throttled"
USER_FAILURES = (*FAILURES, ETASU_LOOKUP_FAILED)
NUMBER_MAX = 20  # what authorization_by_number accepts; a longer text is logged cut to this


def _typed(number: str) -> str:
    return (number or "").strip().upper()[:NUMBER_MAX]


def _lock_end(moments: list[datetime], most: int, window: timedelta) -> datetime | None:
    """When `most` failures inside `window` stop being `most`: a failure counts for exactly
    `window` after it happened."""
    if len(moments) < most:
        return None
    return sorted(moments, reverse=True)[most - 1] + window


def _seconds_until(ctx: Context, moment: datetime) -> int:
    return max(1, ceil((moment - ctx.now()).total_seconds()))


_events = cast(Table, AuditEvent.__table__)
_ON_NUMBER = and_(_events.c.object_type == "authorization",
                  _events.c.object_id == bindparam("number"))
_BY_USER = and_(_events.c.actor_id == bindparam("user_id"),
                _events.c.occurred_at > bindparam("user_since", type_=UTCDateTime()))
# Asked before every lookup at the counter: built once (the failure actions are constants,
# bound one by one so that the statement needs no expanding list).
_FAILURE_ACTION = _events.c.action.in_([bindparam(f"failure_{n}", action)
                                          for n, action in enumerate(USER_FAILURES)])
_FAILURES = Prepared(
    select(_events.c.occurred_at, _ON_NUMBER.label("on_number"), _BY_USER.label("by_user"))
    .where(_FAILURE_ACTION,
           _events.c.occurred_at > bindparam("number_since", type_=UTCDateTime()),
           or_(_ON_NUMBER, _BY_USER)))


# Asked before every `$rems-etasu` look-up by pharmacy staff: the user's failures of the hour.
_USER_FAILURES = Prepared(
    select(_events.c.occurred_at)
    .where(_events.c.actor_id == bindparam("user_id"), _FAILURE_ACTION,
           _events.c.occurred_at > bindparam("user_since", type_=UTCDateTime())))


def check_not_throttled(ctx: Context, number: str) -> None:
    """Raise Throttled (and log the attempt) when the number or the acting user is locked.

    One query reads both counts: the number's failures of the last 24 hours and the user's of
    the last hour. Neither can grow past its lock (a locked attempt is logged as throttled, not
    as a failure), so the answer stays a few dozen rows."""
    typed = _typed(number)
    now = ctx.now()
    chain_pending_events(ctx.session)  # the caller's own failures count too
    failures = _FAILURES.rows(ctx.session, number=typed, user_id=ctx.actor.user_id,
                              user_since=now - USER_WINDOW, number_since=now - NUMBER_WINDOW)
    by_number = _lock_end([at for at, on_number, _ in failures if on_number],
                          NUMBER_FAILURES_MAX, NUMBER_WINDOW)
    by_user = _lock_end([at for at, _, by_user in failures if by_user],
                        USER_FAILURES_MAX, USER_WINDOW)
    if by_number is None and by_user is None:
        return
    if by_user is not None and (by_number is None or by_user >= by_number):
        until, why = by_user, _USER_LOCKED
    else:
        assert by_number is not None
        until, why = by_number, (
            f"This authorization number had {NUMBER_FAILURES_MAX} wrong birth dates within 24 "
            f"hours; it is locked at the counter.")
    record_event(ctx, THROTTLED, "authorization", typed,
                 new={"pharmacy_id": ctx.actor.pharmacy_id, "until": until.isoformat()})
    raise Throttled(why, _seconds_until(ctx, until))


_USER_LOCKED = (f"More than {USER_FAILURES_MAX - 1} lookups failed from your account within an "
                f"hour; lookups are paused.")


def check_user_not_throttled(ctx: Context) -> None:
    """Raise Throttled (and log the attempt) when the acting user's lookups are locked: the
    check of a `$rems-etasu` look-up, which names a patient rather than an authorization."""
    chain_pending_events(ctx.session)  # the caller's own failures count too
    failures = [at for at, in _USER_FAILURES.rows(ctx.session, user_id=ctx.actor.user_id,
                                                  user_since=ctx.now() - USER_WINDOW)]
    until = _lock_end(failures, USER_FAILURES_MAX, USER_WINDOW)
    if until is None:
        return
    record_event(ctx, ETASU_THROTTLED, "patient", None,
                 new={"pharmacy_id": ctx.actor.pharmacy_id, "until": until.isoformat()})
    raise Throttled(_USER_LOCKED, _seconds_until(ctx, until))


def record_access(ctx: Context, auth: Authorization | AuthorizationRow) -> None:
    """A lookup that matched: the patient's record was shown at the counter."""
    record_event(ctx, LOOKED_UP, "authorization", auth.number, patient_id=auth.patient_id,
                 new={"pharmacy_id": ctx.actor.pharmacy_id})


def record_failure(ctx: Context, action: str, number: str,
                   auth: Authorization | AuthorizationRow | None) -> None:
    """A lookup or reversal whose number and birth date did not match. When the number exists
    the attempt is on its patient's trail too (someone tried to open that record)."""
    record_event(ctx, action, "authorization", _typed(number),
                 patient_id=auth.patient_id if auth is not None else None,
                 new={"pharmacy_id": ctx.actor.pharmacy_id, "number_exists": auth is not None})
