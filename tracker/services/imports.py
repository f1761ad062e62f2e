"""Importing patients already in treatment, with their history (API.md `tracker import`).

All or nothing: every line is validated first (tracker.services.import_lines; for a large file
in several worker processes, the checks being pure), and nothing is written unless every line
passes. Then the rows are written with bulk inserts, a batch of patients at a time: all in the
caller's transaction (`import_file`, the admin page), or each batch in its own transaction
(`start_import`, `prepare_batch`, `write_batch`: the command line, so that the database serves
others between batches). A batch that fails then leaves the earlier ones written; importing the
same file again finishes the job, since patients already imported for the prescriber under the
same `external_id` are left as they are and reported with their ids.

How the imported rows are filled in (what the source system could not give):
- every row is recorded by the prescriber, at the import's time (`recorded_at`, `changed_at`,
  `created_at`, `signed_at`): a record of an imported patient recorded at or before the
  import's time came from the import. `imports` keeps the file's name and SHA-256 and who ran
  it; `imported_patients` links each patient to it under their external id.
- an acknowledgment was signed outside the tracker: its form code and version are `imported`,
  its meaning says so, and the prescriber stands as witness. It is e-signed like any other.
- each authorization is the one the rules engine issues on `authorized_on` under that day's
  rule set (its do-not-dispense-after date and the records it used); it and its prescription
  get new random numbers. A dispense happened at the pharmacy named by its NCPDP id, recorded
  by the prescriber (the pharmacist is not known); the Medication Guide is taken as given.
- the audit trail gets one `patient.imported` event per patient, naming the import."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.engine import Connection

from tracker.domain.facts import PrescriptionStatus, RecordKind
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
    ImportedPatient,
    Patient,
    PatientImport,
    Pharmacy,
    PregnancyTest,
    Prescription,
    Role,
    User,
)
from tracker.services.audit import PendingEvent, record_events
from tracker.services.authorizations import authorization_fields, new_authorization_number
from tracker.services.bulk_writer import BulkWriter
from tracker.services.codes import new_program_number
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound
from tracker.services.import_lines import (
    History,
    LineContext,
    Problem,
    external_id_of,
    parse_line,
    read_line,
    registered_on,
)
from tracker.services.patients import acknowledgment_fields
from tracker.services.prescriptions import new_prescription_number
from tracker.services.signatures import sign

# Patients a batch: small enough that its write transaction holds SQLite's write lock well
# within the app's busy timeout (30 s) even on a crowded machine, as API reads that record
# something (a lookup's token use, its audit event) wait for it.
BATCH_PATIENTS = 250
IMPORTED = "imported"
IMPORTED_MEANING = ("Signed outside the tracker (on paper or in the system the patient's "
                    "history was imported from); imported, not witnessed here")
FILE_NAME_MAX = 255


@dataclass(frozen=True)
class ImportedId:
    """What the import prints for each patient (API.md)."""

    external_id: str
    patient_id: int | None  # None: a dry run's new patient, not written
    program_number: str | None

    def line(self) -> str:
        return json.dumps({"external_id": self.external_id, "patient_id": self.patient_id,
                           "program_number": self.program_number})


@dataclass
class ImportReport:
    """The outcome: `problems` (one message per problem, nothing written) or the ids of every
    patient of the file, in its order; `new` counts the patients this run wrote."""

    file_name: str
    sha256: str
    lines: int
    problems: list[str]
    ids: list[ImportedId]
    new: int = 0
    import_id: int | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def importing_prescriber(ctx: Context, email: str) -> User:
    """The prescriber the patients are imported for: an active prescriber. Admins (the web
    page) and the command line (no user) import; a prescriber imports only for themself."""
    if ctx.actor.role not in (None, Role.ADMIN) and ctx.actor.role != Role.PRESCRIBER:
        raise Forbidden("Only administrators import patients.")
    user = ctx.session.scalar(select(User).where(func.lower(User.email) ==
                                                 (email or "").strip().lower()))
    if user is None or user.role != Role.PRESCRIBER:
        raise NotFound(f"no prescriber with email {email!r}")
    if ctx.actor.role == Role.PRESCRIBER and ctx.actor.user_id != user.id:
        raise Forbidden("A prescriber imports only their own patients.")
    if not user.active:
        raise NotFound(f"the prescriber {email!r} is not active")
    return user


def _lines(data: bytes) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(data.decode("utf-8").splitlines(), 1):
        if raw.strip():
            yield number, raw


@dataclass
class _Checked:
    """The file's lines checked: the histories to write, the external ids already imported
    (in the file's order, with the new ones), the problems."""

    histories: list[History]
    order: list[str]
    existing: dict[str, ImportedId]
    problems: list[str]


# Lines checked by each task of a worker process: large enough that sending the lines and
# their histories between processes costs little next to checking them.
CHUNK_LINES = 250
# Below this many lines to check, starting worker processes costs more than it saves.
PARALLEL_FROM_LINES = 2000


def validate(ctx: Context, prescriber: User, data: bytes,
             progress: Callable[[int], None] | None = None, workers: int = 1) -> _Checked:
    """Every line of the file checked, but those already imported for the prescriber (found
    by external id: importing them again changes nothing). With `workers` > 1 and a large
    file, the lines are checked by that many processes side by side (the checks are pure:
    the rules engine and the entry checks, with the reference data read here once)."""
    checked = _Checked([], [], {}, [])
    try:
        raw_lines = list(_lines(data))
    except UnicodeDecodeError:
        checked.problems.append("line 1: file: The file must be UTF-8 text (JSON Lines).")
        return checked
    # Each line's external id (None: none given) or why it is not a JSON object; the parsed
    # objects are not kept (a large file's would not fit in memory twice).
    lines: list[tuple[int, str, str | None | list[Problem]]] = []
    for number, raw in raw_lines:
        read = read_line(raw)
        lines.append((number, raw, external_id_of(read) if isinstance(read, dict) else read))
    del raw_lines
    if not lines:
        checked.problems.append("line 1: file: The file holds no patient.")
    ids = [line for _, _, line in lines if isinstance(line, str)]
    checked.existing = _already_imported(ctx, prescriber, [i for i in ids if i])
    line_ctx = line_context(ctx, prescriber)
    seen: dict[str, int] = {}
    # Each line in the file's order: a problem found here, an external id already imported,
    # or a line to check (its raw text).
    todo: list[tuple[int, str]] = []
    outcome: dict[int, list[str] | str] = {}
    for number, raw, line in lines:
        external_id = line if isinstance(line, str) else None
        if external_id and external_id in seen:
            outcome[number] = [f"line {number}: external_id: The external id "
                               f"{external_id!r} is already on line {seen[external_id]}."]
            continue
        if external_id:
            seen[external_id] = number
        if external_id is not None and external_id in checked.existing:
            outcome[number] = external_id
        elif isinstance(line, list):
            outcome[number] = [f"line {number}: {path}: {why}" for path, why in line]
        else:
            todo.append((number, raw))
    if progress is not None and len(lines) > len(todo):
        progress(len(lines) - len(todo))
    parsed = dict(_check_lines(todo, line_ctx, progress, workers))
    for number, _, _ in lines:
        found = outcome.get(number)
        result = parsed.get(number)
        if isinstance(found, list):
            checked.problems.extend(found)
        elif isinstance(found, str):
            checked.order.append(found)
        elif isinstance(result, History):
            checked.histories.append(result)
            checked.order.append(result.external_id)
        elif result is not None:
            checked.problems.extend(f"line {number}: {path}: {why}" for path, why in result)
    return checked


def line_context(ctx: Context, prescriber: User) -> LineContext:
    """The reference data every line is checked against, read once: the rule sets, today,
    the prescriber's home-testing permission and the pharmacies by NCPDP id."""
    pharmacies = {ncpdp: pid for ncpdp, pid in
                  ctx.session.execute(select(Pharmacy.ncpdp_id, Pharmacy.id))}
    return LineContext(today=ctx.today(), rule_sets=ctx.rule_sets,
                       home_testing_permitted=prescriber.home_testing_permitted,
                       pharmacies=pharmacies)


def _check_lines(todo: list[tuple[int, str]], line_ctx: LineContext,
                 progress: Callable[[int], None] | None,
                 workers: int) -> Iterator[tuple[int, History | list[Problem]]]:
    chunks = [todo[start:start + CHUNK_LINES] for start in range(0, len(todo), CHUNK_LINES)]
    if workers <= 1 or len(todo) < PARALLEL_FROM_LINES:
        for chunk in chunks:
            yield from check_chunk(chunk, line_ctx)
            if progress is not None:
                progress(len(chunk))
        return
    # "spawn": a fresh interpreter per worker, never a copy of this process with its open
    # database connections and the locks other threads (a served app) may hold.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_start_worker, initargs=(line_ctx,)) as pool:
        for chunk, results in zip(chunks, pool.map(_check_in_worker, chunks), strict=True):
            yield from results
            if progress is not None:
                progress(len(chunk))


def check_chunk(chunk: list[tuple[int, str]],
                line_ctx: LineContext) -> list[tuple[int, History | list[Problem]]]:
    """Lines (number, raw text) checked; pure, so it runs as well in a worker process."""
    results: list[tuple[int, History | list[Problem]]] = []
    for number, raw in chunk:
        line = read_line(raw)
        result = parse_line(number, line, line_ctx) if isinstance(line, dict) else line
        if isinstance(result, History):
            result.facts_cache = None  # rebuilt on demand; not worth sending back
        results.append((number, result))
    return results


_worker_context: LineContext | None = None


def _start_worker(line_ctx: LineContext) -> None:
    global _worker_context  # noqa: PLW0603 - one value per worker process, set once
    _worker_context = line_ctx


def _check_in_worker(chunk: list[tuple[int, str]]) -> list[tuple[int, History | list[Problem]]]:
    if _worker_context is None:  # set by the pool's initializer
        raise RuntimeError("the worker was started without the lines' context")
    return check_chunk(chunk, _worker_context)


def _already_imported(ctx: Context, prescriber: User,
                      external_ids: list[str]) -> dict[str, ImportedId]:
    found: dict[str, ImportedId] = {}
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start:start + 500]
        for external_id, patient_id, number in ctx.session.execute(
            select(ImportedPatient.external_id, Patient.id, Patient.program_number)
            .join(Patient, Patient.id == ImportedPatient.patient_id)
            .where(ImportedPatient.prescriber_id == prescriber.id,
                   ImportedPatient.external_id.in_(chunk))
        ):
            found[external_id] = ImportedId(external_id, patient_id, number)
    return found


