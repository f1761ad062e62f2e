"""One line of an import file (API.md `tracker import`): parsed and validated as the API validates
the same records, with the checks only a whole history allows (fills in date order, each
authorization one the rules engine would have issued on its day under that day's rule set,
each dispense inside that authorization's window at an existing pharmacy).

Nothing here writes. The result is a `History` whose values are ready to store, or the
problems, each as (field, why)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from tracker.domain import facts as f
from tracker.domain.comprehension import grade
from tracker.domain.decision import Decision
from tracker.domain.policy import Policy, policy_for
from tracker.domain.rules import evaluate, evaluate_dispense
from tracker.services.facts import join_methods
from tracker.services.patients import (
    check_acknowledgment,
    check_birth_date,
    check_category,
    check_clinical_date,
    check_name,
)
from tracker.services.prescriptions import check_prescription_values
from tracker.services.records import check_comprehension, check_contraception, check_test_values

EXTERNAL_ID_MAX = 100

LINE_FIELDS = frozenset({
    "external_id", "first_name", "last_name", "date_of_birth", "category", "acknowledgments",
    "counseling", "pregnancy_tests", "contraception", "comprehension", "fills",
    "category_changes", "course_end",
})
RECORD_FIELDS: dict[str, frozenset[str]] = {
    "acknowledgments": frozenset({"signed_on", "patient_signature", "guardian_signature",
                                  "guardian_relationship"}),
    "counseling": frozenset({"counseled_on"}),
    "pregnancy_tests": frozenset({"collected_on", "result", "setting"}),
    "contraception": frozenset({"recorded_on", "started_on", "methods", "abstinence"}),
    "comprehension": frozenset({"completed_on", "answers", "contraception_methods",
                                "abstinence"}),
    "fills": frozenset({"written_on", "days_supply", "quantity", "authorized_on",
                        "dispensed_on", "pharmacy_ncpdp"}),
    "category_changes": frozenset({"changed_on", "category"}),
}
COURSE_END_FIELDS = frozenset({"last_dose_on"})
# The file spells the category as the API does; the message shows that spelling.
IMPORT_CATEGORY = 'Give {"category": "can_get_pregnant"} or {"category": "cannot_get_pregnant"}.'

Problem = tuple[str, str]  # (field, why)


@dataclass(frozen=True)
class Fill:
    """A past fill: its prescription, the authorization the engine would have issued on
    `authorized_on`, and its dispense (None: the authorization is still open)."""

    written_on: date
    days_supply: int
    quantity: int
    authorized_on: date
    do_not_dispense_after: date | None
    rule_set: str
    used: tuple[tuple[f.RecordKind, int], ...]  # local ids: position in the history's lists
    dispensed_on: date | None
    pharmacy_id: int | None


@dataclass
class History:
    """A patient's validated history. Records are listed in the file's order; a record's local
    id (in `Fill.used`) is its position in its list, from 1."""

    line: int
    external_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    category: f.Category
    category_changes: list[tuple[date, f.Category]] = field(default_factory=list)
    acknowledgments: list[tuple[date, f.Category, str, str | None, str | None]] = \
        field(default_factory=list)
    counseling: list[date] = field(default_factory=list)
    pregnancy_tests: list[tuple[date, f.TestResult, f.TestSetting]] = field(default_factory=list)
    contraception: list[tuple[date, date, str, bool]] = field(default_factory=list)
    # (completed_on, answers as stored, passed, wrong ids, methods, abstinence)
    comprehension: list[tuple[date, str, bool, str, str, bool]] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    course_end: date | None = None
    facts_cache: f.PatientFacts | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class LineContext:
    """What validating a line needs from outside it: plain values only, so that it can be sent
    to the processes that check the lines of a large file side by side."""

    today: date
    rule_sets: tuple[Policy, ...]
    home_testing_permitted: bool
    pharmacies: Mapping[str, int]  # NCPDP id -> pharmacy id

    @property
    def first_rule_set(self) -> date:
        return self.rule_sets[0].in_force_from

    def policy(self, on: date) -> Policy:
        return policy_for(on, self.rule_sets)


class _Checker:
    """Collects the problems of one line, naming each field by its path in the line."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, why: str) -> None:
        self.problems.append((path, why))

    def merge(self, prefix: str, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add(f"{prefix}{name}", message)

    def date(self, path: str, value: object) -> date | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return date.fromisoformat(value) if len(value) == 10 else None
            except ValueError:
                pass
        self.add(path, "Give a date as YYYY-MM-DD.")
        return None

    def records(self, line: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
        value = line.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.add(name, "Give a list of objects (or leave it out).")
            return []
        allowed = RECORD_FIELDS[name]
        for i, record in enumerate(value):
            for unknown in sorted(set(record) - allowed):
                self.add(f"{name}[{i}].{unknown}", "Unknown field.")
        return value


def read_line(text: str) -> dict[str, Any] | list[Problem]:
    """The JSON object of a line, or why it is not one."""
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        return [("line", f"Not valid JSON ({exc.msg}, column {exc.colno}).")]
    except ValueError:
        return [("line", "Not valid JSON.")]
    if not isinstance(line, dict):
        return [("line", "Each line is one JSON object: a patient.")]
    return line


def external_id_of(line: Mapping[str, Any]) -> str | None:
    value = line.get("external_id")
    return value.strip() if isinstance(value, str) else None


def parse_line(number: int, line: dict[str, Any], ctx: LineContext) -> History | list[Problem]:
    """One line of the file (its JSON object): a History when every check passes, else its
    problems."""
    check = _Checker()
    for unknown in sorted(set(line) - LINE_FIELDS):
        check.add(unknown, "Unknown field.")
    history = _patient(number, line, check, ctx)
    if history is None:
        return check.problems
    _records(line, history, check, ctx)
    if not check.problems:
        _fills(line, history, check, ctx)
    if not check.problems:
        _course_end(line, history, check, ctx)
    return check.problems or history


def _patient(number: int, line: Mapping[str, Any], check: _Checker,
             ctx: LineContext) -> History | None:
    external_id = line.get("external_id")
    if not isinstance(external_id, str) or not external_id.strip():
        check.add("external_id", "Give the patient's id in the system the file comes from.")
        external_id = ""
    elif len(external_id.strip()) > EXTERNAL_ID_MAX or not external_id.strip().isprintable():
        check.add("external_id", f"At most {EXTERNAL_ID_MAX} printable characters.")
    errors: dict[str, list[str]] = {}
    first = check_name(errors, "first_name", _text(line.get("first_name")), "first name")
    last = check_name(errors, "last_name", _text(line.get("last_name")), "last name")
    birth = check.date("date_of_birth", line.get("date_of_birth"))
    if "date_of_birth" not in {p for p, _ in check.problems}:
        check_birth_date(errors, birth, ctx.today)
    category = check_category(errors, line.get("category") if isinstance(
        line.get("category"), str) else None, IMPORT_CATEGORY)
    check.merge("", errors)
    if check.problems or birth is None or category is None:
        return None
    return History(number, external_id.strip(), first, last, birth, category)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _records(line: Mapping[str, Any], h: History, check: _Checker, ctx: LineContext) -> None:
    """Each record as the API's entry checks see it (the same functions)."""
    today, birth = ctx.today, h.date_of_birth
    for i, rec in enumerate(check.records(line, "category_changes")):
        path = f"category_changes[{i}]."
        errors: dict[str, list[str]] = {}
        on = check.date(path + "changed_on", rec.get("changed_on"))
        check_clinical_date(errors, "changed_on", on, today, birth)
        cat = check_category(errors, rec.get("category") if isinstance(
            rec.get("category"), str) else None, IMPORT_CATEGORY)
        check.merge(path, errors)
        if on is not None and cat is not None:
            if h.category_changes and on < h.category_changes[-1][0]:
                check.add(path + "changed_on", "Category changes are listed in date order.")
            elif h.category_changes and cat == h.category_changes[-1][1]:
                check.add(path + "category", "The patient already has this category.")
            h.category_changes.append((on, cat))
    if h.category_changes and h.category_changes[-1][1] != h.category:
        check.add("category", "The patient's category is the last category change's.")
    for i, rec in enumerate(check.records(line, "acknowledgments")):
        path = f"acknowledgments[{i}]."
        errors = {}
        on = check.date(path + "signed_on", rec.get("signed_on"))
        signature, guardian, relationship = check_acknowledgment(
            errors, h.first_name, h.last_name, birth, on, _text(rec.get("patient_signature")),
            _optional_text(rec.get("guardian_signature")),
            _optional_text(rec.get("guardian_relationship")), today)
        check.merge(path, errors)
        if on is not None and not errors:
            h.acknowledgments.append((on, category_on(h, on), signature, guardian,
                                      relationship))
    for i, rec in enumerate(check.records(line, "counseling")):
        path = f"counseling[{i}]."
        errors = {}
        on = check.date(path + "counseled_on", rec.get("counseled_on"))
        check_clinical_date(errors, "counseled_on", on, today, birth)
        check.merge(path, errors)
        if on is not None and not errors:
            h.counseling.append(on)
    for i, rec in enumerate(check.records(line, "pregnancy_tests")):
        path = f"pregnancy_tests[{i}]."
        errors = {}
        on = check.date(path + "collected_on", rec.get("collected_on"))
        check_clinical_date(errors, "collected_on", on, today, birth)
        check_test_values(errors, rec.get("result"), rec.get("setting"))
        check.merge(path, errors)
        if on is not None and not errors:
            h.pregnancy_tests.append((on, f.TestResult(rec["result"]),
                                      f.TestSetting(rec["setting"])))
    for i, rec in enumerate(check.records(line, "contraception")):
        path = f"contraception[{i}]."
        errors = {}
        on = check.date(path + "recorded_on", rec.get("recorded_on"))
        started = check.date(path + "started_on", rec.get("started_on"))
        abstinence = _flag(check, path + "abstinence", rec.get("abstinence"))
        methods = check_contraception(errors, on, started, rec.get("methods"), abstinence,
                                      today, birth)
        check.merge(path, errors)
        if on is not None and started is not None and not errors:
            h.contraception.append((on, started, join_methods(methods), abstinence))
    for i, rec in enumerate(check.records(line, "comprehension")):
        path = f"comprehension[{i}]."
        errors = {}
        on = check.date(path + "completed_on", rec.get("completed_on"))
        answers = rec.get("answers")
        abstinence = _flag(check, path + "abstinence", rec.get("abstinence"))
        methods = check_comprehension(errors, on, answers, rec.get("contraception_methods"),
                                      abstinence, today, birth)
        check.merge(path, errors)
        if on is not None and not errors and isinstance(answers, Mapping):
            result = grade(answers)
            h.comprehension.append((on, json.dumps(dict(answers), sort_keys=True),
                                    result.passed, ",".join(result.wrong),
                                    join_methods(methods), abstinence))


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _flag(check: _Checker, path: str, value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        check.add(path, "Give true or false.")
        return False
    return value


def category_on(h: History, on: date) -> f.Category:
    """The category in force on a date: the newest change on or before it (before the first
    change, the first one's)."""
    category = h.category_changes[0][1] if h.category_changes else h.category
    for changed_on, changed_to in h.category_changes:
        if changed_on <= on:
            category = changed_to
    return category


def registered_on(h: History, today: date) -> date:
    """The day the patient's first category starts when the file gives no category changes:
    the earliest date of their history (today when it has none)."""
    days = [on for on, *_ in h.acknowledgments] + list(h.counseling) + \
        [on for on, *_ in h.pregnancy_tests] + [on for on, *_ in h.contraception] + \
        [on for on, *_ in h.comprehension]
    return min(days, default=today)


def patient_facts(h: History, today: date) -> f.PatientFacts:
    """The engine's facts of the history, with local ids, its fills as far as they go."""
    records = h.facts_cache
    if records is None:
        records = h.facts_cache = _record_facts(h, today)
    taken = h.fills
    dispenses = tuple(f.DispenseRecord(i, i, fill.dispensed_on)
                      for i, fill in enumerate(taken, 1) if fill.dispensed_on is not None)
    open_auths = tuple(
        f.OpenAuthorization(f"import-{i}", i, fill.authorized_on, fill.do_not_dispense_after,
                            fill.rule_set)
        for i, fill in enumerate(taken, 1) if fill.dispensed_on is None)
    return replace(records, dispenses=dispenses, open_authorizations=open_auths)


def _record_facts(h: History, today: date) -> f.PatientFacts:
    """The facts of every record but the fills (the same for each fill's decision)."""
    changes = h.category_changes or [(registered_on(h, today), h.category)]
    return f.PatientFacts(
        birth_date=h.date_of_birth,
        category_history=tuple(f.CategoryChange(on, cat) for on, cat in changes),
        acknowledgments=tuple(f.Acknowledgment(i, on, cat)
                              for i, (on, cat, *_) in enumerate(h.acknowledgments, 1)),
        course_ends=(f.CourseEnd(1, h.course_end),) if h.course_end is not None else (),
        counseling=tuple(f.Counseling(i, on) for i, on in enumerate(h.counseling, 1)),
        pregnancy_tests=tuple(f.PregnancyTest(i, on, result, setting)
                              for i, (on, result, setting) in enumerate(h.pregnancy_tests, 1)),
        contraception=tuple(
            f.ContraceptionEntry(i, on, started, frozenset(m for m in methods.split(",") if m),
                                 abstinence)
            for i, (on, started, methods, abstinence) in enumerate(h.contraception, 1)),
        comprehension=tuple(
            f.ComprehensionAttempt(i, on, passed, frozenset(m for m in methods.split(",") if m),
                                   abstinence)
            for i, (on, _, passed, _, methods, abstinence) in enumerate(h.comprehension, 1)),
    )


def _fills(line: Mapping[str, Any], h: History, check: _Checker, ctx: LineContext) -> None:
    records = check.records(line, "fills")
    for i, rec in enumerate(records):
        path = f"fills[{i}]."
        errors: dict[str, list[str]] = {}
        written = check.date(path + "written_on", rec.get("written_on"))
        authorized = check.date(path + "authorized_on", rec.get("authorized_on"))
        dispensed = check.date(path + "dispensed_on", rec.get("dispensed_on"))
        check_clinical_date(errors, "written_on", written, ctx.today, h.date_of_birth)
        check_clinical_date(errors, "authorized_on", authorized, ctx.today, h.date_of_birth)
        if dispensed is not None:
            check_clinical_date(errors, "dispensed_on", dispensed, ctx.today, h.date_of_birth)
        supply, quantity = check_prescription_values(
            errors, rec.get("days_supply"), rec.get("quantity"), 0,
            ctx.policy(written or ctx.today))
        check.merge(path, errors)
        if errors or written is None or authorized is None or supply is None or \
                quantity is None:
            return
        pharmacy_id = _pharmacy(check, path, rec, dispensed, ctx)
        if not _in_order(check, path, h, i, len(records), written, authorized, dispensed):
            return
        if authorized < ctx.first_rule_set:
            check.add(path + "authorized_on", f"The tracker's rules start on "
                      f"{ctx.first_rule_set.isoformat()}; earlier fills cannot be checked.")
            return
        patient = patient_facts(h, ctx.today)
        decision = _decide(patient, len(h.fills) + 1, written, supply, quantity, authorized, ctx)
        if not decision.dispensable:
            for reason in decision.unmet:
                check.add(path + "authorized_on", f"The rules did not allow this authorization "
                          f"on {authorized.isoformat()} ({decision.rule_set}): {reason.message} "
                          f"[{reason.code}]")
            return
        last_day = decision.do_not_dispense_after
        if dispensed is not None and last_day is not None and dispensed > last_day:
            check.add(path + "dispensed_on", f"The authorization of {authorized.isoformat()} "
                      f"could be dispensed through {last_day.isoformat()} "
                      f"({decision.rule_set}).")
            return
        fill = Fill(written, supply, quantity, authorized, last_day, decision.rule_set,
                    decision.used, dispensed, pharmacy_id)
        if dispensed is not None and not _dispensable(check, path, patient, len(h.fills) + 1,
                                                      fill, decision, ctx):
            return
        h.fills.append(fill)


def _pharmacy(check: _Checker, path: str, rec: Mapping[str, Any], dispensed: date | None,
              ctx: LineContext) -> int | None:
    ncpdp = rec.get("pharmacy_ncpdp")
    if dispensed is None:
        if ncpdp is not None:
            check.add(path + "pharmacy_ncpdp", "A fill not dispensed has no pharmacy.")
        return None
    pharmacy_id = ctx.pharmacies.get(ncpdp) if isinstance(ncpdp, str) else None
    if pharmacy_id is None:
        check.add(path + "pharmacy_ncpdp",
                  "Give the NCPDP id of a pharmacy registered in the tracker.")
    return pharmacy_id


def _in_order(check: _Checker, path: str, h: History, i: int, count: int, written: date,
              authorized: date, dispensed: date | None) -> bool:
    """RULES.md §8: fills follow one another; at most one authorization is open (the last)."""
    before = len(check.problems)
    if authorized < written:
        check.add(path + "authorized_on", "A prescription is authorized on or after the day "
                                          "it is written.")
    if dispensed is not None and dispensed < authorized:
        check.add(path + "dispensed_on", "A fill is dispensed on or after its authorization.")
    if dispensed is None and i != count - 1:
        check.add(path + "dispensed_on", "Only the last fill may be undispensed: at most one "
                                         "authorization is open.")
    if h.fills:
        previous = h.fills[-1]
        if written < previous.written_on:
            check.add(path + "written_on", "Fills are listed in date order.")
        if previous.dispensed_on is not None and authorized <= previous.dispensed_on:
            check.add(path + "authorized_on", f"Fills are listed in date order: the previous "
                      f"fill was dispensed on {previous.dispensed_on.isoformat()}.")
    return len(check.problems) == before


def _decide(patient: f.PatientFacts, number: int, written: date, supply: int, quantity: int,
            authorized: date, ctx: LineContext) -> Decision:
    """What the engine decides on the authorization day for the fill `number`, with the records
    and the earlier fills of the history (`patient`), under the rule set of that day."""
    case = f.Case(
        prescription=f.PrescriptionFacts(number, f.PrescriptionStatus.PENDING, written, supply,
                                         quantity),
        patient=patient,
        prescriber=f.PrescriberFacts(active=True,
                                     home_testing_permitted=ctx.home_testing_permitted),
    )
    return evaluate(case, authorized, ctx.policy(authorized))


def _dispensable(check: _Checker, path: str, patient: f.PatientFacts, number: int, fill: Fill,
                 issued_with: Decision, ctx: LineContext) -> bool:
    """RULES.md §8 "Dispensing": the counter's re-check on the dispensing day (as of the issue
    day, and what was recorded since that blocks a fill: a positive test, a category change,
    an ended course). The pharmacy's own standing then is not known: it is taken as active.
    `patient` holds the facts the authorization was decided with (`issued_with`), so the
    engine need not check the patient as of the issue day again."""
    assert fill.dispensed_on is not None
    authorization = f.OpenAuthorization(f"import-{number}", number, fill.authorized_on,
                                        fill.do_not_dispense_after, fill.rule_set)
    case = f.Case(
        prescription=f.PrescriptionFacts(number, f.PrescriptionStatus.DISPENSABLE,
                                         fill.written_on, fill.days_supply, fill.quantity),
        patient=replace(patient, open_authorizations=(authorization,)),
        prescriber=f.PrescriberFacts(active=True,
                                     home_testing_permitted=ctx.home_testing_permitted),
    )
    decision = evaluate_dispense(case, fill.dispensed_on, ctx.rule_sets,
                                 f.PharmacyFacts(fill.dispensed_on, fill.dispensed_on),
                                 authorization, issued_with)
    for reason in decision.unmet:
        check.add(path + "dispensed_on", f"The rules did not allow this dispense on "
                  f"{fill.dispensed_on.isoformat()} ({decision.rule_set}): {reason.message} "
                  f"[{reason.code}]")
    return decision.dispensable


def _course_end(line: Mapping[str, Any], h: History, check: _Checker, ctx: LineContext) -> None:
    value = line.get("course_end")
    if value is None:
        return
    if not isinstance(value, dict):
        check.add("course_end", "Give {\"last_dose_on\": \"YYYY-MM-DD\"} or null.")
        return
    for unknown in sorted(set(value) - COURSE_END_FIELDS):
        check.add(f"course_end.{unknown}", "Unknown field.")
    errors: dict[str, list[str]] = {}
    on = check.date("course_end.last_dose_on", value.get("last_dose_on"))
    check_clinical_date(errors, "last_dose_on", on, ctx.today, h.date_of_birth)
    check.merge("course_end.", errors)
    if on is None or errors:
        return
    if not any(signed <= on for signed, *_ in h.acknowledgments):
        check.add("course_end.last_dose_on", "The patient has no course under way on that day "
                                             "(no acknowledgment signed by then).")
    dispensed = [fill.dispensed_on for fill in h.fills if fill.dispensed_on is not None]
    if dispensed and on < max(dispensed):
        check.add("course_end.last_dose_on", "The last dose cannot be before the last "
                                             "dispense.")
    if h.fills and h.fills[-1].dispensed_on is None:
        check.add("course_end.last_dose_on", "The course cannot end with an authorization "
                                             "still open.")
    h.course_end = on
