"""The JSON API v1 (API.md): bearer tokens, strict bodies, problem documents, OpenAPI 3.1.

Every operation passes the same guard, in this order: a valid bearer token (401), a role the
operation admits (403), well-formed path values (404), a body of at most BODY_MAX bytes (413)
sent as application/json (415). Only then does the view parse the body (400, 422) and call a
service (404, 409, 422)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from tracker.api import routes  # noqa: F401 - declares the operations
from tracker.api.fields import INT_MAX, Calendar
from tracker.api.openapi import document
from tracker.api.registry import OPERATIONS, Operation
from tracker.api.shapes import reason_json
from tracker.http import csrf
from tracker.http.access import PERMISSION_ATTR, public
from tracker.http.bearer import admit_token_holder
from tracker.http.errors import problem
from tracker.http.requests import context
from tracker.services.errors import Refused, ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api/v1")
BODY_MAX = 64 * 1024  # far above any request of API.md; bounds what a client can make us parse
_ID = re.compile(r"[0-9]{1,10}")
# Authorization numbers are Crockford base32 groups; lower case and spacing are forgiven by the
# service, anything else cannot be one.
_NUMBER = re.compile(r"[0-9A-Za-z-]{1,20}")


def _path_values(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Path values as the views take them; a value that cannot name anything answers 404."""
    out = dict(kwargs)
    if "id" in out:
        text = out["id"]
        if not _ID.fullmatch(text) or not 1 <= int(text) <= INT_MAX:
            abort(404)
        out["id"] = int(text)
    if "number" in out and not _NUMBER.fullmatch(out["number"]):
        abort(404)
    return out


def _only_declared_query(op: Operation) -> None:
    """An operation that reads query parameters refuses any other (422): a misspelt `as_of`
    must not silently evaluate as of today."""
    unknown = sorted(set(request.args) - set(op.query))
    if unknown:
        accepted = ", ".join(op.query)
        raise ValidationFailed({name or "query": [f"Unknown query parameter; this operation "
                                                  f"takes only: {accepted}."]
                                for name in unknown})


def _guard(op: Operation) -> Callable[..., ResponseReturnValue]:
    view = op.view
    assert view is not None

    @wraps(view)
    def guarded(**kwargs: Any) -> ResponseReturnValue:
        admit_token_holder(op.roles)
        values = _path_values(kwargs)
        if op.query:
            _only_declared_query(op)
        request.max_content_length = BODY_MAX
        if request.method in {"POST", "PATCH", "PUT"} and (op.body is not None or (
            request.get_data()
        )) and request.mimetype != "application/json":
            abort(415)
        return view(**values)

    setattr(guarded, PERMISSION_ATTR, ",".join(op.roles))
    return guarded


@bp.before_request
def _no_cookie_identity() -> None:
    # The API never uses the browser session: identity comes from the bearer token alone.
    g.user = None


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> ResponseReturnValue:
    """A refusal names every unmet requirement (API.md); the service's audit event of it is
    committed."""
    return problem(409, str(exc), unmet=[reason_json(r) for r in exc.decision.unmet])


@bp.route("/openapi.json", methods=["GET"])
@public
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.1 document of this API, served without a token. Its date bounds are those
    of today's program date."""
    return jsonify(document(current_calendar()))


def current_calendar() -> Calendar:
    """Today's program date and the first rule set's start, which bound the accepted dates."""
    ctx = context()
    return Calendar(ctx.today(), min(policy.in_force_from for policy in ctx.rule_sets))


for _op in OPERATIONS:
    bp.add_url_rule(_op.rule, endpoint=_op.endpoint, view_func=_guard(_op), methods=[_op.method])


def register(app: Flask) -> None:
    """Mount the API; it needs no CSRF token since it never reads the session cookie."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
