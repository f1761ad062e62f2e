"""The SQLite database and its backups hold every patient's records: they are created readable
by their owner only (0600), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.cli import main


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_db_upgrade_and_backup_create_private_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "data" / "tracker.sqlite3"
    database.parent.mkdir()
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:///" + str(database))
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TRACKER_SECRET_KEY", "file-mode-test-secret")
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert mode(database) == 0o600
    for companion in database.parent.glob("tracker.sqlite3-*"):  # -wal, -shm
        assert mode(companion) == 0o600, companion
    backup = tmp_path / "backups" / "copy.sqlite3"
    assert main(["backup", str(backup)]) == 0, capsys.readouterr().err
    assert mode(backup) == 0o600


def test_the_app_creates_its_default_database_private(tmp_path: Path,
                                                      open_umask: None) -> None:
    from tracker import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 40})
    app.extensions["tracker.db"].engine.dispose()
    assert mode(tmp_path / "tracker.sqlite3") == 0o600
