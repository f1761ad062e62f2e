"""Writing many rows fast: one executemany of a compiled Core insert per table (SQLite) or one
COPY per table (PostgreSQL), for the demo generator and the import of patient histories. The
rows are tuples of the values the driver stores (enumerations as their values; on SQLite,
dates and times as text), in the order of the table's columns given."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection


class BulkWriter:
    """Writes batches of row tuples: one executemany of a Core insert per table (SQLite) or one
    COPY per table (PostgreSQL)."""

    def __init__(self, conn: Connection, columns: dict[str, tuple[str, ...]],
                 tables: dict[str, Table]) -> None:
        # `columns`: each table's columns, in the order of the rows' values.
        self.conn = conn
        self.columns = columns
        self.tables = tables
        self.postgres = conn.dialect.name == "postgresql"
        self._sql: dict[str, tuple[str, Callable[[tuple[Any, ...]], Any] | None]] = {}

    def _insert(self, name: str) -> tuple[str, Callable[[tuple[Any, ...]], Any] | None]:
        """The Core insert of `name`'s columns compiled for the dialect, and how to put a
        row's values in the order of its placeholders (None when already in order)."""
        if name not in self._sql:
            cols = self.columns[name]
            compiled = insert(self.tables[name]).compile(dialect=self.conn.dialect,
                                                    column_keys=list(cols))
            order = list(compiled.positiontup or [])
            missing = set(order) - set(cols)
            if missing:
                # A column the model fills in Python (a default) that the generator omits.
                raise RuntimeError(f"no value is written for {name}.{sorted(missing)}")
            reorder = None if order == list(cols) else itemgetter(*(cols.index(c) for c in order))
            self._sql[name] = (str(compiled), reorder)
        return self._sql[name]

    def write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            quote = self.conn.dialect.identifier_preparer.quote
            columns = ", ".join(quote(c) for c in self.columns[name])
            raw = self.conn.connection.driver_connection
            with raw.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(f"COPY {quote(name)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        sql, reorder = self._insert(name)
        if reorder is not None:
            rows = list(map(reorder, rows))
        self.conn.exec_driver_sql(sql, rows)
