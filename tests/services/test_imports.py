"""Importing patients in mid-course (API.md `tracker import`): the engine decides their next
fill exactly as if the history had been entered by hand; every invalid line is reported and
nothing is written; importing again changes nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import Clock
from tracker.domain.decision import Decision
from tracker.models import (
    AuditEvent,
    Authorization,
    Base,
    ImportedPatient,
    Patient,
    PatientImport,
    Pharmacy,
    Prescription,
    User,
)
from tracker.services import authorizations, dispenses, patients, prescriptions, records
from tracker.services.context import Context
from tracker.services.imports import import_file
from tracker.services.integrity import verify_all

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import-example.jsonl"
METHODS = ["iud", "male_condom"]
# Avery's visits in the example file: (authorized, dispensed), every record on the visit day.
VISITS = [(date(2026, 7, 31), date(2026, 8, 1)), (date(2026, 8, 28), date(2026, 8, 30)),
          (date(2026, 9, 27), date(2026, 9, 28)), (date(2026, 10, 27), date(2026, 10, 28))]
NEXT_VISIT = date(2026, 11, 26)


def example_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLE.read_text().splitlines()]


def as_file(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.fixture
def setting(ctx: Context) -> tuple[User, Pharmacy, Context]:
    """A prescriber and the pharmacy of the example file (NCPDP 1234567), active since June."""
    doc = builders.prescriber(ctx)
    from tracker.services import pharmacies

    store = pharmacies.create_pharmacy(ctx, "Example Pharmacy", "1234567", date(2026, 6, 1),
                                       date(2026, 6, 1))
    return doc, store, builders.as_user(ctx, doc)


def row_counts(session: Session) -> dict[str, int]:
    return {name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in Base.metadata.tables.items()}


def test_the_example_file_imports_and_every_signature_and_the_audit_chain_verify(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    doc, _, _ = setting
    report = import_file(ctx, doc.email, "import-example.jsonl", EXAMPLE.read_bytes())
    assert report.ok, report.problems
    assert [i.external_id for i in report.ids] == ["EHR-1001", "EHR-1002", "EHR-1003"]
    assert report.new == 3
    run = ctx.session.get(PatientImport, report.import_id)
    assert run is not None and run.file_name == "import-example.jsonl" and run.patients == 3
    assert run.sha256 == report.sha256 and len(run.sha256) == 64
    for imported in report.ids:
        patient = ctx.session.get(Patient, imported.patient_id)
        assert patient is not None and patient.prescriber_id == doc.id
        assert patient.program_number == imported.program_number
        events = ctx.session.scalars(select(AuditEvent).where(
            AuditEvent.patient_id == patient.id)).all()
        assert [e.action for e in events] == ["patient.imported"]
        assert json.loads(events[0].new_values or "{}")["import_id"] == run.id
    integrity = verify_all(ctx)
    assert integrity.chain.ok and not integrity.bad_signatures
    assert integrity.signatures_checked >= 3 + 9  # acknowledgments and authorizations


def _enter_by_hand(ctx: Context, clock: Clock, doc: User, store: Pharmacy) -> int:
    """Avery's history of the example file, entered through the services day by day."""
    me = builders.as_user(ctx, doc)
    counter = builders.as_user(ctx, builders.pharmacist(ctx, store))
    clock.set_day(date(2026, 7, 1))
    p = patients.register_patient(me, "Avery", "Stone", date(2001, 4, 12), "can_get_pregnant")
    patients.record_acknowledgment(me, p.id, date(2026, 7, 1), "Avery Stone",
                                   witness=builders.SIGNED)
    records.record_counseling(me, p.id, date(2026, 7, 1))
    records.record_pregnancy_test(me, p.id, date(2026, 7, 1), "negative", "office")
    records.record_contraception(me, p.id, date(2026, 7, 1), date(2026, 6, 1), METHODS, False)
    for n, (visit, dispensed) in enumerate(VISITS):
        clock.set_day(visit)
        if n:
            records.record_counseling(me, p.id, visit)
            records.record_contraception(me, p.id, visit, date(2026, 6, 1), METHODS, False)
        records.record_pregnancy_test(me, p.id, visit, "negative", "lab")
        records.record_comprehension(me, p.id, visit, builders.ANSWERS, METHODS, False)
        rx = prescriptions.write_prescription(me, p.id, visit, 30, 60)
        auth = authorizations.authorize(me, rx.id, signature=builders.SIGNED)
        clock.set_day(dispensed)
        dispenses.dispense(counter, rx.id, auth.number, 60, 30, True)
    return p.id


