"""The program report for the REMS sponsor: what the tracker holds about a period, counted in a
fixed number of statements whatever the number of patients (each measure is one aggregate
query; rows come back per day, per prescriber or per pharmacy, never per patient).

How each measure is counted is written in docs/reports.md; the names here follow it. Rule-based
measures come from what the rules engine decided and recorded (the authorization's window and
the records it used, the reason codes of its refusals in the audit trail, the standing of a
pharmacy), never from a second reading of the rules."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from tracker.domain.facts import Category
from tracker.domain.reasons import ReasonCode
from tracker.models import (
    Acknowledgment,
    AuditEvent,
    Authorization,
    ComprehensionAttempt,
    CourseEnd,
    Dispense,
    Patient,
    Pharmacy,
    PregnancyTest,
    Prescription,
    Role,
    User,
)
from tracker.models.prescription import AuthorizationState
from tracker.services.context import Context
from tracker.services.errors import Forbidden, ValidationFailed
from tracker.services.pharmacies import pharmacy_facts_from, renewal

READERS = (Role.ADMIN, Role.AUDITOR)
MARKING_REFUSED = "authorization.refused"
DISPENSE_REFUSED = "dispense.refused"
REFUSAL_ACTIONS = (MARKING_REFUSED, DISPENSE_REFUSED)
LONGEST_PERIOD_DAYS = 7 * 366 + 1  # the 7-year assessment, with its leap days
# The delay histogram's bins: days from the prescription written to its dispense.
DELAY_BINS: tuple[tuple[str, int, int | None], ...] = (
    ("same day", 0, 0), ("1 day", 1, 1), ("2 days", 2, 2), ("3 days", 3, 3),
    ("4–6 days", 4, 6), ("7–13 days", 7, 13), ("14–29 days", 14, 29), ("30 days or more", 30, None),
)
CATEGORIES = (Category.CAN_GET_PREGNANT.value, Category.CANNOT_GET_PREGNANT.value)


@dataclass(frozen=True)
class Period:
    """The days reported on, program dates, both included; `rule_set` when the period was
    clipped to the days one rule set was in force."""

    first: date
    last: date
    rule_set: str | None = None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def months(self) -> list[str]:
        """Every month the period touches, as YYYY-MM."""
        out, day = [], self.first.replace(day=1)
        while day <= self.last:
            out.append(day.strftime("%Y-%m"))
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return out


@dataclass
class PrescriberRow:
    id: int
    name: str
    npi: str | None
    active: bool
    issued: int = 0
    dispensed: int = 0
    reversed: int = 0
    expired_unused: int = 0
    open: int = 0
    marking_refusals: int = 0


@dataclass
class PharmacyRow:
    id: int
    name: str
    ncpdp_id: str
    standing: str  # "active", "due for renewal on YYYY-MM-DD", "lapsed: ..."
    dispenses: int = 0
    days_to_dispense_total: int = 0
    counter_refusals: int = 0

    @property
    def mean_days_to_dispense(self) -> float | None:
        return self.days_to_dispense_total / self.dispenses if self.dispenses else None


@dataclass
class Report:
    period: Period
    as_of: date  # today: states that depend on it (expired unused, outstanding, standing)
    active_patients: dict[str, int] = field(default_factory=dict)  # by category
    new_enrollments: dict[str, int] = field(default_factory=dict)  # by category
    authorizations: dict[str, int] = field(default_factory=dict)  # issued and their outcome
    missed_windows: dict[str, int] = field(default_factory=dict)  # expired unused, by category
    dispenses: int = 0
    refusals: dict[str, dict[str, int]] = field(default_factory=dict)  # code -> action -> n
    refusal_events: dict[str, int] = field(default_factory=dict)  # action -> events
    patients_refused: dict[str, int] = field(default_factory=dict)  # code -> distinct patients
    # days -> how many: confirmation test to authorization, authorization to dispense
    test_to_authorization_days: Counter[int] = field(default_factory=Counter)
    authorization_to_dispense_days: Counter[int] = field(default_factory=Counter)
    delay_histogram: dict[str, int] = field(default_factory=dict)
    delayed_fills: int = 0
    comprehension_first_tries: int = 0
    comprehension_first_try_passes: int = 0
    positive_tests: int = 0
    positive_tests_unreported: int = 0
    registry_reports_outstanding: int = 0  # every positive test not yet reported, any date
    prescribers_lapsed: int = 0
    pharmacies_lapsed: int = 0
    pharmacies_due: int = 0
    monthly: dict[str, dict[str, int]] = field(default_factory=dict)  # month -> series -> n
    prescribers: list[PrescriberRow] = field(default_factory=list)
    pharmacies: list[PharmacyRow] = field(default_factory=list)
    marking_refusals: Counter[int] = field(default_factory=Counter)  # by prescriber id
    counter_refusals: Counter[int] = field(default_factory=Counter)  # by pharmacy id

    @property
    def lockouts(self) -> int:
        return self.patients_refused.get(ReasonCode.LOCKOUT_PERIOD.value, 0)

    @property
    def median_test_to_authorization(self) -> float | None:
        return _median(self.test_to_authorization_days)

    @property
    def median_authorization_to_dispense(self) -> float | None:
        return _median(self.authorization_to_dispense_days)

    @property
    def delayed_share(self) -> float | None:
        return self.delayed_fills / self.dispenses if self.dispenses else None

    @property
    def comprehension_first_try_rate(self) -> float | None:
        tries = self.comprehension_first_tries
        return self.comprehension_first_try_passes / tries if tries else None

    def summary(self) -> dict[str, Any]:
        """The headline numbers, as the API answers them."""
        return {
            "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
            "rule_set": self.period.rule_set, "as_of": self.as_of.isoformat(),
            "active_patients": dict(self.active_patients),
            "new_enrollments": dict(self.new_enrollments),
            "authorizations": dict(self.authorizations),
            "missed_windows": dict(self.missed_windows),
            "dispenses": self.dispenses,
            "refusals": {code: dict(by) for code, by in sorted(self.refusals.items())},
            "refusal_events": dict(self.refusal_events),
            "lockouts": self.lockouts,
            "median_days_test_to_authorization": self.median_test_to_authorization,
            "median_days_authorization_to_dispense": self.median_authorization_to_dispense,
            "delayed_fills": self.delayed_fills,
            "delayed_share": self.delayed_share,
            "delay_histogram": dict(self.delay_histogram),
            "comprehension_first_tries": self.comprehension_first_tries,
            "comprehension_first_try_passes": self.comprehension_first_try_passes,
            "comprehension_first_try_rate": self.comprehension_first_try_rate,
            "positive_tests": self.positive_tests,
            "positive_tests_unreported": self.positive_tests_unreported,
            "registry_reports_outstanding": self.registry_reports_outstanding,
            "prescribers_lapsed": self.prescribers_lapsed,
            "pharmacies_lapsed": self.pharmacies_lapsed,
            "pharmacies_due_for_renewal": self.pharmacies_due,
            "monthly": {m: dict(s) for m, s in self.monthly.items()},
        }


def _median(counts: Counter[int]) -> float | None:
    """The median of values given as value -> how many times."""
    total = sum(counts.values())
    if not total:
        return None
    middle = ((total - 1) // 2, total // 2)  # the two middle ranks (the same when odd)
    found: list[int] = []
    seen = 0
    for value in sorted(counts):
        for rank in middle:
            if seen <= rank < seen + counts[value]:
                found.append(value)
        seen += counts[value]
    return (found[0] + found[1]) / 2


def require_reader(ctx: Context) -> None:
    if ctx.actor.role not in READERS:
        raise Forbidden("Only administrators and auditors read the program reports.")


def choose_period(ctx: Context, first: date | None, last: date | None,
                  rule_set: str | None = None) -> Period:
    """The period asked for, checked: from the first rule set to today, at most seven years
    long; a rule
    set clips it to the days that rule set was in force (RULES.md §2). Default: the last twelve
    months up to today."""
    today = ctx.today()
    last = last or today
    start = min(p.in_force_from for p in ctx.rule_sets)
    if first is None:  # the first day of the month eleven months before the last day's,
        months = last.year * 12 + last.month - 1 - 11  # or the first rule set's first day
        first = max(date(months // 12, months % 12 + 1, 1), start)
    errors: dict[str, list[str]] = {}
    if last < start:
        errors["to"] = [f"The period ends on {start.isoformat()} (the first rule set) or later."]
    if last > today:
        errors["to"] = [f"The period ends today ({today.isoformat()}) at the latest."]
    if first < start:
        errors["from"] = [f"The period starts on {start.isoformat()} (the first rule set) "
                          "or later."]
    elif first > last:
        errors["from"] = ["The period starts on or before its last day."]
    elif (last - first).days + 1 > LONGEST_PERIOD_DAYS:
        errors["from"] = ["A period is at most seven years long."]
    chosen = None
    if rule_set:
        sets = list(ctx.rule_sets)
        ids = [p.id for p in sets]
        if rule_set not in ids:
            errors["rule_set"] = ["Choose one of " + ", ".join(ids) + ", or every rule set."]
        else:
            at = ids.index(rule_set)
            start = sets[at].in_force_from
            end = sets[at + 1].in_force_from - timedelta(days=1) if at + 1 < len(sets) else today
            first, last, chosen = max(first, start), min(last, end), rule_set
            if first > last and not errors:
                errors["rule_set"] = [f"The rule set {rule_set} was not in force in the period."]
    if errors:
        raise ValidationFailed(errors)
    return Period(first, last, chosen)


def build_report(ctx: Context, period: Period) -> Report:
    """Every measure of docs/reports.md for `period`, in a fixed number of statements."""
    require_reader(ctx)
    return count_report(ctx, period)


def count_report(ctx: Context, period: Period) -> Report:
    """The report counted, whoever asks: the callers authorize (the readers above; the
    nightly refresh of tracker.services.stored_reports, which stores it)."""
    report = Report(period=period, as_of=ctx.today())
    report.monthly = {m: Counter() for m in period.months()}
    for measure in MEASURES:
        measure(ctx, report)
    return report


# --- helpers -------------------------------------------------------------------------------

def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _days_between(ctx: Context, later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole days from `earlier` to `later` (two DATE columns), in the database's dialect."""
    if ctx.session.get_bind().dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return type_coerce(later - earlier, Integer)


