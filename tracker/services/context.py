"""The context every use case runs in: the database session, who acts, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.domain.policy import Policy, policy_for, rule_sets
from tracker.domain.programdate import program_date
from tracker.keyring import DEVELOPMENT_AUDIT_KEYS, DEVELOPMENT_SIGNATURE_KEYS, Keyring
from tracker.models import Role


@dataclass(frozen=True)
class Actor:
    """The person (or system with a token) behind a request."""

    user_id: int | None
    role: Role | None
    name: str = ""
    pharmacy_id: int | None = None
    request_id: str | None = None
    client_addr: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, role=None, name=name)


@dataclass
class Context:
    session: Session
    actor: Actor
    program_timezone: str = "America/New_York"
    policy_2026_effective: date | None = None
    signature_keys: Keyring = DEVELOPMENT_SIGNATURE_KEYS
    audit_keys: Keyring = DEVELOPMENT_AUDIT_KEYS
    audit_unkeyed_events: int = 0  # events written before the audit chain was keyed
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        """The program date (RULES.md §1): today's date in the program time zone."""
        return program_date(self.now(), self.program_timezone)

    @cached_property
    def rule_sets(self) -> tuple[Policy, ...]:
        if self.policy_2026_effective is None:
            return rule_sets()
        return rule_sets(self.policy_2026_effective)

    def policy(self, on: date) -> Policy:
        return policy_for(on, self.rule_sets)