def _next_fill(ctx: Context, clock: Clock, doc: User, patient_id: int) -> int:
    """The next visit's records and prescription, entered by hand for either patient."""
    me = builders.as_user(ctx, doc)
    clock.set_day(NEXT_VISIT)
    records.record_counseling(me, patient_id, NEXT_VISIT)
    records.record_contraception(me, patient_id, NEXT_VISIT, date(2026, 6, 1), METHODS, False)
    records.record_pregnancy_test(me, patient_id, NEXT_VISIT, "negative", "lab")
    records.record_comprehension(me, patient_id, NEXT_VISIT, builders.ANSWERS, METHODS, False)
    return prescriptions.write_prescription(me, patient_id, NEXT_VISIT, 30, 60).id


def _comparable(decision: Decision) -> tuple[object, ...]:
    return (decision.dispensable, decision.rule_set, decision.as_of,
            [(r.code, r.met_from) for r in decision.unmet], decision.window,
            decision.do_not_dispense_after, [kind for kind, _ in decision.used])


def test_an_imported_patient_is_decided_exactly_as_one_entered_by_hand(
        ctx: Context, clock: Clock, setting: tuple[User, Pharmacy, Context]) -> None:
    doc, store, _ = setting
    by_hand = _enter_by_hand(ctx, clock, doc, store)
    other = builders.prescriber(ctx)
    clock.set_day(date(2026, 11, 1))
    report = import_file(ctx, other.email, "avery.jsonl", as_file(example_lines()[:1]))
    assert report.ok, report.problems
    imported = report.ids[0].patient_id
    assert imported is not None

    hand_rx = _next_fill(ctx, clock, doc, by_hand)
    imported_rx = _next_fill(ctx, clock, other, imported)
    for day in (date(2026, 11, 25), NEXT_VISIT, date(2026, 12, 2), date(2026, 12, 3)):
        clock.set_day(max(day, NEXT_VISIT))
        hand = prescriptions.eligibility(builders.as_user(ctx, doc), hand_rx, day)
        mine = prescriptions.eligibility(builders.as_user(ctx, other), imported_rx, day)
        assert _comparable(mine) == _comparable(hand), day
    clock.set_day(NEXT_VISIT)
    decision = prescriptions.eligibility(builders.as_user(ctx, other), imported_rx)
    # A later fill: no screening test, no 30-day wait, the window of the new test.
    assert decision.dispensable and decision.do_not_dispense_after == date(2026, 12, 2)
    # The authorizations stored by the import are those the service issued by hand.
    def stored(patient_id: int) -> list[tuple[object, ...]]:
        return [(a.issued_on, a.do_not_dispense_after, a.rule_set, a.state,
                 [k for k, _ in json.loads(a.decision_used)])
                for a in ctx.session.scalars(select(Authorization).where(
                    Authorization.patient_id == patient_id).order_by(Authorization.issued_on))]
    assert stored(imported)[:4] == stored(by_hand)[:4]