def _instant(ctx: Context, day: date) -> datetime:
    """The first instant of a program date (RULES.md §1), for columns kept in UTC."""
    return datetime.combine(day, time(0), ZoneInfo(ctx.program_timezone))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- the measures --------------------------------------------------------------------------

def _patients(ctx: Context, report: Report) -> None:
    """Active patients by category: enrolled (an acknowledgment signed) on or before the last
    day, in the category of their latest acknowledgment, whose course had not ended before the
    first day (a course ended before that acknowledgment is an earlier course)."""
    p = report.period
    latest = (select(Acknowledgment.patient_id, Acknowledgment.category, Acknowledgment.signed_on,
                     func.row_number().over(partition_by=Acknowledgment.patient_id,
                                            order_by=(Acknowledgment.signed_on.desc(),
                                                      Acknowledgment.id.desc())).label("n"))
              .where(Acknowledgment.signed_on <= p.last).subquery())
    ended = (select(CourseEnd.patient_id, func.max(CourseEnd.last_dose_on).label("last_dose"))
             .where(CourseEnd.last_dose_on <= p.last).group_by(CourseEnd.patient_id).subquery())
    rows = ctx.session.execute(
        select(latest.c.category, func.count())
        .select_from(latest.outerjoin(ended, ended.c.patient_id == latest.c.patient_id))
        .where(latest.c.n == 1, or_(ended.c.last_dose.is_(None),
                                    ended.c.last_dose >= p.first,
                                    ended.c.last_dose < latest.c.signed_on))
        .group_by(latest.c.category)).all()
    report.active_patients = {c: 0 for c in CATEGORIES} | {str(c): n for c, n in rows}