@dataclass(frozen=True)
class _Run:
    """The import run's row, as the batches need it (across transactions)."""

    id: int
    file_name: str
    sha256: str
    ran_at: datetime
    prescriber_id: int


@dataclass
class PreparedBatch:
    """A batch's rows as the driver takes them, with their audit events and ids."""

    batch: list[History]
    counts: dict[str, int]
    bases: dict[str, int] | None  # SQLite: the first id taken in each table
    columns: dict[str, tuple[str, ...]]
    rows: dict[str, list[tuple[Any, ...]]]
    events: list[PendingEvent]
    done: dict[str, ImportedId]


@dataclass
class ImportPlan:
    """A file checked: its report (problems, or the lines' count) and the new patients to
    write, in batches (`write_batch`), each batch in a transaction of its own or all in one."""

    prescriber_email: str
    report: ImportReport
    checked: _Checked
    written: dict[str, ImportedId] = field(default_factory=dict)
    run: _Run | None = None

    @property
    def fresh(self) -> list[History]:
        return self.checked.histories

    def batches(self, size: int = BATCH_PATIENTS) -> list[list[History]]:
        return [self.fresh[start:start + size] for start in range(0, len(self.fresh), size)]

    def finish(self) -> ImportReport:
        """The report's ids, in the file's order, once every batch is written (or for a dry
        run: the new patients without ids)."""
        report = self.report
        report.ids = [self.checked.existing.get(external_id) or self.written.get(external_id)
                      or ImportedId(external_id, None, None)
                      for external_id in self.checked.order]
        return report


