"""What the administration's use cases share: only administrators act, a change that needs a
reason says why, and list filters match a fragment of a name."""

from __future__ import annotations

from tracker.models import Role
from tracker.services.context import Context
from tracker.services.errors import Forbidden

REASON_MAX = 500
QUERY_MAX = 100


def require_admin(ctx: Context) -> None:
    """Only administrators manage the program."""
    if ctx.actor.role != Role.ADMIN:
        raise Forbidden("Only administrators manage pharmacies, users and tokens.")


def given_reason(errors: dict[str, list[str]], value: str | None, what: str) -> str:
    """The reason given for an administrative change, in one line; an error when missing."""
    text = " ".join((value or "").split())
    if not text:
        errors.setdefault("reason", []).append(f"Say why {what}.")
    elif len(text) > REASON_MAX:
        errors.setdefault("reason", []).append(f"The reason has at most {REASON_MAX} characters.")
    return text


def like_pattern(query: str) -> str | None:
    """A LIKE pattern matching the fragment anywhere (escaped), or None for no filter."""
    query = " ".join((query or "").split())[:QUERY_MAX].lower()
    if not query:
        return None
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
