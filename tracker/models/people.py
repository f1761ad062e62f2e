"""Users of every role, whom office staff work for, pharmacies, API tokens, password reset
links, server-side login sessions, login throttling."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, utcnow
from tracker.models._types import StrEnumType, one_of


class Role(StrEnum):
    ADMIN = "admin"
    PRESCRIBER = "prescriber"
    PHARMACIST = "pharmacist"
    STAFF = "staff"  # a prescriber's designee: prepares the prescriber's work, never signs
    AUDITOR = "auditor"  # reads reports and audit trails; no clinical record, no change
    PATIENT = "patient"  # a patient's own portal account: sees only their own record


class Pharmacy(Base):
    __tablename__ = "pharmacies"
    __table_args__ = (CheckConstraint("length(ncpdp_id) = 7", name="ncpdp_seven_digits"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    ncpdp_id: Mapped[str] = mapped_column(String(7), unique=True)
    activated_on: Mapped[date]
    trained_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff: Mapped[list[User]] = relationship(back_populates="pharmacy")


class User(Base):
    """A person who logs in. Never deleted: deactivation keeps the id (audit rows point at it)."""

    __tablename__ = "users"
    __table_args__ = (
        one_of("role", Role, "role_known"),
        CheckConstraint("role <> 'prescriber' OR npi IS NOT NULL", name="prescriber_has_npi"),
        CheckConstraint(
            "(role = 'pharmacist') = (pharmacy_id IS NOT NULL)", name="pharmacist_has_pharmacy"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(StrEnumType(Role, 20))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    password_changed_at: Mapped[datetime | None]
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    home_testing_permitted: Mapped[bool] = mapped_column(default=False)
    pharmacy_id: Mapped[int | None] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[datetime | None]

    pharmacy: Mapped[Pharmacy | None] = relationship(back_populates="staff")


class StaffAssignment(Base):
    """A staff member works for a prescriber (one of the prescriber's designees). Never deleted:
    ending the work keeps the row with when and by whom it ended, and working for the same
    prescriber again reopens it."""

    __tablename__ = "staff_assignments"
    __table_args__ = (
        UniqueConstraint("staff_id", "prescriber_id", name="uq_staff_assignments_pair"),
        CheckConstraint("staff_id <> prescriber_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ApiToken(Base):
    """A bearer token for the JSON API. Only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class PasswordReset(Base):
    """A single-use link with which a user sets a new password, made by an administrator who
    hands it over out of band. Only a SHA-256 of the link's token is stored; the link expires,
    and a newer link for the same user voids it."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]


class LoginSession(Base):
    """A server-side browser session. The cookie holds a random id; only its hash is stored, so a
    copy of the database cannot be used to take over a session."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed-login counters per account and per client address, kept in the database so that
    several app processes share them."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class FormDraft(Base):
    """What a signed-in person typed into a form that reached the server after their session had
    expired: kept here (never in the browser) until they sign in again as the same user and the
    form is shown filled in, or until it is purged. Only a hash of the draft's id is stored; the
    id travels in the sign-in link."""

    __tablename__ = "form_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    fields: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
