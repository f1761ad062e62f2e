"""Every API operation is declared once: its path, method, roles, body and answers. The
declarations serve the routing, the role check and the OpenAPI document, so they cannot drift."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracker.api.fields import Spec


@dataclass(frozen=True)
class Operation:
    """One endpoint of API.md: who may call it, what it takes and what it answers."""

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
    optional_body: bool = False  # no body, or an empty JSON object
    # What is refused (422) for reasons JSON Schema cannot state, because they depend on stored
    # data (the registered name, the current category): said in the operation's description.
    rules: str = ""
    conflict_example: str = "NOT_DISPENSABLE"  # the reason code a 409 example shows
    view: Callable[..., Any] | None = None

    @property
    def rule(self) -> str:
        """The Flask rule. Path values are taken as text and checked after the token, so that a
        caller without a valid token learns nothing, not even that an id is malformed."""
        return self.path.replace("{id}", "<id>").replace("{number}", "<number>")

    @property
    def endpoint(self) -> str:
        return self.view.__name__ if self.view is not None else self.path

    @property
    def takes_body(self) -> bool:
        return self.body is not None or self.optional_body

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every status the operation can answer: its success, the token and role checks, what
        its path, body and Idempotency-Key can get wrong, and 503 (the database cannot be
        reached for a moment; every operation needs it, if only to check the token)."""
        codes = {self.status, 401, 403, 503, *self.errors}
        if self.takes_body:
            codes |= {400, 413, 415, 422}
        if "{" in self.path:
            codes.add(404)
        if self.idempotent:
            codes |= {409, 422}
        return tuple(sorted(codes))


OPERATIONS: list[Operation] = []
