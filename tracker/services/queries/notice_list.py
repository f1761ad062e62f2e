"""The administration's page of reminder notices: what was sent, what waits, what failed and
why. The bodies stay in the outbox; the page shows who a notice went to (a patient's address
with its name part hidden), its kind, status, attempts and the last SMTP error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from tracker.models import Notice, NoticeAudience, NoticeStatus
from tracker.services.administration import require_admin
from tracker.services.context import Context
from tracker.services.paging import PER_PAGE, Page, paginate

KIND_LABELS = {
    "test_from": "Pregnancy test: from when",
    "window_closing": "Window closes tomorrow",
    "monthly_questions": "Monthly questions due",
    "authorization_issued": "Authorization issued",
    "post_treatment_test": "Post-treatment test",
    "digest": "Care team's daily digest",
}
STATUS_LABELS = {
    NoticeStatus.PENDING: "Waiting",
    NoticeStatus.SENDING: "Sending",
    NoticeStatus.SENT: "Sent",
    NoticeStatus.FAILED: "Failed",
}


@dataclass(frozen=True)
class NoticeRow:
    id: int
    kind: str
    to: str
    language: str
    status: NoticeStatus
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def masked(address: str) -> str:
    """j…@example.org: enough to see where a delivery failed, not whose address it is."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


def _row(notice: Notice) -> NoticeRow:
    to = notice.to_address
    if notice.audience == NoticeAudience.PATIENT:
        to = "patient " + masked(to)
    waiting = notice.status == NoticeStatus.PENDING
    return NoticeRow(notice.id, notice.kind, to, notice.language, notice.status,
                     notice.attempts, notice.created_at, notice.sent_at,
                     notice.next_attempt_at if waiting else None, notice.last_error)


def list_notices(ctx: Context, page: int = 1, status: str | None = None,
                 per_page: int = PER_PAGE) -> Page[NoticeRow]:
    """The newest notices first, of one status when `status` is given."""
    require_admin(ctx)
    stmt = select(Notice)
    if status in {s.value for s in NoticeStatus}:
        stmt = stmt.where(Notice.status == status)
    stmt = stmt.order_by(Notice.created_at.desc(), Notice.id.desc())
    return paginate(ctx.session, stmt, page, per_page, row=lambda r: _row(r[0]))


def counts(ctx: Context) -> dict[NoticeStatus, int]:
    """How many notices have each status."""
    require_admin(ctx)
    found: dict[str, int] = {}
    for status, count in ctx.session.execute(
            select(Notice.status, func.count()).group_by(Notice.status)):
        found[str(status)] = int(count)
    return {status: found.get(status.value, 0) for status in NoticeStatus}
