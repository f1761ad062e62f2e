"""Program reports counted ahead (`tracker reports refresh`, a nightly job) and served while
they are exactly what is asked: the same period and rule set, counted as of the same day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base


class StoredReport(Base):
    """One program report as counted on one snapshot of the data: the whole report (JSON, as
    tracker.services.queries.report_json writes it), and the audit trail's last event id seen
    by that snapshot. Every write appends an audit event, so no event after `watermark` means
    the data is still what was counted. One row per period and rule set: a refresh replaces
    it."""

    __tablename__ = "stored_reports"
    __table_args__ = (
        # Also the serving look-up's index. A NULL rule set (every rule set) is not unique to
        # the database; the refresh replaces rows under the audit trail's lock instead.
        UniqueConstraint("first_day", "last_day", "rule_set", name="uq_stored_reports_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    rule_set: Mapped[str | None] = mapped_column(String(40))  # NULL: every rule set
    as_of: Mapped[date]  # the program date it was counted as of (the report's "today")
    counted_at: Mapped[datetime]  # when its snapshot was taken (UTC)
    watermark: Mapped[int]  # the last audit event id in that snapshot; 0: none yet
    milliseconds: Mapped[int]  # how long the count took
    report: Mapped[str] = mapped_column(Text)
