"""Properties that hold for every history (hypothesis draws the histories)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

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
)
from tracker.domain.facts import TestResult as Result
from tracker.domain.facts import TestSetting as Setting
from tracker.domain.policy import IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026, Policy
from tracker.domain.reasons import PHARMACY_VISIBLE_CODES, ReasonCode
from tracker.domain.rules import evaluate, evaluate_dispense, fold_for_pharmacy

BASE = date(2026, 1, 1)
HORIZON = 70  # records and evaluation dates fall in BASE .. BASE + HORIZON
RX = 100
CHOICES = [
    (frozenset({"iud", "male_condom"}), False),
    (frozenset({"patch", "male_condom"}), False),
    (frozenset(), True),
    (frozenset({"iud"}), False),
]
# No example database (nothing is written to the work tree) and no "explain" phase (it imports
# libcst, whose deprecation warnings would turn a failure report into an error under -W error).
PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],  # a busy CI machine is not a failing rule
)


def days_after(start: date, low: int = 0, high: int = HORIZON) -> st.SearchStrategy[date]:
    return st.integers(low, high).map(lambda n: start + timedelta(days=n))


DAY = days_after(BASE)
POLICIES = st.sampled_from([IPLEDGE_2021, IPLEDGE_2023, IPLEDGE_2026])


@st.composite
def records(draw: st.DrawFn, day: st.SearchStrategy[date], first_id: int) -> dict[str, list]:
    """Records of every kind dated by `day`, with ids from `first_id` on."""
    ids = iter(range(first_id, first_id + 1000))
    out: dict[str, list] = {}
    out["acknowledgments"] = [
        Acknowledgment(next(ids), draw(day), draw(st.sampled_from(Category)))
        for _ in range(draw(st.integers(0, 2)))
    ]
    out["course_ends"] = [CourseEnd(next(ids), draw(day)) for _ in range(draw(st.integers(0, 1)))]
    out["counseling"] = [Counseling(next(ids), draw(day)) for _ in range(draw(st.integers(0, 4)))]
    out["pregnancy_tests"] = [
        PregnancyTest(
            next(ids), draw(day),
            draw(st.sampled_from([Result.NEGATIVE, Result.NEGATIVE, Result.POSITIVE])),
            draw(st.sampled_from(Setting)),
        )
        for _ in range(draw(st.integers(0, 5)))
    ]
    out["contraception"] = []
    for _ in range(draw(st.integers(0, 3))):
        recorded = draw(day)
        methods, abstinence = draw(st.sampled_from(CHOICES))
        started = recorded - timedelta(days=draw(st.integers(0, 60)))
        out["contraception"].append(
            ContraceptionEntry(next(ids), recorded, started, methods, abstinence)
        )
    out["comprehension"] = []
    for _ in range(draw(st.integers(0, 3))):
        methods, abstinence = draw(st.sampled_from(CHOICES))
        out["comprehension"].append(
            ComprehensionAttempt(next(ids), draw(day), draw(st.booleans()), methods, abstinence)
        )
    out["dispenses"] = [
        DispenseRecord(next(ids), draw(st.integers(1, 3)), draw(day))
        for _ in range(draw(st.integers(0, 2)))
    ]
    out["open_authorizations"] = []
    for _ in range(draw(st.integers(0, 1))):
        issued = draw(day)
        closes = draw(st.one_of(st.none(), days_after(issued, 0, 30)))
        out["open_authorizations"].append(
            OpenAuthorization("A", draw(st.integers(1, 3)), issued, closes, "x")
        )
    return out


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A patient with random records, a prescription and a prescriber."""
    history = [CategoryChange(draw(DAY), draw(st.sampled_from(Category)))]
    history += sorted(
        (CategoryChange(draw(DAY), draw(st.sampled_from(Category)))
         for _ in range(draw(st.integers(0, 1)))),
        key=lambda change: change.changed_on,
    )
    found = draw(records(DAY, 1))
    # Make enrollment likely: an acknowledgment for the registration category at the start.
    if draw(st.booleans()):
        found["acknowledgments"].append(Acknowledgment(999, BASE, history[0].category))
    patient = PatientFacts(
        birth_date=date(2000, 1, 1),
        category_history=tuple(history),
        **{kind: tuple(items) for kind, items in found.items()},
    )
    return Case(
        prescription=PrescriptionFacts(
            RX, draw(st.sampled_from(PrescriptionStatus)), BASE, 30, 30
        ),
        patient=patient,
        prescriber=PrescriberFacts(active=draw(st.booleans()), home_testing_permitted=draw(
            st.booleans())),
    )


