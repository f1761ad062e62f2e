"""The systems outside tracker that call it on their own behalf: CDS Hooks clients (EHRs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, utcnow
from tracker.models.people import User


class CdsClient(Base):
    """An EHR allowed to call the CDS services: the issuer (`iss`) of its JWTs, the public key
    (PEM) that verifies them and the prescriber whose patients it asks about (the EHR answers
    for that prescriber's practice). Registered by the server operator; revoked, never deleted,
    so the audit trail keeps naming who it was."""

    __tablename__ = "cds_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255), unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    prescriber: Mapped[User] = relationship()
