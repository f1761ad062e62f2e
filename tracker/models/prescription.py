"""Prescriptions, their authorizations ("marked dispensable") and dispenses."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, utcnow
from tracker.domain.facts import PrescriptionStatus
from tracker.models._types import StrEnumType, one_of
from tracker.models.patient import Patient


class AuthorizationState(StrEnum):
    OPEN = "open"  # dispensable; may be past its do-not-dispense-after date
    DISPENSED = "dispensed"
    REVERSED = "reversed"
    LAPSED = "lapsed"  # expired unused and closed when a newer authorization was issued


class Prescription(Base):
    __tablename__ = "prescriptions"
    __table_args__ = (
        CheckConstraint("days_supply BETWEEN 1 AND 30", name="days_supply_1_to_30"),
        CheckConstraint("refills = 0", name="no_refills"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        one_of("status", PrescriptionStatus, "status_known"),
        Index("ix_prescriptions_patient", "patient_id", "written_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Who entered it: the prescriber, or office staff who drafted it for the prescriber's
    # signature (None on prescriptions entered before staff existed: the prescriber).
    written_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    written_on: Mapped[date]
    days_supply: Mapped[int]
    quantity: Mapped[int]
    refills: Mapped[int] = mapped_column(default=0)
    status: Mapped[PrescriptionStatus] = mapped_column(StrEnumType(PrescriptionStatus, 20),
                                                      default=PrescriptionStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


class Authorization(Base):
    """The prescriber's "mark dispensable": a random number, the window's last day and the rule
    set that decided. At most one open authorization per patient (partial unique index)."""

    __tablename__ = "authorizations"
    __table_args__ = (
        one_of("state", AuthorizationState, "state_known"),
        Index(
            "uq_authorizations_one_open_per_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_authorizations_prescription", "prescription_id"),
        # The patient page and the audit view list a patient's authorizations.
        Index("ix_authorizations_patient", "patient_id", "issued_on"),
        # The program report counts the authorizations issued in a period, by outcome, patient
        # and prescription: every column it reads is in the index, so the rows are not read.
        Index("ix_authorizations_issued_on", "issued_on", "state", "do_not_dispense_after",
              "patient_id", "prescription_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    state: Mapped[AuthorizationState] = mapped_column(StrEnumType(AuthorizationState, 20),
                                                     default=AuthorizationState.OPEN)
    issued_on: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    do_not_dispense_after: Mapped[date | None]
    rule_set: Mapped[str] = mapped_column(String(30))
    decision_used: Mapped[str] = mapped_column(Text, default="[]")
    signature_hmac: Mapped[str] = mapped_column(String(64))
    signature_key_id: Mapped[str | None] = mapped_column(String(32))  # the key that signed
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_reason: Mapped[str | None] = mapped_column(Text)

    prescription: Mapped[Prescription] = relationship()


class Dispense(Base):
    """A dispense happens at most once per prescription and per authorization (unique keys)."""

    __tablename__ = "dispenses"
    __table_args__ = (
        CheckConstraint("days_supply BETWEEN 1 AND 30", name="days_supply_1_to_30"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("medication_guide_given", name="medication_guide_given"),
        Index("ix_dispenses_pharmacy", "pharmacy_id", "dispensed_at"),
        Index("ix_dispenses_patient", "patient_id", "dispensed_on"),
        # The program report counts the dispenses of a period (every column it reads is in the
        # index, so the rows are not read).
        Index("ix_dispenses_dispensed_on", "dispensed_on", "authorization_id", "prescription_id",
              "pharmacy_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), unique=True)
    authorization_id: Mapped[int] = mapped_column(ForeignKey("authorizations.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"))
    pharmacist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    dispensed_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispensed_on: Mapped[date]
    quantity: Mapped[int]
    days_supply: Mapped[int]
    medication_guide_given: Mapped[bool]


class IdempotencyRecord(Base):
    """The first answer to a write sent with an Idempotency-Key, replayed for the same key and
    body. Kept in the database so that every app process sees it."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key", name="uq_idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
