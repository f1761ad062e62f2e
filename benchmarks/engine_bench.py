"""How many decisions per second the rules engine makes (target: at least 50,000).

The case is a patient who can get pregnant with a 12-month history (12 dispenses, 14 pregnancy
tests, 12 counseling visits, 12 contraception entries, 13 comprehension attempts, one failed),
deciding a later fill. For comparison it also times the slowest path, a first fill under
ipledge-2021 whose lockout walk re-checks earlier windows. Run from anywhere:

    python benchmarks/engine_bench.py [seconds]

It prints rates; it asserts nothing (performance is measured, never tested as a time).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.domain.facts import Case

# Run from a checkout without installing: the repository root holds the tracker package.
ROOT = str(Path(__file__).resolve().parent.parent)

METHODS = frozenset({"iud", "male_condom"})


def twelve_month_case(start: date) -> tuple[Case, date]:
    """A patient treated monthly for a year, and the date of the next (later) fill."""
    from tracker.domain.facts import (
        Acknowledgment,
        Case,
        Category,
        CategoryChange,
        ComprehensionAttempt,
        ContraceptionEntry,
        Counseling,
        DispenseRecord,
        PatientFacts,
        PregnancyTest,
        PrescriberFacts,
        PrescriptionFacts,
        PrescriptionStatus,
        TestResult,
        TestSetting,
    )

    tests: list[PregnancyTest] = [
        PregnancyTest(1000, start - timedelta(days=25), TestResult.NEGATIVE, TestSetting.OFFICE),
        PregnancyTest(1001, start - timedelta(days=20), TestResult.NEGATIVE, TestSetting.LAB),
    ]
    counseling: list[Counseling] = []
    contraception: list[ContraceptionEntry] = []
    comprehension: list[ComprehensionAttempt] = [
        ComprehensionAttempt(2000, start - timedelta(days=2), False, METHODS, False),
    ]
    dispenses: list[DispenseRecord] = []
    for month in range(13):
        visit = start + timedelta(days=30 * month)
        if month < 12:
            dispenses.append(DispenseRecord(month + 1, month + 1, visit))
        if not month:
            continue  # the first fill's own records are the two tests above
        # the month's records, the day before its fill
        before = visit - timedelta(days=1)
        counseling.append(Counseling(month, before))
        contraception.append(
            ContraceptionEntry(month, before, start - timedelta(days=60), METHODS, False)
        )
        comprehension.append(ComprehensionAttempt(month, before, True, METHODS, False))
        tests.append(PregnancyTest(month, before, TestResult.NEGATIVE, TestSetting.LAB))
    fill_on = start + timedelta(days=30 * 12)
    patient = PatientFacts(
        birth_date=date(1995, 5, 5),
        category_history=(CategoryChange(start - timedelta(days=70), Category.CAN_GET_PREGNANT),),
        acknowledgments=(Acknowledgment(1, start - timedelta(days=70), Category.CAN_GET_PREGNANT),),
        counseling=tuple(counseling),
        pregnancy_tests=tuple(tests),
        contraception=tuple(contraception),
        comprehension=tuple(comprehension),
        dispenses=tuple(dispenses),
    )
    case = Case(
        prescription=PrescriptionFacts(13, PrescriptionStatus.PENDING, fill_on, 30, 30),
        patient=patient,
        prescriber=PrescriberFacts(active=True, home_testing_permitted=False),
    )
    return case, fill_on


def first_fill_case(on: date) -> Case:
    """A first fill under a rule set with a lockout: the walk of RULES.md §6.8 re-checks the
    days of three earlier windows that closed unused (the engine's slowest path)."""
    from tracker.domain.facts import (
        Acknowledgment,
        Case,
        Category,
        CategoryChange,
        ComprehensionAttempt,
        ContraceptionEntry,
        Counseling,
        PatientFacts,
        PregnancyTest,
        PrescriberFacts,
        PrescriptionFacts,
        PrescriptionStatus,
        TestResult,
        TestSetting,
    )

    negative, lab = TestResult.NEGATIVE, TestSetting.LAB
    patient = PatientFacts(
        birth_date=date(1995, 5, 5),
        category_history=(CategoryChange(on - timedelta(days=90), Category.CAN_GET_PREGNANT),),
        acknowledgments=(Acknowledgment(1, on - timedelta(days=90), Category.CAN_GET_PREGNANT),),
        counseling=(Counseling(1, on),),
        contraception=(ContraceptionEntry(1, on, on - timedelta(days=60), METHODS, False),),
        comprehension=(ComprehensionAttempt(1, on, True, METHODS, False),),
        pregnancy_tests=(
            PregnancyTest(1, on - timedelta(days=40), negative, TestSetting.OFFICE),
            PregnancyTest(2, on - timedelta(days=30), negative, lab),
            PregnancyTest(3, on - timedelta(days=20), negative, lab),
            PregnancyTest(4, on - timedelta(days=10), negative, lab),
            PregnancyTest(5, on, negative, lab),
        ),
    )
    return Case(
        prescription=PrescriptionFacts(1, PrescriptionStatus.PENDING, on, 30, 30),
        patient=patient,
        prescriber=PrescriberFacts(active=True, home_testing_permitted=False),
    )


def measure(run: Callable[[], object], seconds: float) -> tuple[float, float]:
    """(mean, best) calls per second over batches of 10,000 for about `seconds`."""
    batch = 10_000
    best = 0.0
    calls = 0
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(batch):
            run()
        best = max(best, batch / (time.perf_counter() - start))
        calls += batch
    return calls / (time.perf_counter() - began), best


def main() -> None:
    """Evaluate the same later fill repeatedly and print decisions per second."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2026
    from tracker.domain.rules import evaluate

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    case, on = twelve_month_case(date(2025, 12, 1))
    decision = evaluate(case, on, IPLEDGE_2026)
    if not decision.dispensable:  # a benchmark of refusals would measure the wrong path
        raise SystemExit(f"benchmark case is not dispensable: {decision.unmet}")
    patient = case.patient
    print(
        f"later fill, 12-month history ({len(patient.dispenses)} dispenses, "
        f"{len(patient.pregnancy_tests)} tests, {len(patient.counseling)} counseling, "
        f"{len(patient.contraception)} contraception, {len(patient.comprehension)} "
        f"comprehension), ipledge-2026:"
    )
    mean, best = measure(lambda: evaluate(case, on, IPLEDGE_2026), seconds)
    print(f"  {mean:,.0f} decisions/second (best batch {best:,.0f}); target 50,000")

    first_on = date(2026, 3, 1)
    first = first_fill_case(first_on)
    if not evaluate(first, first_on, IPLEDGE_2021).dispensable:
        raise SystemExit("first-fill benchmark case is not dispensable")
    print("first fill with three unused earlier windows, ipledge-2021 (lockout walk):")
    mean, best = measure(lambda: evaluate(first, first_on, IPLEDGE_2021), seconds / 3)
    print(f"  {mean:,.0f} decisions/second (best batch {best:,.0f})")


if __name__ == "__main__":
    main()
