"""Per-request plumbing: one database session, one transaction, a request id, and the service
context (who acts, the clock, the policy) built from them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from sqlalchemy.orm import Session

from tracker.db import Database, set_write_intent, utcnow
from tracker.services.context import Actor, Context
from tracker.services.errors import ValidationFailed
from tracker.services.text import has_control_characters

_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["tracker.db"]


def db_session() -> Session:
    """The request's session, created on first use."""
    if "db" not in g:
        g.db = database().session()
    return g.db


def request_id() -> str:
    if "request_id" not in g:
        g.request_id = secrets.token_hex(8)
    return g.request_id


def client_addr() -> str | None:
    # Behind a proxy, deployments wrap the app in ProxyFix so remote_addr is the client's.
    return request.remote_addr


def mark_rollback() -> None:
    """Make the request end in a rollback (validation errors, crashes)."""
    g.rollback = True
    if "db" in g:
        g.db.rollback()


def context(actor: Actor | None = None) -> Context:
    app = current_app
    if actor is None:
        actor = current_actor()
    return Context(
        session=db_session(),
        actor=actor,
        program_timezone=app.config["PROGRAM_TIMEZONE"],
        policy_2026_effective=app.config["POLICY_2026_EFFECTIVE"],
        signature_keys=app.config["SIGNATURE_KEYRING"],
        audit_keys=app.config["AUDIT_KEYRING"],
        audit_unkeyed_events=app.config["AUDIT_UNKEYED_EVENTS"],
        clock=app.config.get("CLOCK") or utcnow,
    )


def current_actor() -> Actor:
    user = g.get("user")
    if user is None:
        return Actor(user_id=None, role=None, request_id=request_id(), client_addr=client_addr())
    return Actor(
        user_id=user.id,
        role=user.role,
        name=user.name,
        pharmacy_id=user.pharmacy_id,
        request_id=request_id(),
        client_addr=client_addr(),
    )


def _refuse_control_characters() -> None:
    """Form and query values never carry control characters (PostgreSQL refuses NUL, and no
    field means them); the API checks its JSON fields itself, per field."""
    if request.path.startswith("/api/"):
        return
    for values in (request.args, request.form):
        for value in values.values():
            if has_control_characters(value, multiline=True):
                raise ValidationFailed({"form": [
                    "The form contained control characters, which cannot be stored. Remove "
                    "them and send it again."]})


WRITES_ON_READ_ATTR = "tracker_writes_on_read"
View = TypeVar("View", bound=Callable[..., Any])


def writes_on_read(view: View) -> View:
    """Mark a GET view that writes all the same (the pharmacy lookup writes the access log):
    its transaction takes the write lock up front, like any other write."""
    setattr(view, WRITES_ON_READ_ATTR, True)
    return view


def _begin() -> None:
    request_id()
    fault = g.pop("database_fault", None)
    if fault is not None:
        raise fault  # the database could not be reached while the session was opened
    _refuse_control_characters()
    view = current_app.view_functions.get(request.endpoint or "")
    writes = request.method not in _READ_METHODS or getattr(view, WRITES_ON_READ_ATTR, False)
    g.write_token = set_write_intent(writes)


def _finish(response: Response) -> Response:
    """Commit once, at the end, unless the request asked for a rollback or failed."""
    session: Session | None = g.get("db")
    if session is not None:
        if g.get("rollback") or response.status_code >= 500:
            session.rollback()
        else:
            session.commit()
    return response


def _close(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db", None)
    if session is not None:
        session.close()


def install(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_close)


def json_body() -> Any:
    return request.get_json(silent=True)
