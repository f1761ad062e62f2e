"""Column helpers shared by the model modules."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import CheckConstraint, Dialect, String, TypeDecorator

E = TypeVar("E", bound=StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A StrEnum stored as its value in a plain `String(length)` column: the schema is the same
    as a string column's (the CHECK from `one_of` keeps the values), rows load as members."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        # A plain string binds as it is, as it did before the column was typed: the CHECK
        # constraint, not the driver, refuses a value outside the enumeration.
        return value.value if isinstance(value, StrEnum) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_cls(value)


def one_of(column: str, values: type[StrEnum] | tuple[str, ...], name: str) -> CheckConstraint:
    """A named CHECK that keeps an enumeration column to its values on every database."""
    allowed = [v.value for v in values] if isinstance(values, type) else list(values)
    quoted = ", ".join("'" + v + "'" for v in allowed)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)
