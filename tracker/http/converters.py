"""URL converters. Every `<int:...>` segment of a route is an id of a database row:
one larger than a column holds is a page that cannot exist (404), never a database error."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

from tracker.db import INT_MAX


class BoundedIntConverter(IntegerConverter):
    """`int`, from 0 up to INT_MAX (PostgreSQL's integer), as the API bounds its ids."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)
