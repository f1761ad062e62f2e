"""Column helpers shared by the model modules."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


def one_of(column: str, values: type[StrEnum] | tuple[str, ...], name: str) -> CheckConstraint:
    """A named CHECK that keeps an enumeration column to its values on every database."""
    allowed = [v.value for v in values] if isinstance(values, type) else list(values)
    quoted = ", ".join("'" + v + "'" for v in allowed)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)
