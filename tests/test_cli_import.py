"""`tracker import` (API.md): one JSON line per patient on success, one message per problem and
exit 1 with nothing written on any error, `--dry-run` writes nothing, a second run prints the
same ids."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.test_cli import env, run  # noqa: F401 - `env` is a fixture
from tracker.db import Database
from tracker.models import AuditEvent, Patient

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "import-example.jsonl"


def _set_up(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "users", "create", "--role", "prescriber", "--email", "doc@example.test",
               "--name", "Doc Import", "--npi", "1234567893")[0] == 0
    assert run(capsys, "pharmacies", "create", "--name", "Example Pharmacy", "--ncpdp",
               "1234567", "--activated-on", "2026-06-01", "--trained-on", "2026-06-01")[0] == 0


def _count(model: type) -> int:
    database = Database(os.environ["TRACKER_DATABASE_URL"])
    try:
        with database.transaction(writes=False) as session:
            return session.execute(select(func.count()).select_from(model)).scalar_one()
    finally:
        database.engine.dispose()


@pytest.mark.usefixtures("env")
def test_import_prints_one_line_per_patient_and_again_the_same(
        capsys: pytest.CaptureFixture[str]) -> None:
    _set_up(capsys)
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test", str(EXAMPLE))
    assert code == 0, err
    printed = [json.loads(line) for line in out.splitlines()]
    assert [p["external_id"] for p in printed] == ["EHR-1001", "EHR-1002", "EHR-1003"]
    assert all(isinstance(p["patient_id"], int) and p["program_number"].startswith("P-")
               for p in printed)
    assert "Importing" in err and "imported 3 new patient(s)" in err
    events = _count(AuditEvent)
    code, again, _ = run(capsys, "import", "--prescriber", "doc@example.test", str(EXAMPLE))
    assert code == 0 and again == out
    assert _count(Patient) == 3 and _count(AuditEvent) == events
    assert run(capsys, "audit", "verify")[0] == 0


@pytest.mark.usefixtures("env")
def test_an_invalid_file_exits_1_with_a_message_per_line_and_writes_nothing(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _set_up(capsys)
    lines = EXAMPLE.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["fills"][0]["days_supply"] = 45
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([lines[0], json.dumps(broken), "{", lines[2]]) + "\n")
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test", str(bad))
    assert code == 1 and out == ""
    messages = [line for line in err.splitlines() if line.startswith("line ")]
    assert [m.split(":")[0] for m in messages] == ["line 2", "line 3"]
    assert "fills[0].days_supply" in messages[0]
    assert "nothing was imported" in err
    assert _count(Patient) == 0


@pytest.mark.usefixtures("env")
def test_a_dry_run_reports_and_writes_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    _set_up(capsys)
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test", "--dry-run",
                         str(EXAMPLE))
    assert code == 0 and "would import 3 new patient(s)" in err
    assert [json.loads(line)["patient_id"] for line in out.splitlines()] == [None, None, None]
    assert _count(Patient) == 0


@pytest.mark.usefixtures("env")
def test_an_unknown_prescriber_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    _set_up(capsys)
    code, _, err = run(capsys, "import", "--prescriber", "who@example.test", str(EXAMPLE))
    assert code == 1 and err.strip().splitlines()[-1].startswith("tracker: no prescriber")


@pytest.mark.usefixtures("env")
def test_a_failed_batch_keeps_the_earlier_ones_and_the_same_command_finishes_the_import(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import imports

    _set_up(capsys)
    real = imports.write_batch
    calls: list[int] = []

    def fails_second(ctx: object, plan: imports.ImportPlan,
                     prepared: imports.PreparedBatch) -> None:
        calls.append(len(prepared.batch))
        real(ctx, plan, prepared)  # type: ignore[arg-type]
        if len(calls) == 2:
            raise OSError("No space left on device")  # after writing: all of it rolled back

    monkeypatch.setattr(imports, "write_batch", fails_second)
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test",
                         "--batch-size", "1", str(EXAMPLE))
    assert code == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert "writing batch 2 of 3 failed (No space left on device)" in last
    assert "1 patient(s) of earlier batches were written and stay (import 1)" in last
    assert "Run the same command again" in last and "external_id" in last
    assert _count(Patient) == 1
    monkeypatch.setattr(imports, "write_batch", real)
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test",
                         "--batch-size", "1", str(EXAMPLE))
    assert code == 0, err
    assert "imported 2 new patient(s), 1 already imported" in err
    assert [json.loads(line)["external_id"] for line in out.splitlines()] == \
        ["EHR-1001", "EHR-1002", "EHR-1003"]
    assert _count(Patient) == 3
    assert run(capsys, "audit", "verify")[0] == 0


@pytest.mark.usefixtures("env")
def test_worker_processes_check_a_large_file_and_build_its_batches(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import imports

    _set_up(capsys)
    monkeypatch.setattr(imports, "PARALLEL_FROM_LINES", 2)
    monkeypatch.setattr(imports, "CHUNK_LINES", 1)
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test", "--workers", "2",
                         "--batch-size", "1", str(EXAMPLE))
    assert code == 0, err
    assert [json.loads(line)["external_id"] for line in out.splitlines()] == \
        ["EHR-1001", "EHR-1002", "EHR-1003"]
    assert _count(Patient) == 3
    # The rows built in the workers carry e-signatures made with the command's key.
    assert run(capsys, "audit", "verify")[0] == 0


@pytest.mark.usefixtures("env")
def test_a_worker_process_that_dies_fails_its_batch_in_one_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from tracker.services import import_rows, imports

    _set_up(capsys)
    monkeypatch.setattr(imports, "PARALLEL_FROM_LINES", 2)

    def dies(*args: object) -> Iterator[object]:
        raise BrokenProcessPool("A process in the process pool was terminated abruptly")
        yield  # a generator, as the real one

    monkeypatch.setattr(import_rows, "built_in_workers", dies)
    code, out, err = run(capsys, "import", "--prescriber", "doc@example.test", "--workers", "2",
                         str(EXAMPLE))
    assert code == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert "writing batch 1 of 1 failed (A process in the process pool" in last
    assert "Run the same command again" in last
    assert _count(Patient) == 0
