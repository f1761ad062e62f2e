"""Housekeeping: remove the rows that only served for a while (ended or expired sign-in sessions,
login counters the throttle no longer reads, old Idempotency-Key answers, form drafts nobody came
back for, the ids of CDS client JWTs that have expired), so the tables stay the size of
what is in use, and the import files uploaded and never confirmed. Nothing regulated is touched;
the audit trail records each purge."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import CursorResult, and_, delete, or_

from tracker.models import CdsJwtId, IdempotencyRecord, LoginAttempt, LoginSession
from tracker.services.audit import record_event
from tracker.services.auth import FORGET_AFTER
from tracker.services.context import Context
from tracker.services.drafts import purge_drafts
from tracker.services.import_uploads import purge_uploads


@dataclass(frozen=True)
class PurgeLimits:
    """How long each kind of row is worth keeping (from the app's configuration)."""

    session_idle: timedelta
    session_absolute: timedelta
    idempotency_retention: timedelta
    # Files uploaded on the import page and never confirmed (TRACKER_IMPORT_UPLOAD_RETENTION_HOURS).
    import_upload_retention: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class PurgeReport:
    sessions: int
    login_attempts: int
    idempotency_records: int
    form_drafts: int
    cds_jwt_ids: int
    import_uploads: int = 0


def purge(ctx: Context, limits: PurgeLimits, instance_path: str | None = None) -> PurgeReport:
    """Delete what has stopped mattering, in the caller's transaction, and audit the counts;
    with `instance_path`, also the import uploads kept there and never confirmed."""
    now = ctx.now()
    # A session the app would refuse anyway: ended, idle too long, or past its absolute limit.
    sessions = ctx.session.execute(delete(LoginSession).where(or_(
        LoginSession.ended_at.is_not(None),
        LoginSession.last_seen_at < now - limits.session_idle,
        LoginSession.created_at < now - limits.session_absolute,
    )).execution_options(synchronize_session=False))
    # The throttle forgets a counter an hour (FORGET_AFTER) after its last wait ended, or after
    # its first failure when it never waited (auth._forgotten): such a counter is never read.
    forgotten = now - FORGET_AFTER
    attempts = ctx.session.execute(delete(LoginAttempt).where(or_(
        and_(LoginAttempt.locked_until.is_(None), LoginAttempt.first_failure_at < forgotten),
        LoginAttempt.locked_until < forgotten,
    )).execution_options(synchronize_session=False))
    # API.md: a client retries a write with the same key within the retention, not later.
    answers = ctx.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.created_at < now - limits.idempotency_retention,
    ).execution_options(synchronize_session=False))
    # An expired JWT is refused whatever its jti: its jti need not be remembered any more.
    jwt_ids = ctx.session.execute(delete(CdsJwtId).where(
        CdsJwtId.expires_at < now,
    ).execution_options(synchronize_session=False))
    uploads = 0 if instance_path is None else \
        purge_uploads(instance_path, now - limits.import_upload_retention)
    report = PurgeReport(_count(sessions), _count(attempts), _count(answers),
                         purge_drafts(ctx.session, now), _count(jwt_ids), uploads)
    record_event(ctx, "maintenance.purged", "system", None, new=asdict(report))
    return report


def _count(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