def check_file(ctx: Context, prescriber_email: str, file_name: str, data: bytes, *,
               dry_run: bool = False, progress: Callable[[int], None] | None = None,
               workers: int = 1) -> ImportPlan:
    """Validate the whole file (nothing is written): the plan of the import."""
    prescriber = importing_prescriber(ctx, prescriber_email)
    name = (file_name or "import.jsonl").replace("\\", "/").rsplit("/", 1)[-1][:FILE_NAME_MAX]
    report = ImportReport(name, file_digest(data), 0, [], [], dry_run=dry_run)
    checked = validate(ctx, prescriber, data, progress, workers)
    report.problems = checked.problems
    report.lines = len(checked.order)
    report.new = 0 if report.problems else len(checked.histories)
    return ImportPlan(prescriber_email, report, checked)


def start_import(ctx: Context, plan: ImportPlan) -> None:
    """Record the import run (file, hash, who, when) in the caller's transaction, before its
    first batch; each written batch adds its patients to the run's count, so that a run
    stopped by a failed batch counts what it wrote."""
    prescriber = importing_prescriber(ctx, plan.prescriber_email)
    report = plan.report
    run = PatientImport(file_name=report.file_name, sha256=report.sha256,
                        prescriber_id=prescriber.id, ran_by=ctx.actor.user_id,
                        ran_by_name=ctx.actor.name or "tracker-cli", ran_at=ctx.now(),
                        patients=0)
    ctx.session.add(run)
    ctx.session.flush()
    report.import_id = run.id
    plan.run = _Run(run.id, run.file_name, run.sha256, run.ran_at, prescriber.id)