def _enrollments(ctx: Context, report: Report) -> None:
    """New enrollments: patients whose first acknowledgment was signed in the period, by the
    category it was signed for; per day for the monthly trend."""
    p = report.period
    first = (select(Acknowledgment.category, Acknowledgment.signed_on,
                    func.row_number().over(partition_by=Acknowledgment.patient_id,
                                           order_by=(Acknowledgment.signed_on,
                                                     Acknowledgment.id)).label("n"))
             .where(Acknowledgment.signed_on <= p.last).subquery())
    rows = ctx.session.execute(
        select(first.c.category, first.c.signed_on, func.count())
        .where(first.c.n == 1, first.c.signed_on >= p.first)
        .group_by(first.c.category, first.c.signed_on)).all()
    report.new_enrollments = {c: 0 for c in CATEGORIES}
    for category, day, n in rows:
        report.new_enrollments[str(category)] += n
        report.monthly[_month(_as_date(day))]["enrollments"] += n


def _authorizations(ctx: Context, report: Report) -> None:
    """Authorizations issued in the period and what became of each (as of today): dispensed,
    reversed, expired unused (its do-not-dispense-after date passed without a dispense), or
    still open. Missed windows: the expired unused ones, by the patient's category."""
    p, today = report.period, report.as_of
    expired = and_(Authorization.state.in_((AuthorizationState.OPEN, AuthorizationState.LAPSED)),
                   Authorization.do_not_dispense_after.is_not(None),
                   Authorization.do_not_dispense_after < today)
    rows = ctx.session.execute(
        select(Authorization.issued_on, Authorization.state, Patient.category,
               case((expired, 1), else_=0).label("expired"), func.count())
        .join(Patient, Patient.id == Authorization.patient_id)
        .where(Authorization.issued_on.between(p.first, p.last))
        .group_by(Authorization.issued_on, Authorization.state, Patient.category,
                  literal_column("expired"))).all()
    out = Counter({"issued": 0, "dispensed": 0, "reversed": 0, "expired_unused": 0, "open": 0})
    missed = Counter({c: 0 for c in CATEGORIES})
    for day, state, category, is_expired, n in rows:
        out["issued"] += n
        report.monthly[_month(_as_date(day))]["authorizations"] += n
        outcome = _outcome(str(state), bool(is_expired))
        out[outcome] += n
        if outcome == "expired_unused":
            missed[str(category)] += n
    report.authorizations = dict(out)
    report.missed_windows = dict(missed)


