"""The patient, their category over time, signed acknowledgments and course ends."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, utcnow
from tracker.domain.facts import Category
from tracker.models._types import StrEnumType, one_of
from tracker.models.people import User

# The languages reminders are written in (templates/email/<language>/).
LANGUAGES = ("en", "es")


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        one_of("category", Category, "category_known"),
        Index("ix_patients_prescriber_name", "prescriber_id", "last_name", "first_name"),
        Index("ix_patients_prescriber_birth", "prescriber_id", "date_of_birth"),
        Index("ix_patients_program_number", "program_number", unique=True),
        one_of("language", LANGUAGES, "language_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date]
    category: Mapped[Category] = mapped_column(StrEnumType(Category, 30))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # API.md `program_number`: random, unique, never reused; set at registration. The column
    # admits NULL only because SQLite cannot make a column of a table with rows NOT NULL
    # without rebuilding the table (and every table that refers to it).
    program_number: Mapped[str] = mapped_column(String(20), nullable=True)
    # Reminders (tracker.services.notices): where to send them, in which language, and
    # whether the patient declined them. The defaults are the database's, so that the bulk
    # writers (import, generated demo) need not name these columns.
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), server_default="en")
    reminders_opted_out: Mapped[bool] = mapped_column(server_default=false())

    prescriber: Mapped[User] = relationship(foreign_keys=[prescriber_id])


class CategoryChange(Base):
    """The category from `changed_on` on. Registration writes the first row; the history lets an
    evaluation "as of" a past date use the category of that date."""

    __tablename__ = "category_changes"
    __table_args__ = (one_of("category", Category, "category_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    category: Mapped[Category] = mapped_column(StrEnumType(Category, 30))
    changed_on: Mapped[date]
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


class Acknowledgment(Base):
    """The signed acknowledgment of the pregnancy warning (RULES.md §4), an electronic signature:
    printed name, meaning, signing date, witness and server time, bound by an HMAC."""

    __tablename__ = "acknowledgments"
    __table_args__ = (one_of("category", Category, "category_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    category: Mapped[Category] = mapped_column(StrEnumType(Category, 30))
    form_code: Mapped[str] = mapped_column(String(50))
    form_version: Mapped[str] = mapped_column(String(20))
    signed_on: Mapped[date]
    patient_signature: Mapped[str] = mapped_column(String(201))
    guardian_signature: Mapped[str | None] = mapped_column(String(201))
    guardian_relationship: Mapped[str | None] = mapped_column(String(100))
    meaning: Mapped[str] = mapped_column(Text)
    witness_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signature_hmac: Mapped[str] = mapped_column(String(64))
    signature_key_id: Mapped[str | None] = mapped_column(String(32))  # the key that signed

    witness: Mapped[User] = relationship()


class CourseEnd(Base):
    """The prescriber recorded the last dose: the course is over (RULES.md §4)."""

    __tablename__ = "course_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    last_dose_on: Mapped[date]
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
