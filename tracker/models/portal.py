"""The patient portal: the account a patient signs in with, and the invitations that set it up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, utcnow


class PatientAccount(Base):
    """A user of the role `patient` is the account of exactly one patient, and a patient has at
    most one account. The account is the patient's own, at any age (a guardian signs the
    acknowledgment beside a minor, never the account)."""

    __tablename__ = "patient_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PortalInvitation(Base):
    """A single-use invitation to the portal, made by the clinic and printed for the patient.
    Only a SHA-256 of its code is stored; it expires, and a newer invitation voids it."""

    __tablename__ = "portal_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
