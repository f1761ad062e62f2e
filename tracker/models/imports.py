"""Histories brought in from another system (`tracker import`): where each imported patient
came from. Every row an import writes belongs to an imported patient and was recorded at the
import's time, so the import of a patient names the source of all their imported records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, utcnow


class PatientImport(Base):
    """One run of an import: the file (name and SHA-256), for which prescriber, who ran it
    (a user, or the command line with no user) and when."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ran_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ran_by_name: Mapped[str] = mapped_column(String(200))
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    patients: Mapped[int] = mapped_column(default=0)


class ImportedPatient(Base):
    """A patient created by an import, under the id the source system gave them. The external
    id is unique per prescriber: importing the same line again finds this row and changes
    nothing."""

    __tablename__ = "imported_patients"
    __table_args__ = (
        UniqueConstraint("prescriber_id", "external_id", name="uq_imported_patients_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    external_id: Mapped[str] = mapped_column(String(100))
