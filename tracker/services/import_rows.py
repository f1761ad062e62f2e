"""The rows of imported patients (tracker.services.imports): each validated history as rows of
every table, with new ids, random numbers, e-signatures and its audit event, built a batch at a
time, and inserted in bulk.

Building a batch reads nothing from the database: its ids are taken first (`reserve_ids`), so
that the rows of a large import can be built in worker processes while the command writes the
batches before them (`built_in_workers`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from multiprocessing import get_context
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection

from tracker.domain.facts import PrescriptionStatus, RecordKind
from tracker.keyring import Keyring
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
    PregnancyTest,
    Prescription,
)
from tracker.services.audit import PendingEvent
from tracker.services.authorizations import authorization_fields, new_authorization_number
from tracker.services.bulk_writer import BulkWriter
from tracker.services.codes import new_program_number
from tracker.services.import_lines import History, registered_on
from tracker.services.patients import acknowledgment_fields
from tracker.services.prescriptions import new_prescription_number
from tracker.services.signatures import sign

IMPORTED = "imported"
IMPORTED_MEANING = ("Signed outside the tracker (on paper or in the system the patient's "
                    "history was imported from); imported, not witnessed here")
# SQLite gives a new row the id after the largest. A batch built ahead of its write takes its
# ids this far after those of the batch before it, leaving room for the rows the app inserts
# between the two writes (a prescriber's counseling, a patient registered by hand); a batch
# whose ids were taken meanwhile all the same is built again under the write lock.
ROOM_BETWEEN_BATCHES = 200

TABLES: dict[str, Table] = {
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


@dataclass(frozen=True)
class ImportedId:
    """What the import prints for each patient (API.md)."""

    external_id: str
    patient_id: int | None  # None: a dry run's new patient, not written
    program_number: str | None

    def line(self) -> str:
        return json.dumps({"external_id": self.external_id, "patient_id": self.patient_id,
                           "program_number": self.program_number})


@dataclass(frozen=True)
class Run:
    """The import run's row, as the batches need it (across transactions and processes)."""

    id: int
    file_name: str
    sha256: str
    ran_at: datetime
    prescriber_id: int


@dataclass(frozen=True)
class BatchIds:
    """The ids a batch's rows take, table by table: from each table's sequence (PostgreSQL), or
    `counts[name]` ids from `bases[name]` on (SQLite)."""

    counts: dict[str, int]
    bases: dict[str, int] | None
    taken: dict[str, list[int]] | None

    def of(self, name: str) -> Iterator[int]:
        if self.taken is not None:
            return iter(self.taken[name])
        assert self.bases is not None  # one of the two is given  # nosec B101
        return iter(range(self.bases[name], self.bases[name] + self.counts[name]))


@dataclass
class PreparedBatch:
    """A batch's rows as the driver takes them, with their audit events and ids."""

    batch: list[History]
    ids: BatchIds
    columns: dict[str, tuple[str, ...]]
    rows: dict[str, list[tuple[Any, ...]]]
    events: list[PendingEvent]
    done: dict[str, ImportedId]


def batch_counts(batch: list[History]) -> dict[str, int]:
    counts = {name: 0 for name in TABLES}
    for h in batch:
        for name, n in _row_counts(h).items():
            counts[name] += n
    return counts


def _next_id(conn: Connection, name: str) -> int:
    """SQLite: the id after the largest of a table."""
    return (conn.execute(select(func.max(TABLES[name].c.id))).scalar() or 0) + 1


def reserve_ids(conn: Connection, counts: dict[str, int],
                after: BatchIds | None = None) -> BatchIds:
    """The ids of a batch's new rows. PostgreSQL: taken from each table's sequence, so the app's
    own inserts never collide. SQLite: the ids after the largest of each table, or, for a batch
    built while `after` (the batch before it) is not written yet, after that batch's and the
    room left behind it; `ids_still_free` checks them under the write lock."""
    if conn.dialect.name != "sqlite":
        # The table names come from the fixed TABLES mapping, never from input.
        return BatchIds(counts, None, {name: list(conn.execute(text(
            f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) "  # noqa: S608  # nosec B608
            "FROM generate_series(1, :n)"), {"n": n}).scalars()) if n else []
            for name, n in counts.items()})
    if after is not None and after.bases is not None:
        return BatchIds(counts, {name: after.bases[name] + after.counts[name] +
                                 ROOM_BETWEEN_BATCHES for name in counts}, None)
    return BatchIds(counts, {name: _next_id(conn, name) for name in counts}, None)


