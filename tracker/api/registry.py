"""Every API operation is declared once: its path, method, roles, body and answers. The
declarations serve the routing, the role check and the OpenAPI document, so they cannot drift."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracker.api.fields import Spec


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI style: /patients/{id}
    summary: str
    roles: tuple[str, ...]  # empty: no token needed
    body: Spec | None = None
    answer: str | None = None  # schema name of the success body
    answer_list: bool = False
    status: int = 200
    errors: tuple[int, ...] = ()
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: bool = False
    view: Callable[..., Any] | None = None

    @property
    def rule(self) -> str:
        return self.path.replace("{id}", "<int:id>").replace("{number}", "<number>")


OPERATIONS: list[Operation] = []
