"""Deny by default: every view declares who may call it, and a test walks app.url_map to prove
that none is left undeclared. Object-level checks (whose patient, which pharmacy) live in the
services, which answer NotFound for another prescriber's patient."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, url_for

from tracker.models import Role

F = TypeVar("F", bound=Callable[..., Any])
PERMISSION_ATTR = "tracker_permission"
PUBLIC = "public"
ANY_USER = "any-user"
# Everyone who works in the program; a patient's portal account is not one of them.
WORKFORCE = tuple(role for role in Role if role != Role.PATIENT)


def public(view: F) -> F:
    """Open to anyone, logged in or not (login page, health check, OpenAPI document)."""
    setattr(view, PERMISSION_ATTR, PUBLIC)
    return view


def requires(*roles: Role | str) -> Callable[[F], F]:
    """A logged-in user with one of `roles` (no roles: any logged-in user whose password is set).
    Anonymous visitors go to the login page; a wrong role answers 403."""
    allowed = frozenset(str(r) for r in roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user.must_change_password and request.endpoint not in {
                "auth.change_password", "auth.logout"
            }:
                return redirect(url_for("auth.change_password"))
            if allowed and user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, PERMISSION_ATTR, ",".join(sorted(allowed)) or ANY_USER)
        return wrapper  # type: ignore[return-value]

    return decorate


def permission_of(view: Callable[..., Any]) -> str | None:
    return getattr(view, PERMISSION_ATTR, None)
