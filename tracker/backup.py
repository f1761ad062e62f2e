"""Backups of the SQLite database with SQLite's online backup API: consistent even while the
app writes, and the copy is an ordinary database file (restore = use it as the database)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from tracker.db import create_private_file


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database:
        raise ValueError("an in-memory database cannot be backed up")
    return database


def backup_sqlite(url: str, target: str) -> int:
    """Copy the database at `url` to the file `target`; returns the number of pages copied."""
    destination = Path(target)
    if destination.exists():
        raise FileExistsError(f"{target} exists already; back up to a new file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # The copy holds every patient's records: only its owner may read it (0600).
    create_private_file(str(destination))
    source = sqlite3.connect(sqlite_path(url))
    copy = sqlite3.connect(str(destination))
    try:
        with copy:
            source.backup(copy)
        return copy.execute("PRAGMA page_count").fetchone()[0]
    finally:
        copy.close()
        source.close()