def _outcome(state: str, expired: bool) -> str:
    if state == AuthorizationState.DISPENSED:
        return "dispensed"
    if state == AuthorizationState.REVERSED:
        return "reversed"
    # A lapsed authorization was closed because it expired unused (models: LAPSED).
    return "expired_unused" if expired or state == AuthorizationState.LAPSED else "open"


def _dispenses(ctx: Context, report: Report) -> None:
    """Dispenses in the period; days from authorization to dispense; days from prescription
    written to dispense (the delay histogram); delayed fills: the prescription was refused at
    least once when marked dispensable, or needed more than one authorization."""
    p = report.period
    # Delayed: its prescription is among those refused at "Mark dispensable" or among those
    # with more than one authorization. Both sets are computed once per statement and joined
    # (each holds a prescription once, so no dispense is counted twice), not looked up again
    # for each dispense (PostgreSQL hashes an IN (...) set only while it fits in work_mem;
    # at 1,000,000 patients the statement written so ran for more than 17 minutes). The test
    # is summed, not grouped by, so it is evaluated once per row.
    refused = (select(AuditEvent.object_id.label("prescription"))
               .where(AuditEvent.action == MARKING_REFUSED,
                      AuditEvent.object_type == "prescription")
               .group_by(AuditEvent.object_id).subquery("refused"))
    reauthorized = (select(Authorization.prescription_id.label("prescription"))
                    .group_by(Authorization.prescription_id)
                    .having(func.count() > 1).subquery("reauthorized"))
    delayed = case((or_(refused.c.prescription.is_not(None),
                        reauthorized.c.prescription.is_not(None)), 1), else_=0)
    to_dispense = _days_between(ctx, Dispense.dispensed_on, Authorization.issued_on)
    written = _days_between(ctx, Dispense.dispensed_on, Prescription.written_on)
    rows = ctx.session.execute(
        select(Dispense.dispensed_on, to_dispense.label("a"), written.label("w"),
               func.sum(delayed), func.count())
        .join(Authorization, Authorization.id == Dispense.authorization_id)
        .join(Prescription, Prescription.id == Dispense.prescription_id)
        .outerjoin(refused, refused.c.prescription
                   == cast(Dispense.prescription_id, AuditEvent.object_id.type))
        .outerjoin(reauthorized, reauthorized.c.prescription == Dispense.prescription_id)
        .where(Dispense.dispensed_on.between(p.first, p.last))
        .group_by(Dispense.dispensed_on, literal_column("a"), literal_column("w"))).all()
    histogram = Counter({label: 0 for label, _, _ in DELAY_BINS})
    for day, to_dispense_days, written_days, delayed_n, n in rows:
        report.dispenses += n
        report.monthly[_month(_as_date(day))]["dispenses"] += n
        report.authorization_to_dispense_days[int(to_dispense_days)] += n
        histogram[_bin(int(written_days))] += n
        report.delayed_fills += int(delayed_n or 0)
    report.delay_histogram = dict(histogram)


def _bin(days: int) -> str:
    for label, low, high in DELAY_BINS:
        if days >= low and (high is None or days <= high):
            return label
    return DELAY_BINS[0][0]  # a dispense is never before its prescription was written


def _refusals(ctx: Context, report: Report) -> None:
    """Refusals in the period, by reason code: the audit trail's events of a refused "Mark
    dispensable" and a refused dispense, each with every unmet reason the rules engine gave.
    Also per prescriber (marking) and per pharmacy (the counter's, by its staff's pharmacy),
    and the patients refused with each code (lockouts: LOCKOUT_PERIOD)."""
    p = report.period
    actor = User.__table__.alias("actor")
    rows = ctx.session.execute(
        select(AuditEvent.action, AuditEvent.new_values, AuditEvent.patient_id,
               Patient.prescriber_id, actor.c.pharmacy_id)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .outerjoin(actor, actor.c.id == AuditEvent.actor_id)
        .where(AuditEvent.action.in_(REFUSAL_ACTIONS),
               AuditEvent.occurred_at >= _instant(ctx, p.first),
               AuditEvent.occurred_at < _instant(ctx, p.last + timedelta(days=1)))).all()
    refusals: dict[str, Counter[str]] = defaultdict(Counter)
    refused: set[tuple[str, int]] = set()  # (code, patient): each patient once per code
    events: Counter[str] = Counter({a: 0 for a in REFUSAL_ACTIONS})
    by_prescriber: Counter[int] = Counter()
    by_pharmacy: Counter[int] = Counter()
    for action, values, patient_id, prescriber_id, pharmacy_id in rows:
        events[action] += 1
        for code in json.loads(values or "{}").get("unmet", []):
            refusals[code][action] += 1
            if patient_id is not None:
                refused |= {(code, patient_id)}
        if action == MARKING_REFUSED and prescriber_id is not None:
            by_prescriber[prescriber_id] += 1
        if action == DISPENSE_REFUSED and pharmacy_id is not None:
            by_pharmacy[pharmacy_id] += 1
    report.refusals = {code: dict(by) for code, by in refusals.items()}
    report.refusal_events = dict(events)
    report.patients_refused = dict(Counter(code for code, _ in refused))
    report.marking_refusals = by_prescriber
    report.counter_refusals = by_pharmacy