@st.composite
def cgp_cases(draw: st.DrawFn) -> Case:
    """A can-get-pregnant patient enrolled at BASE who did everything a first fill on about
    BASE + 60 needs (screening, contraception, counseling, comprehension, a confirmation test),
    plus random extra tests and dispenses, so that many draws are dispensable there and the
    properties are not vacuous."""
    ids = iter(range(1, 1000))
    recent = days_after(BASE, 50, 60)
    anywhere = days_after(BASE, 0, 62)
    methods, abstinence = CHOICES[0] if draw(st.booleans()) else draw(st.sampled_from(CHOICES))
    entry_on = draw(recent)
    tests = [
        PregnancyTest(next(ids), draw(days_after(BASE, 20, 35)), Result.NEGATIVE,
                      draw(st.sampled_from([Setting.OFFICE, Setting.LAB, Setting.HOME]))),
        PregnancyTest(next(ids), draw(days_after(BASE, 52, 62)), Result.NEGATIVE,
                      draw(st.sampled_from([Setting.LAB, Setting.LAB, Setting.OFFICE,
                                            Setting.HOME]))),
    ]
    tests += [
        PregnancyTest(next(ids), draw(anywhere),
                      draw(st.sampled_from([Result.NEGATIVE, Result.NEGATIVE, Result.POSITIVE])),
                      draw(st.sampled_from(Setting)))
        for _ in range(draw(st.integers(0, 3)))
    ]
    patient = PatientFacts(
        birth_date=date(2000, 1, 1),
        category_history=(CategoryChange(BASE, Category.CAN_GET_PREGNANT),),
        acknowledgments=(Acknowledgment(next(ids), BASE, Category.CAN_GET_PREGNANT),),
        counseling=(Counseling(next(ids), draw(recent)),),
        contraception=(
            ContraceptionEntry(next(ids), entry_on, draw(days_after(BASE, 0, 40)),
                               *CHOICES[0]),
        ),
        comprehension=(
            ComprehensionAttempt(
                next(ids), draw(recent), draw(st.sampled_from([True, True, False])), methods,
                abstinence,
            ),
        ),
        pregnancy_tests=tuple(tests),
        dispenses=tuple(
            DispenseRecord(next(ids), draw(st.integers(1, 3)), draw(anywhere))
            for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])))
        ),
    )
    return Case(
        prescription=PrescriptionFacts(RX, PrescriptionStatus.PENDING, BASE, 30, 30),
        patient=patient,
        prescriber=PrescriberFacts(active=True, home_testing_permitted=draw(st.booleans())),
    )


ANY_CASE = st.one_of(cases(), cgp_cases())
CGP_DAY = days_after(BASE, 55, 62)


PHARMACY = PharmacyFacts(activated_on=BASE, trained_on=BASE)


def category_on(patient: PatientFacts, on: date) -> Category:
    category = patient.category_history[0].category
    for change in patient.category_history[1:]:
        if change.changed_on <= on:
            category = change.category
    return category


