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
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from sqlalchemy import func, select, update

from tracker.models import ImportedPatient, Patient, PatientImport, Pharmacy, Role, User
from tracker.services.audit import record_events
from tracker.services.context import Context
from tracker.services.errors import Forbidden, NotFound
from tracker.services.import_lines import (
    History,
    LineContext,
    Problem,
    external_id_of,
    parse_line,
    read_line,
)
from tracker.services.import_rows import (
    BatchIds,
    BuildSettings,
    ImportedId,
    PreparedBatch,
    RowBuilder,
    Run,
    batch_counts,
    ids_still_free,
    insert_rows,
    reserve_ids,
)

# Patients a batch: small enough that its write transaction holds SQLite's write lock well
# within the app's busy timeout (30 s) even on a crowded machine, as API reads that record
# something (a lookup's token use, its audit event) wait for it.
BATCH_PATIENTS = 250
FILE_NAME_MAX = 255


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


@dataclass
class ImportPlan:
    """A file checked: its report (problems, or the lines' count) and the new patients to
    write, in batches (`write_batch`), each batch in a transaction of its own or all in one."""

    prescriber_email: str
    report: ImportReport
    checked: _Checked
    written: dict[str, ImportedId] = field(default_factory=dict)
    run: Run | None = None

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
    plan.run = Run(run.id, run.file_name, run.sha256, run.ran_at, prescriber.id)


def build_settings(ctx: Context, plan: ImportPlan) -> BuildSettings:
    """What building the plan's rows needs, for worker processes (after start_import)."""
    if plan.run is None:
        raise RuntimeError("start_import() comes before the batches")
    return BuildSettings(plan.run, ctx.signature_keys.current_id, ctx.signature_keys.current,
                         ctx.program_timezone, ctx.today(),
                         ctx.session.connection().dialect.name == "sqlite")


def reserve_batch_ids(ctx: Context, batch: list[History],
                      after: BatchIds | None = None) -> BatchIds:
    """The ids a batch's rows will take (import_rows.reserve_ids): reads only, on PostgreSQL
    it takes them from the sequences."""
    return reserve_ids(ctx.session.connection(), batch_counts(batch), after)


def prepare_batch(ctx: Context, plan: ImportPlan, batch: list[History]) -> PreparedBatch:
    """A batch's rows, e-signatures and audit events, built before its write transaction so
    that the write holds the database (SQLite's write lock) only while inserting. Reads only
    (on PostgreSQL it takes the rows' ids from the sequences)."""
    return RowBuilder(build_settings(ctx, plan)).build(batch, reserve_batch_ids(ctx, batch))


def write_batch(ctx: Context, plan: ImportPlan, prepared: PreparedBatch) -> None:
    """Insert a prepared batch in the caller's transaction. On SQLite its ids were chosen
    when it was prepared: if others took them since, the batch is prepared again here, under
    the write lock, with the ids after the largest."""
    if plan.run is None:
        raise RuntimeError("start_import() comes before the batches")
    importing_prescriber(ctx, plan.prescriber_email)  # still there and active
    conn = ctx.session.connection()
    if not ids_still_free(conn, prepared.ids):
        prepared = prepare_batch(ctx, plan, prepared.batch)
    insert_rows(conn, prepared)
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


def import_of(ctx: Context, patient_id: int) -> PatientImport | None:
    """The import a patient came from, if any (the patient page says so)."""
    return ctx.session.scalar(
        select(PatientImport).join(ImportedPatient, ImportedPatient.import_id == PatientImport.id)
        .where(ImportedPatient.patient_id == patient_id))