def _used_tests(ctx: Context) -> Any:
    """(authorization id, pregnancy test id) for every pregnancy test an authorization's
    decision used (`decision_used`, the records the rules engine named), in the dialect's JSON."""
    if ctx.session.get_bind().dialect.name == "sqlite":
        return text(
            "SELECT a.id AS authorization_id, a.issued_on AS issued_on, "
            "CAST(json_extract(u.value, '$[1]') AS INTEGER) AS test_id "
            "FROM authorizations AS a, json_each(a.decision_used) AS u "
            "WHERE json_extract(u.value, '$[0]') = 'pregnancy_test' "
            "AND a.issued_on BETWEEN :first AND :last")
    return text(
        "SELECT a.id AS authorization_id, a.issued_on AS issued_on, "
        "CAST(u.value ->> 1 AS INTEGER) AS test_id "
        "FROM authorizations AS a "
        "CROSS JOIN LATERAL jsonb_array_elements(CAST(a.decision_used AS jsonb)) AS u(value) "
        "WHERE u.value ->> 0 = 'pregnancy_test' AND a.issued_on BETWEEN :first AND :last")


def _test_to_authorization(ctx: Context, report: Report) -> None:
    """Days from the confirmation test to the authorization, for each authorization issued in
    the period on a pregnancy test: the newest test its decision used (the one whose window
    covered the day; a first fill's decision also names the older screening test)."""
    p = report.period
    used = _used_tests(ctx).columns(
        literal_column("authorization_id", Integer), literal_column("issued_on"),
        literal_column("test_id", Integer)).subquery("used")
    per_authorization = (
        select(used.c.issued_on, func.max(PregnancyTest.collected_on).label("confirmed_on"))
        .join(PregnancyTest, PregnancyTest.id == used.c.test_id)
        .group_by(used.c.authorization_id, used.c.issued_on).subquery())
    days = _days_between(ctx, per_authorization.c.issued_on, per_authorization.c.confirmed_on)
    rows = ctx.session.execute(
        select(days.label("d"), func.count()).group_by(literal_column("d")),
        {"first": p.first, "last": p.last}).all()
    for d, n in rows:
        report.test_to_authorization_days[int(d)] += n


def _comprehension(ctx: Context, report: Report) -> None:
    """First tries at the comprehension questions completed in the period: attempts whose
    patient's previous attempt (corrections aside) passed, or who had none; and how many of
    them passed."""
    p = report.period
    attempts = (select(ComprehensionAttempt.completed_on, ComprehensionAttempt.passed,
                       func.lag(ComprehensionAttempt.passed).over(
                           partition_by=ComprehensionAttempt.patient_id,
                           order_by=(ComprehensionAttempt.completed_on,
                                     ComprehensionAttempt.id)).label("previous"))
                .where(ComprehensionAttempt.superseded.is_(False),
                       ComprehensionAttempt.completed_on <= p.last).subquery())
    rows = ctx.session.execute(
        select(attempts.c.passed, func.count())
        .where(attempts.c.completed_on >= p.first,
               or_(attempts.c.previous.is_(None), attempts.c.previous.is_(True)))
        .group_by(attempts.c.passed)).all()
    for passed, n in rows:
        report.comprehension_first_tries += n
        report.comprehension_first_try_passes += n if passed else 0


def _positive_tests(ctx: Context, report: Report) -> None:
    """Positive pregnancy tests collected in the period, those of them not yet reported to the
    pregnancy registry, and every positive test of any date not yet reported (RULES.md §10)."""
    p = report.period
    in_period = PregnancyTest.collected_on.between(p.first, p.last)
    unreported = PregnancyTest.registry_reported_at.is_(None)
    row = ctx.session.execute(
        select(func.count().filter(in_period),
               func.count().filter(and_(in_period, unreported)),
               func.count().filter(unreported))
        .where(PregnancyTest.result == "positive", PregnancyTest.superseded.is_(False))).one()
    report.positive_tests, report.positive_tests_unreported = row[0], row[1]
    report.registry_reports_outstanding = row[2]