@PROPERTY_SETTINGS
@given(case=ANY_CASE, on=st.one_of(DAY, CGP_DAY), policy=POLICIES)
def test_a_decision_is_dispensable_exactly_when_nothing_is_unmet(
    case: Case, on: date, policy: Policy
) -> None:
    authorization = OpenAuthorization("N", RX, BASE, on, policy.id)
    for decision in (
        evaluate(case, on, policy),
        evaluate_dispense(case, on, (policy,), PHARMACY, authorization),
    ):
        assert decision.dispensable is (not decision.unmet)
        folded = fold_for_pharmacy(decision)
        assert folded.dispensable is (not folded.unmet) is decision.dispensable
        assert {r.code for r in folded.unmet} <= PHARMACY_VISIBLE_CODES | {
            ReasonCode.PRESCRIBER_ACTION_REQUIRED
        }


def test_drawn_histories_reach_dispensable_can_get_pregnant_cases() -> None:
    """The next property is not vacuous: the strategy does produce dispensable decisions."""
    found = find(
        cgp_cases(),
        lambda case: evaluate(case, BASE + timedelta(days=60), IPLEDGE_2026).dispensable,
        settings=settings(
            database=None, derandomize=True, max_examples=5000,
            phases=[Phase.generate, Phase.shrink],
        ),
    )
    assert found.patient.pregnancy_tests


@PROPERTY_SETTINGS
@given(case=ANY_CASE, on=st.one_of(DAY, CGP_DAY), policy=POLICIES)
def test_nothing_is_dispensable_for_cgp_without_a_negative_test_covering_the_date(
    case: Case, on: date, policy: Policy
) -> None:
    decision = evaluate(case, on, policy)
    if not decision.dispensable or category_on(case.patient, on) != Category.CAN_GET_PREGNANT:
        return
    window = policy.test_window_days - 1
    covering = [
        test for test in case.patient.pregnancy_tests
        if test.result == Result.NEGATIVE
        and test.collected_on <= on <= test.collected_on + timedelta(days=window)
        and not any(
            test.collected_on <= dispense.dispensed_on <= on
            for dispense in case.patient.dispenses if dispense.prescription_id != RX
        )
    ]
    assert covering
    assert decision.window is not None
    assert decision.window.opens_on <= on <= decision.window.closes_on
    used_tests = {record for kind, record in decision.used if kind == "pregnancy_test"}
    assert used_tests & {test.id for test in covering}


@PROPERTY_SETTINGS
@given(case=ANY_CASE, on=st.one_of(DAY, CGP_DAY), policy=POLICIES, data=st.data())
def test_records_after_the_evaluation_date_change_nothing(
    case: Case, on: date, policy: Policy, data: st.DataObject
) -> None:
    later = data.draw(records(days_after(on, 1, 40), 5000))
    change = data.draw(st.lists(days_after(on, 1, 40), max_size=1))
    patient = case.patient
    grown = replace(
        patient,
        category_history=patient.category_history + tuple(
            CategoryChange(day, Category.CANNOT_GET_PREGNANT
                           if category_on(patient, on) == Category.CAN_GET_PREGNANT
                           else Category.CAN_GET_PREGNANT)
            for day in change
        ),
        **{kind: getattr(patient, kind) + tuple(items) for kind, items in later.items()},
    )
    grown_case = replace(case, patient=grown)
    assert evaluate(grown_case, on, policy) == evaluate(case, on, policy)
    authorization = OpenAuthorization("N", RX, BASE, on + timedelta(days=3), policy.id)
    assert evaluate_dispense(grown_case, on, (policy,), PHARMACY, authorization) == (
        evaluate_dispense(case, on, (policy,), PHARMACY, authorization)
    )


@PROPERTY_SETTINGS
@given(case=ANY_CASE, on=st.one_of(DAY, CGP_DAY), policy=POLICIES)
def test_record_order_changes_nothing(case: Case, on: date, policy: Policy) -> None:
    patient = case.patient
    shuffled = replace(
        patient,
        **{
            kind: tuple(reversed(getattr(patient, kind)))
            for kind in ("acknowledgments", "course_ends", "counseling", "pregnancy_tests",
                         "contraception", "comprehension", "dispenses")
        },
    )
    assert evaluate(replace(case, patient=shuffled), on, policy) == evaluate(case, on, policy)


