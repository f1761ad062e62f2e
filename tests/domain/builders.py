"""Small builders of domain facts, so a test states only the records its rule is about.

`History` collects a patient's records with automatic ids; `.case()` wraps them with a
prescription and prescriber. `qualified_later_fill` and `qualified_first_fill` give a patient who
meets every rule on a date, so a test can remove or move exactly one record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from tracker.domain.decision import Decision
from tracker.domain.facts import (
    Acknowledgment,
    Case,
    Category,
    CategoryChange,
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    CourseEnd,
    DispenseRecord,
    OpenAuthorization,
    PatientFacts,
    PharmacyFacts,
    PregnancyTest,
    PrescriberFacts,
    PrescriptionFacts,
    PrescriptionStatus,
    TestResult,
    TestSetting,
)
from tracker.domain.reasons import Reason

CGP = Category.CAN_GET_PREGNANT
CNGP = Category.CANNOT_GET_PREGNANT
NEG = TestResult.NEGATIVE
POS = TestResult.POSITIVE
LAB = TestSetting.LAB
OFFICE = TestSetting.OFFICE
HOME = TestSetting.HOME
METHODS = ("iud", "male_condom")
RX_ID = 100  # the prescription being decided


def d(text: str) -> date:
    """A date from 'YYYY-MM-DD'."""
    return date.fromisoformat(text)


def days(n: int) -> timedelta:
    """A number of days."""
    return timedelta(days=n)


def codes(decision: Decision) -> list[str]:
    """The reason codes of a decision, in order."""
    return [reason.code.value for reason in decision.unmet]


def reason(decision: Decision, code: str) -> Reason:
    """The one reason with this code (fails when absent or repeated)."""
    found = [r for r in decision.unmet if r.code == code]
    assert len(found) == 1, (code, decision.unmet)
    return found[0]


@dataclass
class History:
    """A patient's records; every adder returns self so calls chain."""

    category: Category = CGP
    registered_on: date = date(2020, 1, 1)
    birth_date: date = date(1995, 5, 5)
    changes: list[CategoryChange] = field(default_factory=list)
    acknowledgments: list[Acknowledgment] = field(default_factory=list)
    course_ends: list[CourseEnd] = field(default_factory=list)
    counseling: list[Counseling] = field(default_factory=list)
    tests: list[PregnancyTest] = field(default_factory=list)
    contraception: list[ContraceptionEntry] = field(default_factory=list)
    comprehension: list[ComprehensionAttempt] = field(default_factory=list)
    dispenses: list[DispenseRecord] = field(default_factory=list)
    authorizations: list[OpenAuthorization] = field(default_factory=list)
    _next_id: int = 1

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def change_category(self, on: date, category: Category) -> History:
        self.changes.append(CategoryChange(on, category))
        return self

    def ack(self, on: date, category: Category | None = None) -> History:
        self.acknowledgments.append(Acknowledgment(self._id(), on, category or self.current()))
        return self

    def end_course(self, last_dose_on: date) -> History:
        self.course_ends.append(CourseEnd(self._id(), last_dose_on))
        return self

    def counsel(self, on: date) -> History:
        self.counseling.append(Counseling(self._id(), on))
        return self

    def test(self, on: date, result: TestResult = NEG, setting: TestSetting = LAB) -> History:
        self.tests.append(PregnancyTest(self._id(), on, result, setting))
        return self

    def contraceive(
        self,
        recorded_on: date,
        started_on: date | None = None,
        methods: Iterable[str] = METHODS,
        abstinence: bool = False,
    ) -> History:
        started = started_on if started_on is not None else recorded_on - days(60)
        self.contraception.append(
            ContraceptionEntry(self._id(), recorded_on, started, frozenset(methods), abstinence)
        )
        return self

    def comprehend(
        self,
        on: date,
        passed: bool = True,
        methods: Iterable[str] = METHODS,
        abstinence: bool = False,
    ) -> History:
        self.comprehension.append(
            ComprehensionAttempt(self._id(), on, passed, frozenset(methods), abstinence)
        )
        return self

    def dispense(self, on: date, prescription_id: int | None = None) -> History:
        record_id = self._id()
        rx = prescription_id if prescription_id is not None else 1000 + record_id
        self.dispenses.append(DispenseRecord(record_id, rx, on))
        return self

    def authorize(
        self,
        issued_on: date,
        do_not_dispense_after: date | None,
        prescription_id: int = 999,
        number: str = "A-1",
    ) -> History:
        self.authorizations.append(
            OpenAuthorization(number, prescription_id, issued_on, do_not_dispense_after, "x")
        )
        return self

    def month(self, on: date, setting: TestSetting = LAB) -> History:
        """Everything a patient who can get pregnant does before a fill: counseling,
        contraception, comprehension and a negative test, all on `on`."""
        return self.counsel(on).contraceive(on).comprehend(on).test(on, setting=setting)

    def current(self) -> Category:
        return self.changes[-1].category if self.changes else self.category

    def facts(self) -> PatientFacts:
        return PatientFacts(
            birth_date=self.birth_date,
            category_history=(CategoryChange(self.registered_on, self.category), *self.changes),
            acknowledgments=tuple(self.acknowledgments),
            course_ends=tuple(self.course_ends),
            counseling=tuple(self.counseling),
            pregnancy_tests=tuple(self.tests),
            contraception=tuple(self.contraception),
            comprehension=tuple(self.comprehension),
            dispenses=tuple(self.dispenses),
            open_authorizations=tuple(self.authorizations),
        )

    def case(
        self,
        status: PrescriptionStatus = PrescriptionStatus.PENDING,
        active: bool = True,
        home_testing: bool = False,
    ) -> Case:
        return Case(
            prescription=PrescriptionFacts(RX_ID, status, date(2020, 1, 1), 30, 30),
            patient=self.facts(),
            prescriber=PrescriberFacts(active=active, home_testing_permitted=home_testing),
        )


