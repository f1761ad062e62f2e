"""A national-size demo database: N realistic patients written with bulk inserts.

`tracker demo --patients N [--seed S]` fills a database for demonstrations and benchmarks with
patients of both categories, registered over the last two years, each with the records of a
real course: the signed acknowledgment, screening and monthly pregnancy tests, contraception
entries, counseling visits, comprehension attempts (some failed), prescriptions, authorizations
and dispenses. Some patients are only registered, some wait for their 30-day lead time, some
have a prescription the rules refuse today, some missed a window (a reversed authorization, or
one left open past its date), some had a positive test, and many finished their course.

Speed is the point (a million patients in minutes, not days), so the rows do not go through
the per-record services: the generator lays out each patient's timeline itself and writes the
rows in large batches (SQLAlchemy Core `insert()` run as one executemany per table on SQLite,
`COPY` on PostgreSQL). What the services would guarantee is guaranteed here by construction:

- every row satisfies the schema's CHECK constraints and keys (ids are assigned here, in order);
- every authorization and every dispense is one the rules engine allows on its date, under the
  rule set in force then, and the `decision_used` stored with an authorization is what the
  engine reports (tests/perf/test_bulkdemo.py re-evaluates every one of them);
- acknowledgments and authorizations carry valid e-signatures, and one audit event,
  `demo.generated`, describing the whole generation is chained like any other, so
  `tracker audit verify` still passes.

The same seed on the same starting database gives the same data. Authorization and
prescription numbers are a keyed permutation of the row id (unique by construction, and not
derivable from one another without the deployment's signature key). Generated prescribers and
pharmacy staff have no password: they exist to own and dispense the generated patients."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from tracker.bulk_signing import AuthorizationSigner
from tracker.domain.comprehension import QUESTIONS
from tracker.domain.contraception import (
    PRIMARY_METHODS,
    SECONDARY_METHODS,
    acceptable_contraception,
)
from tracker.domain.facts import Category, PharmacyFacts, PrescriptionStatus, TestSetting
from tracker.domain.policy import Policy, pharmacy_problems
from tracker.domain.validation import needs_guardian
from tracker.models import (
    Acknowledgment,
    Authorization,
    AuthorizationState,
    CategoryChange,
    ComprehensionAttempt,
    ContraceptionEntry,
    Counseling,
    CourseEnd,
    Dispense,
    Patient,
    Pharmacy,
    PregnancyTest,
    Prescription,
    Role,
    User,
)
from tracker.services.audit import record_event
from tracker.services.bulk_writer import BulkWriter
from tracker.services.consent_forms import current_form
from tracker.services.context import Context
from tracker.services.patients import acknowledgment_fields
from tracker.services.signatures import sign
from tracker.services.users import npi_is_valid

__all__ = ["Generated", "generate_patients", "summary"]

HISTORY_DAYS = 730  # patients were registered over the last two years
PATIENTS_PER_PRESCRIBER = 250
PATIENTS_PER_PHARMACY = 200
BATCH_PATIENTS = 5000  # patients laid out before their rows are written
_GENERATED_DOMAIN = "generated.demo.test"

FIRST_NAMES = (
    "Aaliyah", "Abigail", "Adrian", "Aisha", "Alex", "Alexis", "Amara", "Amelia", "Andre",
    "Angel", "Aria", "Ava", "Bianca", "Brooke", "Caleb", "Camila", "Carmen", "Chloe", "Daniela",
    "Deja", "Diego", "Eli", "Elena", "Emily", "Emma", "Fatima", "Gabriel", "Grace", "Hailey",
    "Hana", "Imani", "Isabella", "Jada", "Jamal", "Jasmine", "Jordan", "Julia", "Kai", "Kayla",
    "Kenji", "Layla", "Leah", "Lily", "Lucas", "Luis", "Madison", "Maya", "Mei", "Mia", "Nadia",
    "Naomi", "Nia", "Noah", "Nora", "Olivia", "Priya", "Quinn", "Riley", "Rosa", "Ruby",
    "Samira", "Sara", "Sofia", "Taylor", "Tyler", "Valentina", "Victoria", "Yara", "Zoe", "Zain",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Anderson", "Baker", "Brooks", "Brown", "Castillo", "Chen",
    "Clark", "Cohen", "Cruz", "Davis", "Diaz", "Edwards", "Evans", "Flores", "Garcia", "Gomez",
    "Gonzalez", "Gupta", "Hall", "Harris", "Hernandez", "Hill", "Huang", "Jackson", "James",
    "Johnson", "Jones", "Khan", "Kim", "King", "Lee", "Lewis", "Lopez", "Martin", "Martinez",
    "Mendoza", "Miller", "Mitchell", "Moore", "Morales", "Murphy", "Nguyen", "Okafor", "Ortiz",
    "Park", "Patel", "Perez", "Phillips", "Ramirez", "Reyes", "Rivera", "Roberts", "Robinson",
    "Rodriguez", "Rossi", "Sanchez", "Scott", "Shah", "Singh", "Smith", "Taylor", "Thomas",
    "Thompson", "Torres", "Tran", "Turner", "Walker", "White", "Williams", "Wilson", "Wright",
    "Young", "Zhang",
)
GUARDIAN_RELATIONSHIPS = ("mother", "father", "legal guardian")

# The columns written for each table, in the order rows are built. Nullable columns that are
# always empty for generated rows are left out (the database stores NULL).
COLUMNS: dict[str, tuple[str, ...]] = {
    "pharmacies": ("id", "name", "ncpdp_id", "activated_on", "trained_on", "created_at"),
    "users": ("id", "email", "name", "role", "active", "must_change_password", "npi",
              "home_testing_permitted", "pharmacy_id", "created_at"),
    "patients": ("id", "prescriber_id", "first_name", "last_name", "date_of_birth", "category",
                 "created_at", "created_by", "program_number"),
    "category_changes": ("id", "patient_id", "category", "changed_on", "changed_by",
                         "changed_at"),
    "acknowledgments": ("id", "patient_id", "category", "form_code", "form_version", "signed_on",
                        "patient_signature", "guardian_signature", "guardian_relationship",
                        "meaning", "witness_id", "signed_at", "signature_hmac",
                        "signature_key_id"),
    "counseling": ("id", "patient_id", "recorded_by", "recorded_at", "superseded",
                   "counseled_on"),
    "pregnancy_tests": ("id", "patient_id", "recorded_by", "recorded_at", "superseded",
                        "collected_on", "result", "setting", "registry_reported_at",
                        "registry_reported_by"),
    "contraception": ("id", "patient_id", "recorded_by", "recorded_at", "superseded",
                      "recorded_on", "started_on", "methods", "abstinence"),
    "comprehension_attempts": ("id", "patient_id", "recorded_by", "recorded_at", "superseded",
                               "completed_on", "answers", "passed", "wrong", "methods",
                               "abstinence"),
    "prescriptions": ("id", "number", "patient_id", "prescriber_id", "written_on",
                      "days_supply", "quantity", "refills", "status", "created_at"),
    "authorizations": ("id", "number", "prescription_id", "patient_id", "state", "issued_on",
                       "issued_at", "issued_by", "do_not_dispense_after", "rule_set",
                       "decision_used", "signature_hmac", "closed_at", "closed_by",
                       "close_reason", "signature_key_id"),
    "dispenses": ("id", "prescription_id", "authorization_id", "patient_id", "pharmacy_id",
                  "pharmacist_id", "dispensed_at", "dispensed_on", "quantity", "days_supply",
                  "medication_guide_given"),
    "course_ends": ("id", "patient_id", "last_dose_on", "recorded_by", "recorded_at"),
}
# Parents before children: the keys are checked as rows arrive.
TABLES: dict[str, Table] = {
    "pharmacies": Pharmacy.__table__,  # type: ignore[dict-item]
    "users": User.__table__,  # type: ignore[dict-item]
    "patients": Patient.__table__,  # type: ignore[dict-item]
    "category_changes": CategoryChange.__table__,  # type: ignore[dict-item]
    "acknowledgments": Acknowledgment.__table__,  # type: ignore[dict-item]
    "counseling": Counseling.__table__,  # type: ignore[dict-item]
    "pregnancy_tests": PregnancyTest.__table__,  # type: ignore[dict-item]
    "contraception": ContraceptionEntry.__table__,  # type: ignore[dict-item]
    "comprehension_attempts": ComprehensionAttempt.__table__,  # type: ignore[dict-item]
    "prescriptions": Prescription.__table__,  # type: ignore[dict-item]
    "authorizations": Authorization.__table__,  # type: ignore[dict-item]
    "dispenses": Dispense.__table__,  # type: ignore[dict-item]
    "course_ends": CourseEnd.__table__,  # type: ignore[dict-item]
}

_CORRECT = {q.id: q.correct for q in QUESTIONS}
_ANSWERS_JSON = json.dumps(_CORRECT, sort_keys=True)
# Generated rows go to the driver as they are (executemany, COPY), past the columns' enum
# types: their enumerations are written as plain strings.
_CGP = Category.CAN_GET_PREGNANT.value
_CNGP = Category.CANNOT_GET_PREGNANT.value
_NEG = "negative"
_POS = "positive"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # as tracker.services.prescriptions


def _contraception_choices() -> tuple[tuple[str, bool], ...]:
    """(stored methods, abstinence) a prescriber would enter: a primary method with a condom
    or another barrier, two primary methods, or abstinence (RULES.md §6.2)."""
    choices: list[tuple[frozenset[str], bool]] = []
    for primary in PRIMARY_METHODS:
        for secondary in SECONDARY_METHODS:
            choices.append((frozenset({primary, secondary}), False))
    choices.append((frozenset({"iud", "combined_pill"}), False))
    choices.append((frozenset(), True))
    for methods, abstinence in choices:
        # The generator must never store what the entry check would refuse.
        assert acceptable_contraception(methods, abstinence), methods
    return tuple((",".join(sorted(m)), a) for m, a in choices)


_CONTRACEPTION = _contraception_choices()
# Weighted toward what is common in practice: an IUD or the pill with condoms.
_COMMON_CONTRACEPTION = (("iud,male_condom", False), ("combined_pill,male_condom", False),
                         ("hormonal_implant,male_condom", False))


class _Scramble:
    """A keyed bijection on `bits`-bit integers: rounds of xor with a key, multiplication by an
    odd key and an xor-shift, each invertible modulo 2**bits. Distinct ids give distinct
    numbers, and consecutive ids give unrelated-looking ones (demo data only: production numbers
    come from `secrets`)."""

    def __init__(self, key: bytes, bits: int) -> None:
        self.mask = (1 << bits) - 1
        self.shift = bits // 2 + 1
        digest = hashlib.sha512(key).digest()
        words = [int.from_bytes(digest[i:i + 8], "big") for i in range(0, 48, 8)]
        self.rounds = [(words[i] & self.mask, (words[i + 3] | 1) & self.mask) for i in range(3)]

    def __call__(self, value: int) -> int:
        mask, shift = self.mask, self.shift
        for xor, odd in self.rounds:
            value = ((value ^ xor) * odd) & mask
            value ^= value >> shift
        return value


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits -> two characters


def _code(value: int, groups: int) -> str:
    """`groups` groups of four base-32 characters (20 bits each), most significant first."""
    parts = []
    for g in range(groups - 1, -1, -1):
        bits = value >> (20 * g)
        parts.append(_PAIRS[(bits >> 10) & 1023] + _PAIRS[bits & 1023])
    return "-".join(parts)


def _used_json(used: list[tuple[str, int]]) -> str:
    """The records a decision relied on, as authorize() stores them (json.dumps of pairs)."""
    return "[" + ", ".join(f'["{kind}", {rid}]' for kind, rid in used) + "]"


def _npi_for(n: int, taken: set[str]) -> str:
    """A valid, unused NPI (Luhn check digit over 80840 + nine digits) derived from n."""
    while True:
        base = f"{300000000 + n % 600000000:09d}"
        for check in range(10):
            npi = base + str(check)
            if npi_is_valid(npi) and npi not in taken:
                taken.add(npi)
                return npi
        n += 1


@dataclass
class Generated:
    """What a generation wrote: counts per table and the people made for it."""

    seed: int
    patients: int
    prescribers: int = 0
    pharmacies: int = 0
    pharmacists: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class _Ids:
    """The next id of each table: generated rows take ids after the existing ones."""

    def __init__(self, conn: Connection) -> None:
        self.next: dict[str, int] = {}
        for name, table in TABLES.items():
            self.next[name] = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
        self.first = dict(self.next)

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value


class _Generator:
    """Lays out each patient's timeline as rows; dates are day ordinals until written."""

    def __init__(self, ctx: Context, conn: Connection, seed: int) -> None:
        self.ctx = ctx
        # Deterministic for a seed (demo data); numbers that must not be guessable are keyed.
        self.rng = random.Random(seed)  # noqa: S311
        self.today = ctx.today().toordinal()
        self.zone = ZoneInfo(ctx.program_timezone)
        self.sqlite = conn.dialect.name == "sqlite"
        self.ids = _Ids(conn)
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        self.counts: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        key = ctx.signature_keys.current
        self.auth_numbers = _Scramble(key + b"/authorization-number", 60)
        self.rx_numbers = _Scramble(key + b"/prescription-number", 40)
        self.program_numbers = _Scramble(key + b"/program-number", 60)
        self._dates: dict[int, date] = {}
        self._db_dates: dict[int, Any] = {}
        self._moments: dict[tuple[int, int], datetime] = {}
        self._db_moments: dict[tuple[int, int], Any] = {}
        self._policies: dict[int, Policy] = {}
        self.auth_signer = AuthorizationSigner(ctx.signature_keys, self.moment)
        self.key_id = ctx.signature_keys.current_id
        self.prescribers: list[tuple[int, bool]] = []  # (user id, home testing permitted)
        self.pharmacies: list[tuple[int, list[int]]] = []  # (pharmacy id, staff ids)

    # --- values as the database takes them --------------------------------------------------

    def date(self, day: int) -> date:
        value = self._dates.get(day)
        if value is None:
            value = self._dates[day] = date.fromordinal(day)
        return value

    def d(self, day: int) -> Any:
        """A date column's value (SQLite stores the ISO text SQLAlchemy would write)."""
        value = self._db_dates.get(day)
        if value is None:
            value = self.date(day)
            if self.sqlite:
                value = value.isoformat()
            self._db_dates[day] = value
        return value

    def moment(self, day: int, hour: int = 11) -> datetime:
        """An instant on a program date: `hour` o'clock in the program time zone, in UTC."""
        key = (day, hour)
        value = self._moments.get(key)
        if value is None:
            local = datetime.combine(self.date(day), time(hour), self.zone)
            value = self._moments[key] = local.astimezone(UTC)
        return value

    def ts(self, day: int, hour: int = 11) -> Any:
        """A UTC datetime column's value (SQLite: naive UTC text, as tracker.db stores it)."""
        key = (day, hour)
        value = self._db_moments.get(key)
        if value is None:
            value = self.moment(day, hour)
            if self.sqlite:
                value = value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            self._db_moments[key] = value
        return value

    def policy(self, day: int) -> Policy:
        value = self._policies.get(day)
        if value is None:
            value = self._policies[day] = self.ctx.policy(self.date(day))
        return value

    def add(self, name: str, row: tuple[Any, ...]) -> None:
        self.rows[name].append(row)

    # --- people -------------------------------------------------------------------------------

    def load_people(self, conn: Connection, patients: int) -> tuple[int, int, int]:
        """Use the active prescribers and active pharmacies with staff that exist, and make
        enough new ones for `patients` patients. Returns (prescribers, pharmacies, staff)
        created."""
        rng = self.rng
        today = self.today
        for uid, home in conn.execute(
            select(User.id, User.home_testing_permitted)
            .where(User.role == Role.PRESCRIBER, User.active.is_(True))
            .order_by(User.id)
        ):
            self.prescribers.append((uid, bool(home)))
        staff: dict[int, list[int]] = {}
        for pid, uid, activated, trained in conn.execute(
            select(Pharmacy.id, User.id, Pharmacy.activated_on, Pharmacy.trained_on)
            .join(User, User.pharmacy_id == Pharmacy.id)
            .where(User.active.is_(True))
            .order_by(Pharmacy.id, User.id)
        ):
            if not pharmacy_problems(PharmacyFacts(activated, trained), self.date(today),
                                     self.policy(today)):
                staff.setdefault(pid, []).append(uid)
        self.pharmacies.extend(staff.items())
        npis = {npi for npi in conn.execute(select(User.npi)).scalars() if npi is not None}
        ncpdps = set(conn.execute(select(Pharmacy.ncpdp_id)).scalars())
        new_prescribers = max(1, patients // PATIENTS_PER_PRESCRIBER) if patients else 0
        new_pharmacies = max(1, patients // PATIENTS_PER_PHARMACY) if patients else 0
        made_staff = 0
        for _ in range(new_prescribers):
            uid = self.ids.take("users")
            home = rng.random() < 0.2
            name = f"Dr. {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            created = today - HISTORY_DAYS - rng.randrange(365)
            self.add("users", (uid, f"prescriber{uid}@{_GENERATED_DOMAIN}", name,
                               Role.PRESCRIBER.value, True, True, _npi_for(uid, npis), home,
                               None, self.ts(created)))
            self.prescribers.append((uid, home))
        for _ in range(new_pharmacies):
            pid = self.ids.take("pharmacies")
            ncpdp = 4000000 + pid % 5000000
            while str(ncpdp) in ncpdps:
                ncpdp = 4000000 + (ncpdp + 1) % 5000000
            ncpdps.add(str(ncpdp))
            # The activation and training attestation on file are the latest renewals.
            activated_day = today - rng.randrange(300)
            trained_day = min(today, activated_day + rng.randrange(30))
            self.add("pharmacies", (pid, f"{rng.choice(LAST_NAMES)} Pharmacy #{pid}",
                                    str(ncpdp), self.d(activated_day), self.d(trained_day),
                                    self.ts(activated_day)))
            members = []
            for _ in range(1 + rng.randrange(3)):
                uid = self.ids.take("users")
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                self.add("users", (uid, f"pharmacist{uid}@{_GENERATED_DOMAIN}", name,
                                   Role.PHARMACIST.value, True, True, None, False, pid,
                                   self.ts(activated_day)))
                members.append(uid)
                made_staff += 1
            self.pharmacies.append((pid, members))
        return new_prescribers, new_pharmacies, made_staff

    # --- records --------------------------------------------------------------------------------

    def counseling(self, pid: int, doc: int, day: int) -> int:
        rid = self.ids.take("counseling")
        self.add("counseling", (rid, pid, doc, self.ts(day), False, self.d(day)))
        return rid

    def test(self, pid: int, doc: int, day: int, result: str, setting: str) -> int:
        rid = self.ids.take("pregnancy_tests")
        reported_at = reported_by = None
        if result == _POS:
            # RULES.md §10: positive tests are flagged for the registry; most are reported.
            reported = day + 1 + self.rng.randrange(10)
            if reported <= self.today and self.rng.random() < 0.7:
                reported_at, reported_by = self.ts(reported), doc
        self.add("pregnancy_tests", (rid, pid, doc, self.ts(day), False, self.d(day), result,
                                     setting, reported_at, reported_by))
        return rid

    def contraception(self, pid: int, doc: int, day: int, started: int,
                      choice: tuple[str, bool]) -> int:
        rid = self.ids.take("contraception")
        self.add("contraception", (rid, pid, doc, self.ts(day), False, self.d(day),
                                   self.d(started), choice[0], choice[1]))
        return rid

    def comprehension(self, pid: int, doc: int, day: int, choice: tuple[str, bool],
                      passed: bool = True) -> int:
        rid = self.ids.take("comprehension_attempts")
        if passed:
            answers, wrong = _ANSWERS_JSON, ""
        else:
            missed = sorted(self.rng.sample(list(_CORRECT), 1 + self.rng.randrange(2)))
            answers = json.dumps({k: (not v if k in missed else v) for k, v in _CORRECT.items()},
                                 sort_keys=True)
            wrong = ",".join(q.id for q in QUESTIONS if q.id in missed)
        self.add("comprehension_attempts", (rid, pid, doc, self.ts(day), False, self.d(day),
                                            answers, passed, wrong, choice[0], choice[1]))
        return rid

    def prescription(self, pid: int, doc: int, day: int, status: str, supply: int,
                     quantity: int, rid: int | None = None) -> int:
        rid = rid or self.ids.take("prescriptions")
        number = "RX-" + _code(self.rx_numbers(rid), 2)
        self.add("prescriptions", (rid, number, pid, doc, self.d(day), supply, quantity, 0,
                                   status, self.ts(day)))
        return rid

    def authorization(self, pid: int, doc: int, rx: int, day: int, closes: int | None,
                      rule_set: str, used: list[tuple[str, int]], state: str,
                      closed: tuple[Any, int, str | None] | None = None) -> int:
        """`closed`: (when, by whom, why) for a dispensed or reversed authorization."""
        aid = self.ids.take("authorizations")
        number = _code(self.auth_numbers(aid), 3)
        signature = self.auth_signer(aid, number, rx, pid, day, closes, rule_set, doc)
        closed_at, closed_by, reason = closed if closed is not None else (None, None, None)
        self.add("authorizations", (
            aid, number, rx, pid, state, self.d(day), self.ts(day, 14), doc,
            None if closes is None else self.d(closes), rule_set,
            _used_json(used), signature, closed_at, closed_by, reason, self.key_id))
        return aid

    def counter(self) -> tuple[int, int]:
        """A pharmacy active today and one of its staff."""
        pharmacy, staff = self.pharmacies[self.rng.randrange(len(self.pharmacies))]
        return pharmacy, staff[self.rng.randrange(len(staff))]

    def dispensed(self, pid: int, doc: int, rx: int, visit: int, issued: int,
                  closes: int | None, rule_set: str, used: list[tuple[str, int]], day: int,
                  supply: int, quantity: int) -> None:
        """The prescription authorized on `issued` and dispensed on `day`: the pharmacist's
        dispense closes the authorization in the same moment."""
        pharmacy, pharmacist = self.counter()
        moment = self.ts(day, 15)
        auth = self.authorization(pid, doc, rx, issued, closes, rule_set, used,
                                  AuthorizationState.DISPENSED.value,
                                  (moment, pharmacist, None))
        self.prescription(pid, doc, visit, PrescriptionStatus.DISPENSED.value, supply,
                          quantity, rx)
        self.add("dispenses", (self.ids.take("dispenses"), rx, auth, pid, pharmacy, pharmacist,
                               moment, self.d(day), quantity, supply, True))

    def course_end(self, pid: int, doc: int, last_dose: int) -> None:
        recorded = min(self.today, last_dose + self.rng.randrange(8))
        self.add("course_ends", (self.ids.take("course_ends"), pid, self.d(last_dose), doc,
                                 self.ts(recorded, 16)))

    # --- one patient ----------------------------------------------------------------------------

    def patient(self) -> None:
        rng = self.rng
        rand = rng.random
        today = self.today
        doc, home_ok = self.prescribers[rng.randrange(len(self.prescribers))]
        pid = self.ids.take("patients")
        registered = today - rng.randrange(HISTORY_DAYS + 1)
        age = 15 + int(rand() ** 2 * 30)  # most patients are teenagers and young adults
        born = registered - age * 365 - rng.randrange(365)
        category = _CGP if rand() < 0.55 else _CNGP
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        self.add("patients", (pid, doc, first, last, self.d(born), category, self.ts(registered),
                              doc, "P-" + _code(self.program_numbers(pid), 3)))
        self.add("category_changes", (self.ids.take("category_changes"), pid, category,
                                      self.d(registered), doc, self.ts(registered)))
        # Some patients are registered and wait for their enrollment visit.
        if rand() < 0.03 or (today - registered < 7 and rand() < 0.4):
            return
        enrolled = registered + rng.randrange(8)
        if enrolled > today:
            return
        ack = self.acknowledgment(pid, doc, category, enrolled, born, first, last)
        quantity = 30 if rand() < 0.6 else 60
        supply = 30 if rand() < 0.9 else 28
        if category == _CGP:
            self.cgp(pid, doc, home_ok, ack, enrolled, supply, quantity)
        else:
            self.cngp(pid, doc, ack, enrolled, supply, quantity)

    def acknowledgment(self, pid: int, doc: int, category: str, day: int, born: int,
                       first: str, last: str) -> int:
        aid = self.ids.take("acknowledgments")
        form = current_form(category)
        guardian = relationship = None
        if needs_guardian(self.date(born), self.date(day), self.policy(day)):
            guardian = f"{self.rng.choice(FIRST_NAMES)} {last}"
            relationship = self.rng.choice(GUARDIAN_RELATIONSHIPS)
        signature = f"{first} {last}"
        fields = SimpleNamespace(
            id=aid, patient_id=pid, category=category, form_code=form.code,
            form_version=form.version, signed_on=self.date(day), patient_signature=signature,
            guardian_signature=guardian, guardian_relationship=relationship,
            meaning=form.meaning, witness_id=doc, signed_at=self.moment(day))
        signed = sign(self.ctx.signature_keys, "acknowledgment",
                      acknowledgment_fields(fields))  # type: ignore[arg-type]
        self.add("acknowledgments", (aid, pid, category, form.code, form.version, self.d(day),
                                     signature, guardian, relationship, form.meaning, doc,
                                     self.ts(day), signed.hmac, signed.key_id))
        return aid

    def _setting(self, allowed: frozenset[TestSetting]) -> str:
        if TestSetting.LAB in allowed and self.rng.random() < 0.7:
            return TestSetting.LAB.value
        return self.rng.choice(sorted(s.value for s in allowed))

    def cgp(self, pid: int, doc: int, home_ok: bool, ack: int, enrolled: int, supply: int,
            quantity: int) -> None:
        """RULES.md §6: screening, the 30-day lead time, then a monthly cycle of counseling,
        contraception, comprehension and a negative test before each fill."""
        rng = self.rng
        rand = rng.random
        today = self.today
        screening_day = enrolled + rng.randrange(6)
        if screening_day > today:
            return
        policy = self.policy(screening_day)
        if rand() < 0.01:
            # A positive screening test: no treatment starts.
            self.test(pid, doc, screening_day, _POS, self._setting(
                policy.first_fill_screening_settings))
            return
        choice = (_COMMON_CONTRACEPTION[rng.randrange(3)] if rand() < 0.6
                  else _CONTRACEPTION[rng.randrange(len(_CONTRACEPTION))])
        started = screening_day - rng.randrange(21)
        setting = self._setting(policy.first_fill_screening_settings)
        # The negative tests since the last dispense, for the screening test the engine uses.
        negatives = [(screening_day, self.test(pid, doc, screening_day, _NEG, setting),
                      setting)]
        self.contraception(pid, doc, screening_day, started, choice)
        self.counseling(pid, doc, screening_day)
        visit = max(screening_day + policy.screening_gap_days,
                    started + policy.contraception_lead_days) + rng.randrange(7)
        months = rng.choice((3, 4, 5, 5, 6, 6, 6, 7, 8))
        first = True
        last_fill = 0
        for _ in range(months):
            if visit > today:
                if first and rand() < 0.25:
                    # Written at the screening visit, refused until the confirmation test.
                    self.prescription(pid, doc, screening_day,
                                      PrescriptionStatus.PENDING.value, supply, quantity)
                return
            if not first and rand() < 0.005:
                # A positive test during treatment: the patient stops at once; the prescription
                # written at the visit stays pending (refused), and the course is ended.
                self.test(pid, doc, visit, _POS, TestSetting.LAB.value)
                if rand() < 0.3:
                    self.prescription(pid, doc, visit, PrescriptionStatus.PENDING.value,
                                      supply, quantity)
                if visit < today:
                    self.course_end(pid, doc, visit)
                return
            policy = self.policy(visit)
            if first:
                allowed = policy.first_fill_confirmation_settings
            elif home_ok and policy.home_tests_on_later_fills and rand() < 0.3:
                allowed = policy.later_fill_settings | {TestSetting.HOME}
            else:
                allowed = policy.later_fill_settings
            setting = self._setting(allowed)
            counseled = self.counseling(pid, doc, visit)
            entry = self.contraception(pid, doc, visit, started, choice)
            confirmation = self.test(pid, doc, visit, _NEG, setting)
            negatives.append((visit, confirmation, setting))
            if rand() < 0.04:
                self.comprehension(pid, doc, visit, choice, passed=False)
            if visit > today - 7 and rand() < 0.1:
                # Refused today: the patient has not passed the questions yet.
                self.prescription(pid, doc, visit, PrescriptionStatus.PENDING.value, supply,
                                  quantity)
                return
            attempt = self.comprehension(pid, doc, visit, choice)
            rx = self.ids.take("prescriptions")
            issued = visit + (0 if rand() < 0.7 else 1)
            if issued > today:
                self.prescription(pid, doc, visit, PrescriptionStatus.PENDING.value, supply,
                                  quantity, rx)
                return
            policy = self.policy(issued)
            closes = visit + policy.test_window_days - 1
            used = [("acknowledgment", ack), ("counseling", counseled),
                    ("contraception", entry), ("comprehension", attempt),
                    ("pregnancy_test", confirmation)]
            if first:
                used.append(("pregnancy_test", self._screening(negatives, visit, policy)))
            if rand() < 0.03:
                # The patient did not pick the prescription up within its window.
                if closes >= today or rand() < 0.3:
                    # Still open (or open past its date, to lapse at the next authorization).
                    self.authorization(pid, doc, rx, issued, closes, policy.id, used,
                                       AuthorizationState.OPEN.value)
                    self.prescription(pid, doc, visit, PrescriptionStatus.DISPENSABLE.value,
                                      supply, quantity, rx)
                    return
                self.authorization(pid, doc, rx, issued, closes, policy.id, used,
                                   AuthorizationState.REVERSED.value,
                                   (self.ts(closes + 1, 17), doc,
                                    "not picked up within the window"))
                retest = closes + 1 + rng.randrange(5)
                if first and policy.lockout:
                    # RULES.md §6.8: a missed first window locks out until C0 + 19.
                    retest = max(retest, visit + policy.lockout_days + rng.randrange(3))
                if retest > today:
                    self.prescription(pid, doc, visit, PrescriptionStatus.PENDING.value,
                                      supply, quantity, rx)
                    return
                visit = issued = retest
                policy = self.policy(issued)
                setting = self._setting(policy.first_fill_confirmation_settings if first
                                        else policy.later_fill_settings)
                counseled = self.counseling(pid, doc, visit)
                entry = self.contraception(pid, doc, visit, started, choice)
                confirmation = self.test(pid, doc, visit, _NEG, setting)
                negatives.append((visit, confirmation, setting))
                attempt = self.comprehension(pid, doc, visit, choice)
                closes = visit + policy.test_window_days - 1
                used = [("acknowledgment", ack), ("counseling", counseled),
                        ("contraception", entry), ("comprehension", attempt),
                        ("pregnancy_test", confirmation)]
                if first:
                    used.append(("pregnancy_test", self._screening(negatives, visit, policy)))
            filled = issued + rng.randrange(min(4, closes - issued) + 1)
            if filled > today:
                self.authorization(pid, doc, rx, issued, closes, policy.id, used,
                                   AuthorizationState.OPEN.value)
                self.prescription(pid, doc, visit, PrescriptionStatus.DISPENSABLE.value, supply,
                                  quantity, rx)
                return
            self.dispensed(pid, doc, rx, visit, issued, closes, policy.id, used, filled, supply,
                           quantity)
            last_fill = filled
            first = False
            negatives = []
            visit = filled + 28 + rng.randrange(6)
        last_dose = last_fill + supply - 1
        if last_dose >= today:
            return
        self.course_end(pid, doc, last_dose)
        # RULES.md §10: the pregnancy test 30 days after the last dose.
        follow_up = last_dose + self.policy(last_dose).post_treatment_test_days + rng.randrange(5)
        if follow_up <= today:
            self.test(pid, doc, follow_up, _NEG, self._setting(
                self.policy(follow_up).later_fill_settings))

    def _screening(self, negatives: list[tuple[int, int, str]], confirmed: int,
                   policy: Policy) -> int:
        """RULES.md §6.6: the newest negative test at least the gap before the confirmation,
        done where a screening test may be (as the engine picks it)."""
        until = confirmed - policy.screening_gap_days
        allowed = {s.value for s in policy.first_fill_screening_settings}
        best = max((day, rid) for day, rid, setting in negatives
                   if day <= until and setting in allowed)
        return best[1]

    def cngp(self, pid: int, doc: int, ack: int, enrolled: int, supply: int,
             quantity: int) -> None:
        """RULES.md §7: a counseling visit before each monthly fill."""
        rng = self.rng
        today = self.today
        visit = enrolled + rng.randrange(4)
        months = rng.choice((3, 4, 5, 5, 6, 6, 6, 7, 8))
        last_fill = 0
        for _ in range(months):
            if visit > today:
                return
            counseled = self.counseling(pid, doc, visit)
            rx = self.ids.take("prescriptions")
            issued = visit + (0 if rng.random() < 0.7 else 1)
            if issued > today:
                self.prescription(pid, doc, visit, PrescriptionStatus.PENDING.value, supply,
                                  quantity, rx)
                return
            policy = self.policy(issued)
            closes = visit + policy.cngp_window_days - 1 if policy.cngp_window else None
            used = [("acknowledgment", ack), ("counseling", counseled)]
            filled = issued + rng.randrange(6)
            if filled > today:
                self.authorization(pid, doc, rx, issued, closes, policy.id, used,
                                   AuthorizationState.OPEN.value)
                self.prescription(pid, doc, visit, PrescriptionStatus.DISPENSABLE.value, supply,
                                  quantity, rx)
                return
            self.dispensed(pid, doc, rx, visit, issued, closes, policy.id, used, filled, supply,
                           quantity)
            last_fill = filled
            visit = filled + 28 + rng.randrange(6)
        last_dose = last_fill + supply - 1
        if last_dose < today:
            self.course_end(pid, doc, last_dose)

    # --- writing --------------------------------------------------------------------------------

    def write(self, writer: BulkWriter) -> None:
        """Write the rows laid out since the last call, parents first."""
        for name, rows in self.rows.items():
            if rows:
                writer.write(name, rows)
                self.counts[name] += len(rows)
                self.rows[name] = []


def _advance_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids written here, so the app's own inserts
    continue after them."""
    for name in TABLES:
        # The names come from the fixed TABLES list, never from input.
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608  # nosec B608
            f"GREATEST((SELECT max(id) FROM {name}), 1))"))


def _trust_keys(ctx: Context, conn: Connection) -> bool:
    """PostgreSQL: skip the per-row foreign-key triggers for the rest of the transaction, as a
    restore does. Only a superuser may; anyone else loads with every key checked."""
    try:
        with ctx.session.begin_nested():
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except DBAPIError:
        return False
    return True


def generate_patients(ctx: Context, patients: int, seed: int = 2026,
                      progress: Callable[[int], None] | None = None,
                      batch: int = BATCH_PATIENTS, trust_keys: bool = False) -> Generated:
    """Write `patients` generated patients (and the prescribers and pharmacies they need) in
    the caller's transaction, then one `demo.generated` audit event. `progress` is called with
    the number of patients written after each batch.

    `trust_keys` (PostgreSQL, superuser only): load without the per-row foreign-key checks,
    which otherwise take most of the server's time. The generator assigns every key itself
    from rows it has just written or read; the tests load with the checks on to prove it."""
    if patients < 0:
        raise ValueError("the number of patients cannot be negative")
    conn = ctx.session.connection()
    if conn.dialect.name == "sqlite":
        # A bigger page cache for this connection while the indexes grow (1 GiB at most).
        conn.exec_driver_sql("PRAGMA cache_size = -1048576")
    trusted = conn.dialect.name == "postgresql" and trust_keys and _trust_keys(ctx, conn)
    gen = _Generator(ctx, conn, seed)
    writer = BulkWriter(conn, COLUMNS, TABLES)
    report = Generated(seed=seed, patients=patients)
    report.prescribers, report.pharmacies, report.pharmacists = gen.load_people(conn, patients)
    if patients and not gen.pharmacies:
        raise ValueError("no active pharmacy with staff to dispense")
    done = 0
    while done < patients:
        size = min(batch, patients - done)
        for _ in range(size):
            gen.patient()
        gen.write(writer)
        done += size
        if progress is not None:
            progress(size)
    gen.write(writer)  # the people of a generation of zero patients
    if trusted:
        conn.exec_driver_sql("SET LOCAL session_replication_role = origin")
    if conn.dialect.name == "postgresql":
        _advance_sequences(conn)
    report.rows = {name: count for name, count in gen.counts.items() if count}
    first_ids = {name: gen.ids.first[name] for name in report.rows}
    record_event(ctx, "demo.generated", "database", None, new={
        "patients": patients, "seed": seed, "prescribers": report.prescribers,
        "pharmacies": report.pharmacies, "pharmacists": report.pharmacists,
        "rows": report.rows, "first_ids": first_ids, "program_date": ctx.today(),
    }, reason="generated demonstration data, written in bulk")
    return report


def summary(report: Generated) -> Sequence[str]:
    """Lines for the person at the terminal."""
    lines = [f"generated {report.patients:,} patients (seed {report.seed}), "
             f"{report.total_rows:,} rows; new prescribers {report.prescribers:,}, "
             f"pharmacies {report.pharmacies:,}, pharmacy staff {report.pharmacists:,}"]
    lines.extend(f"  {name:<24} {count:>12,}" for name, count in report.rows.items())
    return lines