def as_recorded_by(patient: PatientFacts, day: date) -> PatientFacts:
    """The patient's records dated on or before `day` only."""
    return replace(
        patient,
        category_history=patient.category_history[:1] + tuple(
            c for c in patient.category_history[1:] if c.changed_on <= day),
        acknowledgments=tuple(a for a in patient.acknowledgments if a.signed_on <= day),
        course_ends=tuple(e for e in patient.course_ends if e.last_dose_on <= day),
        counseling=tuple(c for c in patient.counseling if c.counseled_on <= day),
        pregnancy_tests=tuple(t for t in patient.pregnancy_tests if t.collected_on <= day),
        contraception=tuple(e for e in patient.contraception if e.recorded_on <= day),
        comprehension=tuple(a for a in patient.comprehension if a.completed_on <= day),
        dispenses=tuple(x for x in patient.dispenses if x.dispensed_on <= day),
        open_authorizations=(),
    )


@st.composite
def issuable(draw: st.DrawFn) -> tuple[Case, date]:
    """A patient who meets every rule on an issue day I, with records of every age the cycle
    allows (so many of them age out of it between I and the authorization's last day): can get
    pregnant (first or later fill) or cannot."""
    ids = iter(range(1, 1000))
    issued = BASE + timedelta(days=draw(st.integers(60, 70)))

    def ago(low: int, high: int) -> date:
        return issued - timedelta(days=draw(st.integers(low, high)))

    category = draw(st.sampled_from(Category))
    dispenses: tuple[DispenseRecord, ...] = ()
    if draw(st.booleans()):  # a later fill: the previous one before this cycle
        dispenses = (DispenseRecord(next(ids), 1, ago(31, 45)),)
    tests: list[PregnancyTest] = []
    counseling = (Counseling(next(ids), ago(0, 29 if category != Category.CAN_GET_PREGNANT
                                                else 30)),)
    contraception: tuple[ContraceptionEntry, ...] = ()
    comprehension: tuple[ComprehensionAttempt, ...] = ()
    if category == Category.CAN_GET_PREGNANT:
        confirmed = ago(0, 6)
        tests.append(PregnancyTest(next(ids), confirmed, Result.NEGATIVE, Setting.LAB))
        if not dispenses:
            screened = confirmed - timedelta(days=draw(st.integers(19, 25)))
            tests.append(PregnancyTest(next(ids), screened, Result.NEGATIVE, Setting.OFFICE))
        methods, abstinence = draw(st.sampled_from(CHOICES[:3]))
        contraception = (ContraceptionEntry(next(ids), ago(0, 30), BASE, methods, abstinence),)
        comprehension = (ComprehensionAttempt(next(ids), ago(0, 30), True, methods, abstinence),)
    patient = PatientFacts(
        birth_date=date(2000, 1, 1),
        category_history=(CategoryChange(BASE, category),),
        acknowledgments=(Acknowledgment(next(ids), BASE, category),),
        counseling=counseling,
        pregnancy_tests=tuple(tests),
        contraception=contraception,
        comprehension=comprehension,
        dispenses=dispenses,
    )
    case = Case(
        prescription=PrescriptionFacts(RX, PrescriptionStatus.PENDING, BASE, 30, 30),
        patient=patient,
        prescriber=PrescriberFacts(active=True, home_testing_permitted=draw(st.booleans())),
    )
    return case, issued


@PROPERTY_SETTINGS
@given(drawn=st.one_of(issuable(), st.tuples(ANY_CASE, st.one_of(DAY, CGP_DAY))),
       policy=POLICIES, data=st.data())
