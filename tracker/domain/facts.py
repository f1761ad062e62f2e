"""The facts the rules engine decides on: frozen, stdlib-only values.

The service layer loads these from the database; the domain never reads a clock, a database or a
request. Every date is a program date (RULES.md §1): the calendar date in the program time zone.
Records carry their database id so that a decision can say which records it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Category(StrEnum):
    """RULES.md §3: decided by the prescriber on reproductive potential, not gender."""

    CAN_GET_PREGNANT = "can_get_pregnant"
    CANNOT_GET_PREGNANT = "cannot_get_pregnant"


class TestResult(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"


class TestSetting(StrEnum):
    """RULES.md §6.5: where the specimen was collected."""

    LAB = "lab"  # CLIA-certified laboratory
    OFFICE = "office"  # another medical setting
    HOME = "home"  # the patient at home


class PrescriptionStatus(StrEnum):
    PENDING = "pending"
    DISPENSABLE = "dispensable"
    DISPENSED = "dispensed"
    CANCELLED = "cancelled"


class RecordKind(StrEnum):
    """The kinds of record a patient's history holds. One spelling everywhere: the facts loader,
    the history queries, a decision's `used` list (stored with each authorization) and the
    pages all use these values."""

    ACKNOWLEDGMENT = "acknowledgment"
    COUNSELING = "counseling"
    PREGNANCY_TEST = "pregnancy_test"
    CONTRACEPTION = "contraception"
    COMPREHENSION = "comprehension"
    CATEGORY_CHANGE = "category_change"
    COURSE_END = "course_end"
    PRESCRIPTION = "prescription"
    AUTHORIZATION = "authorization"
    DISPENSE = "dispense"


@dataclass(frozen=True, slots=True)
class CategoryChange:
    """The patient's category from `changed_on` on. Registration is the first change."""

    changed_on: date
    category: Category


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """A signed enrollment acknowledgment (RULES.md §4) for one category."""

    id: int
    signed_on: date
    category: Category


@dataclass(frozen=True, slots=True)
class CourseEnd:
    """The prescriber recorded the last dose of a course (RULES.md §4)."""

    id: int
    last_dose_on: date


@dataclass(frozen=True, slots=True)
class Counseling:
    id: int
    counseled_on: date


@dataclass(frozen=True, slots=True)
class PregnancyTest:
    id: int
    collected_on: date
    result: TestResult
    setting: TestSetting


@dataclass(frozen=True, slots=True)
class ContraceptionEntry:
    """The prescriber's entry: methods in use (codes of RULES.md §6.2) or abstinence."""

    id: int
    recorded_on: date
    started_on: date
    methods: frozenset[str]
    abstinence: bool


@dataclass(frozen=True, slots=True)
class ComprehensionAttempt:
    """One attempt at the questions of RULES.md §9, graded when it was recorded."""

    id: int
    completed_on: date
    passed: bool
    methods: frozenset[str]  # the contraception the patient confirmed
    abstinence: bool


@dataclass(frozen=True, slots=True)
class DispenseRecord:
    """A dispense of any of the patient's prescriptions, on its program date."""

    id: int
    prescription_id: int
    dispensed_on: date


@dataclass(frozen=True, slots=True)
class OpenAuthorization:
    """An authorization of one of the patient's prescriptions that is neither dispensed nor
    reversed. Whether it is still open on a date depends on `do_not_dispense_after`."""

    number: str
    prescription_id: int
    issued_on: date
    do_not_dispense_after: date | None
    rule_set: str


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Everything recorded for one patient. Corrected (superseded) records are left out by the
    loader; records dated after an evaluation date are ignored by the engine itself."""

    birth_date: date
    category_history: tuple[CategoryChange, ...]
    acknowledgments: tuple[Acknowledgment, ...] = ()
    course_ends: tuple[CourseEnd, ...] = ()
    counseling: tuple[Counseling, ...] = ()
    pregnancy_tests: tuple[PregnancyTest, ...] = ()
    contraception: tuple[ContraceptionEntry, ...] = ()
    comprehension: tuple[ComprehensionAttempt, ...] = ()
    dispenses: tuple[DispenseRecord, ...] = ()
    open_authorizations: tuple[OpenAuthorization, ...] = ()


@dataclass(frozen=True, slots=True)
class PrescriberFacts:
    active: bool
    home_testing_permitted: bool


@dataclass(frozen=True, slots=True)
class PrescriptionFacts:
    id: int
    status: PrescriptionStatus
    written_on: date
    days_supply: int
    quantity: int


@dataclass(frozen=True, slots=True)
class PharmacyFacts:
    activated_on: date
    trained_on: date | None


@dataclass(frozen=True, slots=True)
class Case:
    """What deciding on one prescription needs: the prescription, its patient and prescriber."""

    prescription: PrescriptionFacts
    patient: PatientFacts
    prescriber: PrescriberFacts
