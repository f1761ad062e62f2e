"""Picking one record out of a patient's history.

The rules keep asking the same question: of the records that match, which is the newest (or
the oldest)? Records of the same day are ordered by id, i.e. by the order they were entered, so
the answer never depends on the order the loader returned them in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Protocol, TypeVar


class _Record(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_Record)


def _always(record: object) -> bool:
    return True


def newest(
    records: Iterable[R], day_of: Callable[[R], date], matches: Callable[[R], bool] = _always
) -> R | None:
    """The matching record with the latest (date, id), or None when nothing matches."""
    best: R | None = None
    best_day = date.min
    for record in records:
        day = day_of(record)
        if matches(record) and (
            best is None or day > best_day or (day == best_day and record.id > best.id)
        ):
            best, best_day = record, day
    return best


def earliest(
    records: Iterable[R], day_of: Callable[[R], date], matches: Callable[[R], bool] = _always
) -> R | None:
    """The matching record with the earliest (date, id), or None when nothing matches."""
    best: R | None = None
    best_day = date.max
    for record in records:
        day = day_of(record)
        if matches(record) and (
            best is None or day < best_day or (day == best_day and record.id < best.id)
        ):
            best, best_day = record, day
    return best