def test_importing_again_changes_nothing_and_gives_the_same_ids(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    doc, _, _ = setting
    first = import_file(ctx, doc.email, "a.jsonl", EXAMPLE.read_bytes())
    before = row_counts(ctx.session)
    again = import_file(ctx, doc.email, "a.jsonl", EXAMPLE.read_bytes())
    assert again.ok and again.new == 0 and again.import_id is None
    assert again.ids == first.ids
    assert row_counts(ctx.session) == before


def test_the_same_external_id_for_another_prescriber_is_another_patient(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    doc, _, _ = setting
    other = builders.prescriber(ctx)
    mine = import_file(ctx, doc.email, "a.jsonl", EXAMPLE.read_bytes())
    theirs = import_file(ctx, other.email, "a.jsonl", EXAMPLE.read_bytes())
    assert theirs.new == 3
    assert {i.patient_id for i in mine.ids}.isdisjoint({i.patient_id for i in theirs.ids})


def test_a_dry_run_writes_nothing(ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    doc, _, _ = setting
    before = row_counts(ctx.session)
    report = import_file(ctx, doc.email, "a.jsonl", EXAMPLE.read_bytes(), dry_run=True)
    assert report.ok and report.new == 3 and report.import_id is None
    assert [i.patient_id for i in report.ids] == [None, None, None]
    assert row_counts(ctx.session) == before


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A change to the first line of the example: `path` like fills.0.dispensed_on."""
    def change(line: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = line
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return change


_DELETE = object()
FUTURE = "2027-01-05"

# (change to Avery's line, field named in the message, words of the message)
INVALID: list[tuple[Callable[[dict[str, Any]], None], str, str]] = [
    (_set("surname", "x"), "surname", "Unknown field"),
    (_set("external_id", ""), "external_id", "id in the system"),
    (_set("first_name", ""), "first_name", "first name"),
    (_set("date_of_birth", "12/04/2001"), "date_of_birth", "YYYY-MM-DD"),
    (_set("date_of_birth", FUTURE), "date_of_birth", "future"),
    (_set("category", "female"), "category", "can_get_pregnant"),
    (_set("acknowledgments.0.patient_signature", "Someone Else"),
     "acknowledgments[0].patient_signature", "must match"),
    (_set("acknowledgments.0.signed_on", "1999-01-01"), "acknowledgments[0].signed_on",
     "before the patient's birth date"),
    (_set("counseling.0.counseled_on", FUTURE), "counseling[0].counseled_on", "in the future"),
    (_set("pregnancy_tests.0.setting", "clinic"), "pregnancy_tests[0].setting", "lab"),
    (_set("pregnancy_tests.0.result", "maybe"), "pregnancy_tests[0].result", "negative"),
    (_set("contraception.0.methods", ["progestin_only_pill", "male_condom"]),
     "contraception[0].methods", "Progestin-only"),
    (_set("contraception.0.started_on", "2026-07-02"), "contraception[0].started_on",
     "after the date of the entry"),
    (_set("comprehension.0.answers.share-ok", "no"), "comprehension[0].answers.share-ok",
     "true or false"),
    (_set("fills.0.days_supply", 31), "fills[0].days_supply", "1 to 30"),
    (_set("fills.0.quantity", 0), "fills[0].quantity", "quantity"),
    (_set("fills.0.authorized_on", "2026-07-30"), "fills[0].authorized_on",
     "on or after the day it is written"),
    (_set("fills.0.dispensed_on", "2026-07-30"), "fills[0].dispensed_on",
     "on or after its authorization"),
    (_set("fills.0.dispensed_on", "2026-08-07"), "fills[0].dispensed_on", "through 2026-08-06"),
    (_set("fills.0.pharmacy_ncpdp", "7654321"), "fills[0].pharmacy_ncpdp", "NCPDP"),
    (_set("fills.1.written_on", "2026-07-20"), "fills[1].written_on", "date order"),
    (_set("fills.1.authorized_on", "2026-08-01"), "fills[1].authorized_on", "date order"),
    (_set("fills.1.dispensed_on", None), "fills[1].dispensed_on", "at most one"),
    (_set("comprehension.0", _DELETE), "fills[0].authorized_on", "COMPREHENSION_MISSING"),
    (lambda line: line["pregnancy_tests"].append(
        {"collected_on": "2026-08-01", "result": "positive", "setting": "lab"}),
     "fills[0].dispensed_on", "PREGNANCY_TEST_POSITIVE"),
    (_set("pregnancy_tests.0", _DELETE), "fills[0].authorized_on", "SCREENING_TEST_MISSING"),
    (_set("category_changes", [{"changed_on": "2026-07-01", "category": "cannot_get_pregnant"}]),
     "category", "last category change"),
    (_set("course_end", {"last_dose_on": "2026-10-01"}), "course_end.last_dose_on",
     "before the last dispense"),
    (_set("course_end", "soon"), "course_end", "last_dose_on"),
]


@pytest.mark.parametrize(("change", "field", "words"), INVALID,
                         ids=[f"{field}-{n}" for n, (_, field, _w) in enumerate(INVALID)])
def test_every_invalid_line_is_reported_and_nothing_is_written(
        ctx: Context, setting: tuple[User, Pharmacy, Context],
        change: Callable[[dict[str, Any]], None], field: str, words: str) -> None:
    doc, _, _ = setting
    lines = example_lines()
    bad = copy.deepcopy(lines[0])
    change(bad)
    before = row_counts(ctx.session)
    report = import_file(ctx, doc.email, "bad.jsonl", as_file([lines[1], bad, lines[2]]))
    assert not report.ok
    assert any(p.startswith(f"line 2: {field}: ") and words in p for p in report.problems), \
        report.problems
    assert all(p.startswith("line 2: ") for p in report.problems)
    assert row_counts(ctx.session) == before


def test_each_bad_line_gets_its_own_message(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    doc, _, _ = setting
    lines = example_lines()
    data = as_file(lines[:1]) + b"not json\n" + as_file([lines[0]]) + b"[1, 2]\n"
    report = import_file(ctx, doc.email, "bad.jsonl", data)
    assert [p.split(":")[0] for p in report.problems] == ["line 2", "line 3", "line 4"]
    assert "already on line 1" in report.problems[1]
    assert ctx.session.scalar(select(func.count()).select_from(ImportedPatient)) == 0
    assert ctx.session.scalar(select(func.count()).select_from(Prescription)) == 0


def test_only_an_active_prescriber_gets_imported_patients(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    from tracker.services.errors import Forbidden, NotFound

    doc, store, me = setting
    with pytest.raises(NotFound):
        import_file(ctx, "nobody@example.test", "a.jsonl", EXAMPLE.read_bytes())
    counter = builders.as_user(ctx, builders.pharmacist(ctx, store))
    with pytest.raises(Forbidden):
        import_file(counter, doc.email, "a.jsonl", EXAMPLE.read_bytes())
    other = builders.prescriber(ctx)
    with pytest.raises(Forbidden):
        import_file(me, other.email, "a.jsonl", EXAMPLE.read_bytes())


def test_lines_checked_by_worker_processes_give_what_one_process_gives(
        ctx: Context, setting: tuple[User, Pharmacy, Context],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import imports

    doc, _, _ = setting
    lines = example_lines()
    bad = copy.deepcopy(lines[0])
    bad["external_id"] = "EHR-9"
    bad["fills"][0]["days_supply"] = 31
    data = as_file(lines + [bad]) + b"{\n" + as_file(lines[:1])
    alone = imports.check_file(ctx, doc.email, "a.jsonl", data, workers=1)
    monkeypatch.setattr(imports, "PARALLEL_FROM_LINES", 2)
    monkeypatch.setattr(imports, "CHUNK_LINES", 2)
    handled: list[int] = []
    side_by_side = imports.check_file(ctx, doc.email, "a.jsonl", data, workers=2,
                                      progress=handled.append)
    assert side_by_side.report.problems == alone.report.problems
    assert [p.split(":")[0] for p in alone.report.problems] == ["line 4", "line 5", "line 6"]
    assert side_by_side.fresh == alone.fresh and len(alone.fresh) == 3
    assert sum(handled) == 6


def test_a_batch_built_ahead_leaves_room_for_the_apps_rows_written_meanwhile(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    """On SQLite the batches built while the one before is not written yet take their ids
    after that one's and some room; a row the app inserts between the writes goes there, and
    the later batch is written with the ids it was built with. On PostgreSQL the ids come
    from the sequences."""
    from tracker.services import import_rows, imports

    doc, _, me = setting
    plan = imports.check_file(ctx, doc.email, "a.jsonl", EXAMPLE.read_bytes())
    imports.start_import(ctx, plan)
    settings = imports.build_settings(ctx, plan)
    first, second = plan.fresh[:1], plan.fresh[1:]
    first_ids = imports.reserve_batch_ids(ctx, first)
    second_ids = imports.reserve_batch_ids(ctx, second, first_ids)
    sqlite = ctx.session.connection().dialect.name == "sqlite"
    if sqlite:
        assert first_ids.bases is not None and second_ids.bases is not None
        assert second_ids.bases["patients"] == first_ids.bases["patients"] + 1 + \
            import_rows.ROOM_BETWEEN_BATCHES
    builder = import_rows.RowBuilder(settings)
    built = [builder.build(first, first_ids), builder.build(second, second_ids)]
    imports.write_batch(ctx, plan, built[0])
    by_hand = builders.ready_for_first_fill(me)
    imports.write_batch(ctx, plan, built[1])
    report = plan.finish()
    ids = [i.patient_id for i in report.ids]
    assert ids == [built[0].done["EHR-1001"].patient_id, *(
        built[1].done[e].patient_id for e in ("EHR-1002", "EHR-1003"))]
    assert by_hand.id not in ids
    if sqlite:
        assert ids[0] < by_hand.id < ids[1]
    assert ctx.session.scalar(select(func.count()).select_from(ImportedPatient)) == 3
    integrity = verify_all(ctx)
    assert integrity.chain.ok and not integrity.bad_signatures


def test_a_refused_fill_says_why_in_words_with_the_reason_code_after(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    from tracker.domain.reasons import ReasonCode

    doc, _, _ = setting
    lines = example_lines()
    del lines[0]["comprehension"][0]
    report = import_file(ctx, doc.email, "bad.jsonl", as_file(lines[:1]))
    message = next(p for p in report.problems if "fills[0].authorized_on" in p)
    code = ReasonCode.COMPREHENSION_MISSING.value
    head, _, words = message.partition("): ")
    assert head.startswith("line 1: fills[0].authorized_on: The rules did not allow")
    assert words.endswith(f" [{code}]") and code not in words.removesuffix(f" [{code}]")
    assert words[0].isupper() and len(words) > len(code) + 20


def test_a_batch_prepared_before_others_wrote_takes_fresh_ids_when_written(
        ctx: Context, setting: tuple[User, Pharmacy, Context]) -> None:
    """Batches are built outside their write transaction; rows written meanwhile by the app
    (a patient registered by hand) must not collide with the ids the batch had taken."""
    from tracker.services import imports

    doc, _, me = setting
    plan = imports.check_file(ctx, doc.email, "a.jsonl", EXAMPLE.read_bytes())
    imports.start_import(ctx, plan)
    prepared = imports.prepare_batch(ctx, plan, plan.fresh)
    by_hand = builders.ready_for_first_fill(me)
    imports.write_batch(ctx, plan, prepared)
    report = plan.finish()
    ids = {i.patient_id for i in report.ids}
    assert by_hand.id not in ids and len(ids) == 3
    assert ctx.session.get(Patient, by_hand.id).last_name == by_hand.last_name  # type: ignore[union-attr]
    assert ctx.session.scalar(select(func.count()).select_from(ImportedPatient)) == 3
    assert ctx.session.get(PatientImport, report.import_id).patients == 3  # type: ignore[union-attr]
    integrity = verify_all(ctx)
    assert integrity.chain.ok and not integrity.bad_signatures
