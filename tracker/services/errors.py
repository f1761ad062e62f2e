"""What a use case can answer besides success. The web and API layers translate these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ServiceError(Exception):
    """Base of the expected failures of a use case."""


class ValidationFailed(ServiceError):
    """Bad input (HTTP 422): field -> messages naming what is accepted. Nothing was stored."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


class PasswordRejected(ValidationFailed):
    """The signed-in user's own password was not right (HTTP 422). Nothing changed, but the
    failure has been audited and counted against the account: the caller commits that."""


class PasswordGuessingStopped(ServiceError):
    """Too many wrong passwords for the signed-in user's account: every session of the user
    must end, and signing in again waits as after failed sign-ins. The failures have been
    audited and counted: the caller commits that record and nothing else was written."""


class NotFound(ServiceError):
    """No such object, or one the actor may not know exists (HTTP 404)."""


class NoMatch(NotFound):
    """Nothing matches what was given (HTTP 404), and the failed attempt has been written to the
    audit trail: the caller commits that event (the counter's guessing throttle counts it)."""


class Throttled(ServiceError):
    """Too many failed attempts (HTTP 429): try again after `retry_after` seconds. The attempt
    has been audited; the caller commits that event."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class Forbidden(ServiceError):
    """The actor's role may not do this (HTTP 403)."""


class SignatureRejected(Forbidden):
    """The signer's proof (a re-entered password, or the API token) is not the acting user's.
    Nothing was signed; the attempt has been audited, and the caller commits that event."""


class Refused(ServiceError):
    """A rule said no (HTTP 409). `decision` carries every unmet requirement. The refusal has
    been audited; the caller commits that audit event and nothing else was written."""

    def __init__(self, decision: Any, message: str = "The request was refused.") -> None:
        self.decision = decision
        super().__init__(message)


class Conflict(ServiceError):
    """The request collides with another one still in progress (HTTP 409)."""


def require(errors: dict[str, list[str]]) -> None:
    """Raise ValidationFailed when any field collected an error."""
    if any(errors.values()):
        raise ValidationFailed({k: v for k, v in errors.items() if v})
