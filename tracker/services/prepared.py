"""Statements built once: the hot paths (the token check, the eligibility check, the pharmacy
lookup, the dispense) send the same few statements on every request, differing only in their
bound parameters. SQLAlchemy would build each statement again and compute its cache key on
every call, which costs more than the database's own work; here a statement is compiled once
per database dialect and sent as plain SQL with its parameters, and its values are converted
by the statement's own column types (dates from SQLite's text, booleans from its integers).

Only what such statements need: no expanding IN lists, no ORM entities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.selectable import ReturnsRows

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]
    order: tuple[str, ...] | None  # parameter names in order, for positional drivers
    binds: tuple[tuple[str, Processor], ...]  # parameters whose values are converted
    results: tuple[tuple[int, Processor], ...]  # result columns whose values are converted


def _result_types(statement: Any) -> Sequence[Any]:
    """The types of the columns a statement returns (a SELECT's, or an UPDATE's RETURNING)."""
    if isinstance(statement, ReturnsRows):
        return [column.type for column in statement.exported_columns]
    return []


class Prepared:
    """One statement, compiled on first use for each dialect."""

    __slots__ = ("statement", "_by_dialect")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        binds = compiled.binds
        defaults = {name: bind.effective_value for name, bind in binds.items()}
        converters = []
        for name, bind in binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                converters.append((name, process))
        results = []
        for index, type_ in enumerate(_result_types(self.statement)):
            process = type_.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
        order = tuple(compiled.positiontup) if dialect.positional else None
        return _Compiled(compiled.string, defaults, order, tuple(converters), tuple(results))

    def execute(self, session: Session, **params: Any) -> CursorResult[Any]:
        """Send the statement; rows come back as the driver gives them."""
        return self._send(session.connection(), params)[1]

    def _send(self, connection: Connection,
              params: dict[str, Any]) -> tuple[_Compiled, CursorResult[Any]]:
        compiled = self._compiled(connection.dialect)
        values = {**compiled.defaults, **params}
        for name, process in compiled.binds:
            values[name] = process(values[name])
        if compiled.order is not None:
            return compiled, connection.exec_driver_sql(
                compiled.sql, tuple(values[name] for name in compiled.order))
        return compiled, connection.exec_driver_sql(compiled.sql, values)

    def rows(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """Every row, with each value converted by its column's type."""
        compiled, result = self._send(session.connection(), params)
        raw, results = result.fetchall(), compiled.results
        if not results:
            return [tuple(row) for row in raw]
        out = []
        for row in raw:
            values = list(row)
            for index, process in results:
                values[index] = process(values[index])
            out.append(tuple(values))
        return out

    def first(self, session: Session, **params: Any) -> tuple[Any, ...] | None:
        """The first row (converted), or None."""
        found = self.rows(session, **params)
        return found[0] if found else None

    def rowcount(self, session: Session, **params: Any) -> int:
        """How many rows an UPDATE or DELETE changed."""
        return self.execute(session, **params).rowcount


def update_loaded(session: Session, model: type[Any], row_id: int, **values: Any) -> None:
    """An entity of the row already loaded in the session (a caller's, within the same
    transaction) takes the values a prepared UPDATE just wrote, as an ORM UPDATE would have
    set them; rows not loaded cost nothing."""
    entity = session.identity_map.get(identity_key(model, row_id))
    if entity is not None:
        for name, value in values.items():
            set_committed_value(entity, name, value)
