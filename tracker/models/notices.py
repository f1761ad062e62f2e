"""The outbox of reminder emails: one row per notice, written once under a unique key, then
claimed, sent and marked by `tracker notify run` (tracker.notify)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, utcnow
from tracker.models._types import StrEnumType, one_of


class NoticeStatus(StrEnum):
    PENDING = "pending"  # waiting for its first try or for its next attempt time
    SENDING = "sending"  # claimed by one run, which is handing it to the SMTP server
    SENT = "sent"
    FAILED = "failed"  # given up: every attempt failed, or a run died while sending it


class NoticeAudience(StrEnum):
    PATIENT = "patient"
    CARE_TEAM = "care_team"  # a prescriber or their office staff (the daily digest)


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        one_of("status", NoticeStatus, "status_known"),
        one_of("audience", NoticeAudience, "audience_known"),
        Index("ix_notices_key", "key", unique=True),
        Index("ix_notices_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_notices_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What makes a notice the same notice on every run and every machine, e.g.
    # "authorization_issued:AB12CD34": the unique index refuses it a second time.
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    audience: Mapped[NoticeAudience] = mapped_column(StrEnumType(NoticeAudience, 20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[NoticeStatus] = mapped_column(StrEnumType(NoticeStatus, 20),
                                                 default=NoticeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