def prepare_batch(ctx: Context, plan: ImportPlan, batch: list[History]) -> PreparedBatch:
    """A batch's rows, e-signatures and audit events, built before its write transaction so
    that the write holds the database (SQLite's write lock) only while inserting. Reads only
    (on PostgreSQL it takes the rows' ids from the sequences)."""
    if plan.run is None:
        raise RuntimeError("start_import() comes before the batches")
    return _Writer(ctx, plan.run).prepare(batch)


def write_batch(ctx: Context, plan: ImportPlan, prepared: PreparedBatch) -> None:
    """Insert a prepared batch in the caller's transaction. On SQLite its ids were taken as
    those after the largest when it was prepared: if someone else inserted rows since, the
    batch is prepared again here, under the write lock."""
    if plan.run is None:
        raise RuntimeError("start_import() comes before the batches")
    importing_prescriber(ctx, plan.prescriber_email)  # still there and active
    writer = _Writer(ctx, plan.run)
    if prepared.bases is not None and writer.bases(prepared.counts) != prepared.bases:
        prepared = writer.prepare(prepared.batch)
    writer.insert(prepared)
    record_events(ctx, prepared.events)
    ctx.session.execute(update(PatientImport).where(PatientImport.id == plan.run.id)
                        .values(patients=PatientImport.patients + len(prepared.batch)))
    plan.written.update(prepared.done)


def import_file(ctx: Context, prescriber_email: str, file_name: str, data: bytes, *,
                dry_run: bool = False,
                progress: Callable[[int], None] | None = None) -> ImportReport:
    """Validate the whole file; unless `dry_run` or a problem was found, write the new
    patients (bulk, in batches) and one audit event each, all in the caller's transaction.
    `progress` is called with the number of lines handled (validation) and then patients
    written."""
    plan = check_file(ctx, prescriber_email, file_name, data, dry_run=dry_run,
                      progress=progress)
    if plan.report.problems:
        return plan.report
    if not dry_run and plan.fresh:
        start_import(ctx, plan)
        for batch in plan.batches():
            write_batch(ctx, plan, prepare_batch(ctx, plan, batch))
            if progress is not None:
                progress(len(batch))
    return plan.finish()


# --- writing ------------------------------------------------------------------------------------

