"""How many decisions per second the rules engine makes (target: at least 50,000).

The case is a patient who can get pregnant with a 12-month history (12 dispenses, 14 pregnancy
tests, 12 counseling visits, 12 contraception entries, 13 comprehension attempts, one failed),
deciding a later fill. Run from the repository root:

    python benchmarks/engine_bench.py [seconds]

It prints the rate; it asserts nothing (performance is measured, never tested as a time).
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.domain.facts import (  # noqa: E402
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
from tracker.domain.policy import IPLEDGE_2026  # noqa: E402
from tracker.domain.rules import evaluate  # noqa: E402

METHODS = frozenset({"iud", "male_condom"})


def twelve_month_case(start: date) -> tuple[Case, date]:
    """A patient treated monthly for a year, and the date of the next (later) fill."""
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


def main() -> None:
    """Evaluate the same later fill repeatedly and print decisions per second."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    case, on = twelve_month_case(date(2025, 12, 1))
    decision = evaluate(case, on, IPLEDGE_2026)
    if not decision.dispensable:  # a benchmark of refusals would measure the wrong path
        raise SystemExit(f"benchmark case is not dispensable: {decision.unmet}")
    counts = (
        len(case.patient.dispenses),
        len(case.patient.pregnancy_tests),
        len(case.patient.counseling),
        len(case.patient.contraception),
        len(case.patient.comprehension),
    )
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        batch = 10_000
        began = time.perf_counter()
        for _ in range(batch):
            evaluate(case, on, IPLEDGE_2026)
        rate = batch / (time.perf_counter() - began)
        best = max(best, rate)
    print(
        "history: {} dispenses, {} tests, {} counseling, {} contraception, "
        "{} comprehension".format(*counts)
    )
    print(f"{best:,.0f} decisions/second (best batch of 10,000 later-fill evaluations)")


if __name__ == "__main__":
    main()
