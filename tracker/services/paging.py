"""One page of a list: every list the app shows is read a page at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
PER_PAGE = 25
PER_PAGE_MAX = 200
PAGE_MAX = 1_000_000  # times PER_PAGE_MAX, still an offset every database takes


@dataclass(frozen=True)
class Page(Generic[T]):
    """The items of page `number` (1-based) and enough to draw a pager."""

    items: Sequence[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """The 1-based position of the first item shown (0 on an empty list)."""
        return 0 if not self.items else (self.number - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return 0 if not self.items else self.first_index + len(self.items) - 1


def page_number(value: object) -> int:
    """A page number from a query string: anything that is not a positive integer is page 1;
    one beyond PAGE_MAX is PAGE_MAX (past the end: the last page), so no offset overflows."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return 1
    return min(number, PAGE_MAX) if number >= 1 else 1


def clamp_per_page(per_page: int) -> int:
    return min(max(per_page, 1), PER_PAGE_MAX)


def paginate(session: Session, stmt: Select[*tuple[Any, ...]], number: int,
             per_page: int = PER_PAGE, row: Callable[[Any], T] | None = None,
             scalars: bool = False) -> Page[T]:
    """Run `stmt` (already ordered) for one page. A page past the end shows the last page, so a
    list that shrank under a bookmarked link still shows something.

    `scalars` returns the first column of each row; otherwise rows are passed to `row` (or
    returned as they are)."""
    per_page = clamp_per_page(per_page)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(max(number, 1), pages)
    limited = stmt.limit(per_page).offset((number - 1) * per_page)
    if scalars:
        items: list[Any] = list(session.scalars(limited).all())
    else:
        items = list(session.execute(limited).all())
    if row is not None:
        items = [row(item) for item in items]
    return Page(items=items, number=number, per_page=per_page, total=total)


def page_of(items: Sequence[T], number: int, per_page: int = PER_PAGE) -> Page[T]:
    """Page a list already in memory (small lists computed in Python)."""
    per_page = clamp_per_page(per_page)
    pages = max(1, -(-len(items) // per_page))
    number = min(max(number, 1), pages)
    start = (number - 1) * per_page
    return Page(items=list(items[start:start + per_page]), number=number, per_page=per_page,
                total=len(items))