def enrolled(category: Category = CGP, on: date = date(2025, 1, 1)) -> History:
    """A patient registered and enrolled (acknowledgment signed) on `on`."""
    return History(category=category, registered_on=on).ack(on)


def qualified_first_fill(on: date) -> History:
    """A can-get-pregnant patient who meets every first-fill rule on `on` under any rule set:
    enrolled 60 days before, contraception for 45 days, an office screening test 25 days before
    and a lab confirmation test on `on`, with counseling and comprehension on `on`."""
    history = enrolled(CGP, on - days(60))
    history.test(on - days(25), setting=OFFICE)
    history.counsel(on).contraceive(on, started_on=on - days(45)).comprehend(on)
    return history.test(on)


def qualified_later_fill(on: date, previous_fill: date | None = None) -> History:
    """A can-get-pregnant patient past the first fill (dispensed on `previous_fill`, default
    30 days before `on`) who meets every later-fill rule on `on`."""
    previous = previous_fill if previous_fill is not None else on - days(30)
    history = enrolled(CGP, previous - days(90))
    history.dispense(previous)
    return history.month(on)


def cngp_patient(enrolled_on: date) -> History:
    """A cannot-get-pregnant patient enrolled on `enrolled_on`."""
    return enrolled(CNGP, enrolled_on)


ACTIVE_PHARMACY = PharmacyFacts(activated_on=date(2026, 1, 1), trained_on=date(2026, 1, 1))


def pharmacy(activated_on: date, trained_on: date | None) -> PharmacyFacts:
    """A pharmacy activated and trained on the given dates."""
    return PharmacyFacts(activated_on=activated_on, trained_on=trained_on)


def with_status(case: Case, status: PrescriptionStatus) -> Case:
    """The same case with another prescription status."""
    return replace(case, prescription=replace(case.prescription, status=status))
