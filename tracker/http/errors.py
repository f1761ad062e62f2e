"""Error answers a person can act on, and nothing more: no traceback, SQL or path ever reaches a
client. Unexpected failures get an incident id that is also in the log."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from math import ceil
from typing import Any

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask.wrappers import Response
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.db import database_unavailable
from tracker.http.requests import context, mark_rollback
from tracker.services.audit import chain_pending_events, record_event
from tracker.services.errors import (
    Conflict,
    Forbidden,
    NoMatch,
    NotFound,
    Refused,
    Throttled,
    ValidationFailed,
)

log = logging.getLogger("tracker.errors")

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Refused",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Service unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


# HTTP entries with an error format of their own (FHIR answers OperationOutcome) register the
# path prefixes it applies to and the function that writes the answer from the status and a
# detail a person can act on; each app keeps its own list.
ErrorFormat = Callable[[int, str], Response]
_FORMATS = "tracker.error_formats"


def answer_errors_under(app: Flask, prefixes: tuple[str, ...], answer: ErrorFormat) -> None:
    """Let the paths under `prefixes` answer their errors with `answer`."""
    app.extensions.setdefault(_FORMATS, []).append((prefixes, answer))


def _own_format() -> ErrorFormat | None:
    for prefixes, answer in current_app.extensions.get(_FORMATS, ()):
        if request.path.startswith(prefixes):
            return answer
    return None


def problem(status: int, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem document."""
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _page(status: int, detail: str, incident: str | None = None) -> tuple[str, int]:
    return (
        render_template("error.html", status=status, title=TITLES.get(status, "Error"),
                        detail=detail, incident=incident),
        status,
    )


def _audit_denial(status: int) -> None:
    """Permission denials are audited (in their own, otherwise empty, transaction). The event
    is appended here rather than at the commit, so that a failure to write it is caught below."""
    try:
        ctx = context()
        record_event(ctx, "access.denied", "route", request.endpoint,
                     new={"status": status, "method": request.method})
        chain_pending_events(ctx.session)
    except Exception as exc:  # noqa: BLE001 - never let auditing a denial turn it into a 500
        if database_unavailable(exc):
            raise  # answered 503 like any other request that cannot reach the database
        log.exception("could not audit a denial request_id=%s", g.get("request_id"))
        mark_rollback()


def install(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        response = make_response(_http_answer(exc))
        if (exc.code or 500) == 405:
            # RFC 9110 §15.5.6: every 405 names the methods the resource does allow, whatever
            # format the answer takes (problem document, FHIR outcome or page).
            response.headers["Allow"] = exc.get_response().headers.get("Allow", "")
        return response

    def _http_answer(exc: HTTPException) -> Any:
        status = exc.code or 500
        mark_rollback()
        if status == 403:
            g.rollback = False
            _audit_denial(status)
        detail = _detail(status, exc)
        if (own := _own_format()) is not None:
            return own(status, detail)
        if wants_json():
            response = problem(status, detail)
            if status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return _page(status, detail)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        mark_rollback()
        return _page(400, "The form had expired or was sent from elsewhere. Go back, reload the "
                          "page and send it again.")

    @app.errorhandler(ValidationFailed)
    def _invalid(exc: ValidationFailed) -> Any:
        mark_rollback()
        if wants_json():
            return problem(422, "Some fields are not valid.", errors=exc.errors)
        return _page(422, " ".join(m for ms in exc.errors.values() for m in ms))

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Any:
        mark_rollback()
        return problem(404, "Not found.") if wants_json() else _page(404, "Not found.")

    @app.errorhandler(NoMatch)
    def _no_match(exc: NoMatch) -> Any:
        # The failed attempt was written to the audit trail by the service: commit it.
        return problem(404, "Not found.") if wants_json() else _page(404, "Not found.")

    @app.errorhandler(Throttled)
    def _throttled(exc: Throttled) -> Any:
        # The attempt was audited by the service: commit it.
        detail = f"{exc} Try again in {_wait_text(exc.retry_after)}."
        answer = problem(429, detail) if wants_json() else make_response(_page(429, detail))
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden) -> Any:
        mark_rollback()
        g.rollback = False
        _audit_denial(403)
        detail = str(exc) or "Your role may not do this."
        return problem(403, detail) if wants_json() else _page(403, detail)

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict) -> Any:
        mark_rollback()
        return problem(409, str(exc), unmet=[]) if wants_json() else _page(409, str(exc))

    @app.errorhandler(Refused)
    def _refused(exc: Refused) -> Any:
        # The refusal's audit event was written by the service: commit it. The API blueprint
        # answers its refusals itself, with the unmet reasons in its own JSON shape.
        return problem(409, str(exc)) if wants_json() else _page(409, str(exc))

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Any:
        incident = secrets.token_hex(6)
        mark_rollback()
        if database_unavailable(exc):
            return _unavailable(exc, incident)
        log.exception("unhandled error incident=%s request_id=%s", incident, g.get("request_id"))
        detail = f"An unexpected error occurred. Incident {incident} has been logged."
        if (own := _own_format()) is not None:
            return own(500, detail)
        if wants_json():
            return problem(500, detail, incident=incident)
        return _page(500, detail, incident)


# A database fault is expected (a restart, a failover): the client is told to send the request
# again, and the log gets one line, not a traceback.
UNAVAILABLE_CODE = "DATABASE_UNAVAILABLE"
_UNAVAILABLE_API = ("The database cannot be reached for a moment. Send the request again in "
                    "{wait}; a write sent again with the same Idempotency-Key is recorded at "
                    "most once.")
_UNAVAILABLE_OTHER = ("The database cannot be reached for a moment. Send the request again "
                      "in {wait}.")
_UNAVAILABLE_PAGE = ("The database cannot be reached for a moment. Wait {wait} and try "
                     "again. If you had sent a form, check whether your change is shown "
                     "before you send it again.")


def _unavailable(exc: BaseException, incident: str) -> Response:
    """503 with Retry-After, in the format of the path: problem+json (code
    DATABASE_UNAVAILABLE), OperationOutcome (FHIR, CDS Hooks) or a page."""
    retry_after = int(current_app.config["DB_RETRY_AFTER_SECONDS"])
    g.database_unavailable = True  # nothing else of this request touches the database
    orig = getattr(exc, "orig", None) or exc
    # Names and codes only: an SQL error's text can carry the statement's values.
    log.warning("database unavailable incident=%s request_id=%s method=%s endpoint=%s "
                "error=%s sqlstate=%s", incident, g.get("request_id"), request.method,
                request.endpoint or "-", type(orig).__name__, getattr(orig, "sqlstate", None))
    wait = _wait_text(retry_after)
    if (own := _own_format()) is not None:
        answer = own(503, _UNAVAILABLE_OTHER.format(wait=wait))
    elif wants_json():
        answer = problem(503, _UNAVAILABLE_API.format(wait=wait), code=UNAVAILABLE_CODE,
                         incident=incident)
    else:
        # The signed-in user's details cannot be loaded now: the page shows no account bar.
        g.user = None
        answer = make_response(_page(503, _UNAVAILABLE_PAGE.format(wait=wait), incident))
    answer.headers["Retry-After"] = str(retry_after)
    return answer


def _wait_text(seconds: int) -> str:
    """How long to wait, in the largest whole unit a person reads at a glance."""
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{ceil(seconds / 60)} minutes"
    return f"{ceil(seconds / 3600)} hours"


def _detail(status: int, exc: HTTPException) -> str:
    return {
        400: "The request could not be read.",
        401: "Send a valid API token: Authorization: Bearer <token>.",
        403: "Your role may not do this.",
        404: "Not found.",
        405: "This method is not allowed here.",
        413: "The request is too large.",
        415: "Send the body as application/json.",
        429: "Too many requests; wait a moment.",
    }.get(status, exc.description or TITLES.get(status, "Error"))