def ids_still_free(conn: Connection, ids: BatchIds) -> bool:
    """Whether no row has taken a batch's ids since they were chosen: always on PostgreSQL
    (sequences); on SQLite, when each table's largest id is still below the batch's first."""
    if ids.bases is None:
        return True
    return all(_next_id(conn, name) <= ids.bases[name] for name, n in ids.counts.items() if n)


@dataclass(frozen=True)
class BuildSettings:
    """What building rows needs besides the histories and their ids: plain values, sent once to
    each worker process."""

    run: Run
    signature_key_id: str
    signature_key: bytes = field(repr=False)
    program_timezone: str
    today: date
    sqlite: bool


class RowBuilder:
    """Builds batches of validated histories as rows of every table (pure: no database)."""

    def __init__(self, settings: BuildSettings) -> None:
        run = settings.run
        self.keys = Keyring.single(settings.signature_key, settings.signature_key_id)
        self.doc = run.prescriber_id
        self.run = run
        self.at = run.ran_at
        self.zone = ZoneInfo(settings.program_timezone)
        self.today = settings.today
        self.sqlite = settings.sqlite
        self.columns: dict[str, tuple[str, ...]] = {}
        self.stored: dict[Any, Any] = {}
        self.moments: dict[date, datetime] = {}

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

    def build(self, batch: list[History], batch_ids: BatchIds) -> PreparedBatch:
        ids = {name: batch_ids.of(name) for name in TABLES}
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
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
        values = {name: [self.values(name, row) for row in rows[name]] for name in TABLES}
        return PreparedBatch(batch, batch_ids, self.columns, values, events, done)

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
        local: dict[str, list[int]] = {name: [] for name in TABLES}
        for on, category, signature, guardian, relationship in h.acknowledgments:
            aid = next(ids["acknowledgments"])
            local["acknowledgments"].append(aid)
            fields = SimpleNamespace(
                id=aid, patient_id=pid, category=category, form_code=IMPORTED,
                form_version=IMPORTED, signed_on=on, patient_signature=signature,
                guardian_signature=guardian, guardian_relationship=relationship,
                meaning=IMPORTED_MEANING, witness_id=doc, signed_at=at)
            key_id, mac = sign(self.keys, "acknowledgment",
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
            key_id, mac = sign(self.keys, "authorization",
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


def insert_rows(conn: Connection, prepared: PreparedBatch) -> None:
    """A built batch's rows inserted, parents first (the order of TABLES)."""
    bulk = BulkWriter(conn, prepared.columns, TABLES)
    for name in TABLES:
        bulk.write(name, prepared.rows[name])


# Batches built ahead of the one being written, per worker: enough that a worker always has the
# next batch to build while the command writes, few enough to hold little memory.
AHEAD_PER_WORKER = 2


def built_in_workers(batches: Sequence[list[History]], settings: BuildSettings,
                     reserve: Callable[[list[History], BatchIds | None], BatchIds],
                     workers: int) -> Generator[PreparedBatch, None, None]:
    """The batches built by `workers` processes, in order, a few ahead of the caller, which
    writes each as it comes. `reserve` takes a batch's ids (in the caller's process, which has
    the database), given the ids of the batch before it."""
    # "spawn": a fresh interpreter per worker, never a copy of this process with its open
    # database connections and the locks other threads may hold.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_start_worker, initargs=(settings,)) as pool:
        pending: list[tuple[list[History], Future[PreparedBatch]]] = []
        previous: BatchIds | None = None
        following = iter(batches)
        while True:
            while len(pending) < workers * AHEAD_PER_WORKER:
                batch = next(following, None)
                if batch is None:
                    break
                previous = reserve(batch, previous)
                pending.append((batch, pool.submit(_build_in_worker, batch, previous)))
            if not pending:
                return
            batch, future = pending.pop(0)
            prepared = future.result()
            prepared.batch = batch  # not sent back: the caller has it
            yield prepared


_worker_builder: RowBuilder | None = None


def _start_worker(settings: BuildSettings) -> None:
    global _worker_builder  # noqa: PLW0603 - one builder per worker process, set once
    _worker_builder = RowBuilder(settings)


def _build_in_worker(batch: list[History], ids: BatchIds) -> PreparedBatch:
    if _worker_builder is None:  # set by the pool's initializer
        raise RuntimeError("the worker was started without its settings")
    prepared = _worker_builder.build(batch, ids)
    prepared.batch = []
    return prepared


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