_TABLES: dict[str, Table] = {
    name: model.__table__  # type: ignore[misc]
    for name, model in (
        ("patients", Patient), ("imported_patients", ImportedPatient),
        ("category_changes", CategoryChange), ("acknowledgments", Acknowledgment),
        ("counseling", Counseling), ("pregnancy_tests", PregnancyTest),
        ("contraception", ContraceptionEntry), ("comprehension_attempts", ComprehensionAttempt),
        ("prescriptions", Prescription), ("authorizations", Authorization),
        ("dispenses", Dispense), ("course_ends", CourseEnd),
    )
}
# The engine's record kinds (in a decision's `used`) and the tables that hold them.
_KIND_TABLES = {
    RecordKind.ACKNOWLEDGMENT: "acknowledgments", RecordKind.COUNSELING: "counseling",
    RecordKind.PREGNANCY_TEST: "pregnancy_tests", RecordKind.CONTRACEPTION: "contraception",
    RecordKind.COMPREHENSION: "comprehension_attempts", RecordKind.COURSE_END: "course_ends",
    RecordKind.PRESCRIPTION: "prescriptions", RecordKind.DISPENSE: "dispenses",
    RecordKind.AUTHORIZATION: "authorizations", RecordKind.CATEGORY_CHANGE: "category_changes",
}


def _next_id(conn: Connection, name: str) -> int:
    """SQLite: the id after the largest of a table."""
    return (conn.execute(select(func.max(_TABLES[name].c.id))).scalar() or 0) + 1


def _reserve_ids(conn: Connection, name: str, count: int, base: int | None) -> Iterator[int]:
    """`count` new ids of a table. PostgreSQL: taken from its sequence, so the app's own inserts
    running meanwhile never collide. SQLite: from `base`, the id after the largest; the batch
    checks under the write lock that it still is (writers take turns)."""
    if count == 0:
        return iter(())
    if base is None:
        # The table name comes from the fixed _TABLES mapping, never from input.
        return iter(conn.execute(text(
            f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) "  # noqa: S608  # nosec B608
            "FROM generate_series(1, :n)"), {"n": count}).scalars().all())
    return iter(range(base, base + count))