def test_an_authorization_with_nothing_blocking_after_its_issue_day_is_dispensable_to_its_end(
    drawn: tuple[Case, date], policy: Policy, data: st.DataObject
) -> None:
    """RULES.md §8: issued on day I, with nothing blocking recorded after I (later counseling,
    contraception, comprehension attempts, acknowledgments and negative tests block nothing),
    the authorization can be dispensed on any day from I to its do-not-dispense-after date."""
    case, issued_on = drawn
    patient = as_recorded_by(case.patient, issued_on)
    case = replace(case, patient=patient,
                   prescription=replace(case.prescription, status=PrescriptionStatus.PENDING),
                   prescriber=replace(case.prescriber, active=True))
    decision = evaluate(case, issued_on, policy)
    if not decision.dispensable:
        return
    last = decision.do_not_dispense_after or issued_on + timedelta(days=HORIZON)
    on = data.draw(days_after(issued_on, 0, (last - issued_on).days))
    later = data.draw(records(days_after(issued_on, 1, 40), 5000))
    harmless = replace(
        patient,
        pregnancy_tests=patient.pregnancy_tests + tuple(
            t for t in later["pregnancy_tests"] if t.result == Result.NEGATIVE),
        **{kind: getattr(patient, kind) + tuple(later[kind])
           for kind in ("acknowledgments", "counseling", "contraception", "comprehension")},
    )
    authorization = OpenAuthorization("N", RX, issued_on, decision.do_not_dispense_after,
                                      policy.id)
    at_counter = evaluate_dispense(
        replace(case, patient=harmless,
                prescription=replace(case.prescription, status=PrescriptionStatus.DISPENSABLE)),
        on, (policy,), PHARMACY, authorization)
    assert at_counter.dispensable, at_counter.unmet


@PROPERTY_SETTINGS
@given(drawn=st.one_of(issuable(), st.tuples(ANY_CASE, st.one_of(DAY, CGP_DAY))),
       policy=POLICIES, data=st.data())
def test_a_dispense_given_the_decision_that_issued_it_decides_as_without_it(
    drawn: tuple[Case, date], policy: Policy, data: st.DataObject
) -> None:
    """`issued_with` (an import's shortcut) changes nothing: with the same records, later ones
    of every kind included (positive tests, category changes, ended courses), the dispense is
    decided as when the patient is re-checked as of the issue day."""
    case, issued_on = drawn
    later = data.draw(records(days_after(issued_on, 1, 40), 5000))
    patient = replace(case.patient, **{kind: getattr(case.patient, kind) + tuple(later[kind])
                                       for kind in later if hasattr(case.patient, kind)})
    pending = replace(case, patient=patient,
                      prescription=replace(case.prescription, status=PrescriptionStatus.PENDING))
    decision = evaluate(pending, issued_on, policy)
    authorization = OpenAuthorization("N", RX, issued_on, decision.do_not_dispense_after,
                                      policy.id)
    on = data.draw(days_after(issued_on, 0, 40))
    at_counter = replace(pending, prescription=replace(
        case.prescription, status=PrescriptionStatus.DISPENSABLE))
    assert evaluate_dispense(at_counter, on, (policy,), PHARMACY, authorization,
                             issued_with=decision) == \
        evaluate_dispense(at_counter, on, (policy,), PHARMACY, authorization)


def test_drawn_authorizations_outlive_their_monthly_records() -> None:
    """The property above is not vacuous: some drawn authorizations are still dispensable on a
    day when their counseling is out of the 30-day cycle."""

    def ages_out(drawn: tuple[Case, date]) -> bool:
        case, issued = drawn
        decision = evaluate(case, issued, IPLEDGE_2026)
        closes = decision.do_not_dispense_after
        return (decision.dispensable and closes is not None
                and closes - case.patient.counseling[0].counseled_on > timedelta(days=30))

    find(issuable(), ages_out,
         settings=settings(max_examples=2000, database=None, deadline=None,
                           phases=[Phase.generate],
                           suppress_health_check=[HealthCheck.too_slow]))
