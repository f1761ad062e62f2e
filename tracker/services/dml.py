"""Conditional writes: how many rows an UPDATE or DELETE changed."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable
from sqlalchemy.orm import Session


def rows_changed(session: Session, statement: Executable) -> int:
    """Run a DML statement and return its row count, the check a once-only state change makes.
    Session.execute is declared to return a plain Result; for DML it is a CursorResult."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount
