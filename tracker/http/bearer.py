"""Who sends a request with `Authorization: Bearer <token>`: the JSON API and FHIR both
authenticate API tokens this way (API.md "Authentication")."""

from __future__ import annotations

from collections.abc import Collection

from flask import abort, current_app, g, request

from tracker.db import utcnow
from tracker.http.requests import db_session
from tracker.services.tokens import TokenHolder, token_holder


def bearer_token() -> str:
    """The token of the request's `Authorization: Bearer` header ("" without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def bearer_user() -> TokenHolder | None:
    """The active user behind the request's bearer token, or None."""
    token = bearer_token()
    if not token:
        return None
    clock = current_app.config.get("CLOCK") or utcnow
    return token_holder(db_session(), token, clock())


def admit_token_holder(roles: Collection[str]) -> TokenHolder:
    """The request's token holder, who acts from now on, if their role is one of `roles`: no
    valid token answers 401, another role 403."""
    user = bearer_user()
    if user is None:
        abort(401)
    g.user = user
    if user.role not in roles:
        abort(403)
    return user