class _Writer:
    """Builds batches of validated histories as rows of every table, and inserts them parents
    first."""

    def __init__(self, ctx: Context, run: _Run) -> None:
        self.ctx = ctx
        self.conn = ctx.session.connection()
        self.doc = run.prescriber_id
        self.run = run
        self.at = run.ran_at
        self.zone = ZoneInfo(ctx.program_timezone)
        self.today = ctx.today()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.columns: dict[str, tuple[str, ...]] = {}
        self.stored: dict[Any, Any] = {}
        self.moments: dict[date, datetime] = {}

    def bases(self, counts: dict[str, int]) -> dict[str, int] | None:
        if not self.sqlite:
            return None
        return {name: _next_id(self.conn, name) for name, n in counts.items() if n}

    def values(self, name: str, row: dict[str, Any]) -> tuple[Any, ...]:
        """A row as the driver takes it, in the order of its table's columns (those given by
        the first row of the table)."""
        columns = self.columns.setdefault(name, tuple(row))
        plain, stored = _PLAIN, self.stored
        values = []
        for column in columns:
            value = row[column]
            if type(value) not in plain:
                # Dates, times and enumerations repeat across a batch (the import's time, the
                # fills' days): each is converted once.
                if value not in stored:
                    stored[value] = _db_value(value, self.sqlite)
                value = stored[value]
            values.append(value)
        return tuple(values)

    def moment(self, day: date) -> datetime:
        """Noon on a program date, in UTC: the time of a past event known only by its date."""
        found = self.moments.get(day)
        if found is None:
            found = self.moments[day] = datetime.combine(day, time(12), self.zone).astimezone(UTC)
        return found

    def prepare(self, batch: list[History]) -> PreparedBatch:
        counts = {name: 0 for name in _TABLES}
        for h in batch:
            for name, n in _row_counts(h).items():
                counts[name] += n
        bases = self.bases(counts)
        ids = {name: _reserve_ids(self.conn, name, n, bases.get(name) if bases else None)
               for name, n in counts.items()}
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
        events: list[PendingEvent] = []
        done: dict[str, ImportedId] = {}
        for h in batch:
            imported = self._patient(h, ids, rows)
            done[h.external_id] = imported
            events.append(PendingEvent(
                "patient.imported", "patient", imported.patient_id,
                patient_id=imported.patient_id,
                new={"import_id": self.run.id, "file_name": self.run.file_name,
                     "sha256": self.run.sha256, "external_id": h.external_id,
                     "program_number": imported.program_number,
                     "records": {name: n for name, n in _row_counts(h).items() if n}},
                reason=f"imported from {self.run.file_name}"))
        values = {name: [self.values(name, row) for row in rows[name]] for name in _TABLES}
        return PreparedBatch(batch, counts, bases, self.columns, values, events, done)

    def insert(self, prepared: PreparedBatch) -> None:
        bulk = BulkWriter(self.conn, prepared.columns, _TABLES)
        for name in _TABLES:
            bulk.write(name, prepared.rows[name])

    def _patient(self, h: History, ids: dict[str, Iterator[int]],
                 rows: dict[str, list[dict[str, Any]]]) -> ImportedId:
        doc, at = self.doc, self.at
        pid = next(ids["patients"])
        number = new_program_number()
        rows["patients"].append(dict(
            id=pid, prescriber_id=doc, first_name=h.first_name, last_name=h.last_name,
            date_of_birth=h.date_of_birth, category=h.category, created_at=at, created_by=doc,
            program_number=number))
        rows["imported_patients"].append(dict(
            id=next(ids["imported_patients"]), import_id=self.run.id, patient_id=pid,
            prescriber_id=doc, external_id=h.external_id))
        changes = h.category_changes or [(registered_on(h, self.today), h.category)]
        for on, category in changes:
            rows["category_changes"].append(dict(
                id=next(ids["category_changes"]), patient_id=pid, category=category,
                changed_on=on, changed_by=doc, changed_at=at,
                reason=f"imported from {self.run.file_name}"))
        local: dict[str, list[int]] = {name: [] for name in _TABLES}
        for on, category, signature, guardian, relationship in h.acknowledgments:
            aid = next(ids["acknowledgments"])
            local["acknowledgments"].append(aid)
            fields = SimpleNamespace(
                id=aid, patient_id=pid, category=category, form_code=IMPORTED,
                form_version=IMPORTED, signed_on=on, patient_signature=signature,
                guardian_signature=guardian, guardian_relationship=relationship,
                meaning=IMPORTED_MEANING, witness_id=doc, signed_at=at)
            key_id, mac = sign(self.ctx.signature_keys, "acknowledgment",
                               acknowledgment_fields(fields))  # type: ignore[arg-type]
            rows["acknowledgments"].append(dict(vars(fields), signature_hmac=mac,
                                                signature_key_id=key_id))
        record = dict(patient_id=pid, recorded_by=doc, recorded_at=at, superseded=False)
        for on in h.counseling:
            rid = next(ids["counseling"])
            local["counseling"].append(rid)
            rows["counseling"].append(dict(record, id=rid, counseled_on=on))
        for on, result, setting in h.pregnancy_tests:
            rid = next(ids["pregnancy_tests"])
            local["pregnancy_tests"].append(rid)
            rows["pregnancy_tests"].append(dict(record, id=rid, collected_on=on, result=result,
                                                setting=setting, registry_reported_at=None,
                                                registry_reported_by=None))
        for on, started, methods, abstinence in h.contraception:
            rid = next(ids["contraception"])
            local["contraception"].append(rid)
            rows["contraception"].append(dict(record, id=rid, recorded_on=on,
                                              started_on=started, methods=methods,
                                              abstinence=abstinence))
        for on, answers, passed, wrong, methods, abstinence in h.comprehension:
            rid = next(ids["comprehension_attempts"])
            local["comprehension_attempts"].append(rid)
            rows["comprehension_attempts"].append(dict(
                record, id=rid, completed_on=on, answers=answers, passed=passed, wrong=wrong,
                methods=methods, abstinence=abstinence))
        if h.course_end is not None:
            rid = next(ids["course_ends"])
            local["course_ends"].append(rid)
            rows["course_ends"].append(dict(id=rid, patient_id=pid, last_dose_on=h.course_end,
                                            recorded_by=doc, recorded_at=at))
        self._fills(h, pid, ids, rows, local)
        return ImportedId(h.external_id, pid, number)

    def _fills(self, h: History, pid: int, ids: dict[str, Iterator[int]],
               rows: dict[str, list[dict[str, Any]]], local: dict[str, list[int]]) -> None:
        doc, at = self.doc, self.at
        for fill in h.fills:
            rx = next(ids["prescriptions"])
            local["prescriptions"].append(rx)
            dispensed = fill.dispensed_on is not None
            rows["prescriptions"].append(dict(
                id=rx, number=new_prescription_number(), patient_id=pid, prescriber_id=doc,
                written_on=fill.written_on, days_supply=fill.days_supply,
                quantity=fill.quantity, refills=0,
                status=PrescriptionStatus.DISPENSED if dispensed
                else PrescriptionStatus.DISPENSABLE, created_at=at))
            aid = next(ids["authorizations"])
            used = [[kind.value, local[_KIND_TABLES[kind]][record - 1]]
                    for kind, record in fill.used]
            fields = SimpleNamespace(
                id=aid, number=new_authorization_number(), prescription_id=rx, patient_id=pid,
                issued_on=fill.authorized_on, issued_at=self.moment(fill.authorized_on),
                issued_by=doc, do_not_dispense_after=fill.do_not_dispense_after,
                rule_set=fill.rule_set)
            key_id, mac = sign(self.ctx.signature_keys, "authorization",
                               authorization_fields(fields))  # type: ignore[arg-type]
            when = self.moment(fill.dispensed_on) if fill.dispensed_on is not None else None
            rows["authorizations"].append(dict(
                vars(fields), state=AuthorizationState.DISPENSED if dispensed
                else AuthorizationState.OPEN, decision_used=json.dumps(used),
                signature_hmac=mac, signature_key_id=key_id, closed_at=when,
                closed_by=doc if dispensed else None, close_reason=None))
            if fill.dispensed_on is not None:
                did = next(ids["dispenses"])
                local["dispenses"].append(did)
                rows["dispenses"].append(dict(
                    id=did, prescription_id=rx, authorization_id=aid, patient_id=pid,
                    pharmacy_id=fill.pharmacy_id, pharmacist_id=doc, dispensed_at=when,
                    dispensed_on=fill.dispensed_on, quantity=fill.quantity,
                    days_supply=fill.days_supply, medication_guide_given=True))