def _prescribers(ctx: Context, report: Report) -> None:
    """Per prescriber: authorizations issued in the period and what became of them, refused
    markings; lapsed prescribers: deactivated ones (RULES.md §3 "must be active"; the rule book
    sets prescribers no renewal date)."""
    p, today = report.period, report.as_of
    people = ctx.session.execute(
        select(User.id, User.name, User.npi, User.active)
        .where(User.role == Role.PRESCRIBER).order_by(User.id)).all()
    rows = {i: PrescriberRow(i, name, npi, active) for i, name, npi, active in people}
    expired = and_(Authorization.do_not_dispense_after.is_not(None),
                   Authorization.do_not_dispense_after < today)
    counts = ctx.session.execute(
        select(Prescription.prescriber_id, Authorization.state,
               case((expired, 1), else_=0).label("expired"), func.count())
        .join(Prescription, Prescription.id == Authorization.prescription_id)
        .where(Authorization.issued_on.between(p.first, p.last))
        .group_by(Prescription.prescriber_id, Authorization.state,
                  literal_column("expired"))).all()
    for prescriber_id, state, is_expired, n in counts:
        row = rows[prescriber_id]
        row.issued += n
        outcome = _outcome(str(state), bool(is_expired))
        setattr(row, outcome, getattr(row, outcome) + n)
    for prescriber_id, n in report.marking_refusals.items():
        if prescriber_id in rows:
            rows[prescriber_id].marking_refusals += n
    report.prescribers = sorted(rows.values(), key=lambda r: (-r.issued, r.name, r.id))
    report.prescribers_lapsed = sum(1 for r in rows.values() if not r.active)


def _pharmacies(ctx: Context, report: Report) -> None:
    """Per pharmacy: dispenses in the period, mean days from authorization to dispense, refused
    dispenses at its counter; its standing today as the rules engine sees it (RULES.md §3):
    lapsed (may not dispense), due for renewal within the notice period, or active."""
    p = report.period
    people = ctx.session.execute(
        select(Pharmacy.id, Pharmacy.name, Pharmacy.ncpdp_id, Pharmacy.activated_on,
               Pharmacy.trained_on).order_by(Pharmacy.id)).all()
    rows: dict[int, PharmacyRow] = {}
    for pharmacy_id, name, ncpdp, activated_on, trained_on in people:
        problems, due_on, _ = renewal(ctx, pharmacy_facts_from(activated_on, trained_on))
        if problems:
            standing = "lapsed: " + "; ".join(problems)
            report.pharmacies_lapsed += 1
        elif due_on is not None:
            standing = f"due for renewal: inactive from {due_on.isoformat()}"
            report.pharmacies_due += 1
        else:
            standing = "active"
        rows[pharmacy_id] = PharmacyRow(pharmacy_id, name, ncpdp, standing)
    to_dispense = _days_between(ctx, Dispense.dispensed_on, Authorization.issued_on)
    counts = ctx.session.execute(
        select(Dispense.pharmacy_id, func.count(), func.sum(to_dispense))
        .join(Authorization, Authorization.id == Dispense.authorization_id)
        .where(Dispense.dispensed_on.between(p.first, p.last))
        .group_by(Dispense.pharmacy_id)).all()
    for pharmacy_id, n, total in counts:
        rows[pharmacy_id].dispenses = n
        rows[pharmacy_id].days_to_dispense_total = int(total or 0)
    for pharmacy_id, n in report.counter_refusals.items():
        if pharmacy_id in rows:
            rows[pharmacy_id].counter_refusals += n
    report.pharmacies = sorted(rows.values(), key=lambda r: (-r.dispenses, r.name, r.id))


# In this order: the per-prescriber and per-pharmacy tables take the refusals counted before.
MEASURES: tuple[Callable[[Context, Report], None], ...] = (
    _patients, _enrollments, _authorizations, _dispenses, _refusals, _test_to_authorization,
    _comprehension, _positive_tests, _prescribers, _pharmacies)
