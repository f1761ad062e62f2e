"""Clinical records: counseling, pregnancy tests, contraception, comprehension attempts.

Records are never overwritten. A correction is a new row pointing at the one it corrects
(`corrects_id`, with a reason); the corrected row is marked `superseded` and left as it was."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from tracker.db import Base, utcnow
from tracker.domain.facts import TestResult, TestSetting
from tracker.models._types import StrEnumType, one_of


class _Record:
    """Columns every clinical record has: who entered it, when, and its correction chain."""

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded: Mapped[bool] = mapped_column(default=False)
    correction_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def corrects_id(cls) -> Mapped[int | None]:  # noqa: N805 - SQLAlchemy declared_attr
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), unique=True)  # type: ignore[attr-defined]


class Counseling(_Record, Base):
    __tablename__ = "counseling"
    __table_args__ = (Index("ix_counseling_patient", "patient_id", "counseled_on"),)

    counseled_on: Mapped[date]


class PregnancyTest(_Record, Base):
    __tablename__ = "pregnancy_tests"
    __table_args__ = (
        one_of("result", TestResult, "result_known"),
        one_of("setting", TestSetting, "setting_known"),
        Index("ix_pregnancy_tests_patient", "patient_id", "collected_on"),
    )

    collected_on: Mapped[date]
    result: Mapped[TestResult] = mapped_column(StrEnumType(TestResult, 10))
    setting: Mapped[TestSetting] = mapped_column(StrEnumType(TestSetting, 10))
    # RULES.md §10: a positive test is flagged for the pregnancy registry report until the
    # prescriber records that it was reported.
    registry_reported_at: Mapped[datetime | None]
    registry_reported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ContraceptionEntry(_Record, Base):
    """Methods are stored as a sorted comma-separated list of codes (RULES.md §6.2)."""

    __tablename__ = "contraception"
    __table_args__ = (
        CheckConstraint(
            "(abstinence AND methods = '') OR (NOT abstinence AND methods <> '')",
            name="methods_or_abstinence",
        ),
        CheckConstraint("started_on <= recorded_on", name="started_before_recorded"),
        Index("ix_contraception_patient", "patient_id", "recorded_on"),
    )

    recorded_on: Mapped[date]
    started_on: Mapped[date]
    methods: Mapped[str] = mapped_column(String(300), default="")
    abstinence: Mapped[bool] = mapped_column(default=False)


class ComprehensionAttempt(_Record, Base):
    """One attempt at the questions; answers as JSON, graded on the server when recorded."""

    __tablename__ = "comprehension_attempts"
    __table_args__ = (Index("ix_comprehension_patient", "patient_id", "completed_on"),)

    completed_on: Mapped[date]
    answers: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool]
    wrong: Mapped[str] = mapped_column(String(300), default="")
    methods: Mapped[str] = mapped_column(String(300), default="")
    abstinence: Mapped[bool] = mapped_column(default=False)