def _db_value(value: Any, sqlite: bool) -> Any:
    """A value as the driver stores it through the models' types: enumerations as their
    value; on SQLite, dates as ISO text and times as naive UTC text (tracker.db)."""
    kind = type(value)
    if kind in _PLAIN:  # most values: checked by exact type, the fastest test there is
        return value
    if sqlite:
        if kind is date:
            return value.isoformat()
        if kind is datetime:
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(
                sep=" ", timespec="microseconds")
    if isinstance(value, StrEnum):
        return value.value
    return value


_PLAIN = frozenset({str, int, bool, type(None)})


def _row_counts(h: History) -> dict[str, int]:
    dispensed = sum(1 for fill in h.fills if fill.dispensed_on is not None)
    return {
        "patients": 1, "imported_patients": 1,
        "category_changes": len(h.category_changes) or 1,
        "acknowledgments": len(h.acknowledgments), "counseling": len(h.counseling),
        "pregnancy_tests": len(h.pregnancy_tests), "contraception": len(h.contraception),
        "comprehension_attempts": len(h.comprehension), "prescriptions": len(h.fills),
        "authorizations": len(h.fills), "dispenses": dispensed,
        "course_ends": 1 if h.course_end is not None else 0,
    }


def import_of(ctx: Context, patient_id: int) -> PatientImport | None:
    """The import a patient came from, if any (the patient page says so)."""
    return ctx.session.scalar(
        select(PatientImport).join(ImportedPatient, ImportedPatient.import_id == PatientImport.id)
        .where(ImportedPatient.patient_id == patient_id))
