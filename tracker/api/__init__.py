"""The JSON API v1 (API.md): bearer tokens, strict bodies, problem documents, OpenAPI 3.1."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from tracker.api import routes  # noqa: F401 - declares the operations
from tracker.api.openapi import document
from tracker.api.registry import OPERATIONS, Operation
from tracker.services.people import authenticate_token
from tracker.web.access import PERMISSION_ATTR, public
from tracker.web.requests import context, db_session

bp = Blueprint("api", __name__, url_prefix="/api/v1")
_BODY_METHODS = {"POST", "PATCH", "PUT"}


def _bearer_user() -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return authenticate_token(db_session(), token.strip(), context().now())


def _guard(op: Operation) -> Callable[..., ResponseReturnValue]:
    view = op.view
    assert view is not None

    @wraps(view)
    def guarded(**kwargs: Any) -> ResponseReturnValue:
        user = _bearer_user()
        if user is None:
            abort(401)
        g.user = user
        if user.role not in op.roles:
            abort(403)
        sends_body = bool(request.get_data()) or op.body is not None
        if request.method in _BODY_METHODS and sends_body and (
            request.mimetype != "application/json"
        ):
            abort(415)
        return view(**kwargs)

    setattr(guarded, PERMISSION_ATTR, ",".join(op.roles))
    return guarded


@bp.before_request
def _no_cookie_identity() -> None:
    # The API never uses the browser session: identity comes from the bearer token alone.
    g.user = None


@bp.route("/openapi.json", methods=["GET"])
@public
def openapi() -> ResponseReturnValue:
    return jsonify(document())


for _op in OPERATIONS:
    bp.add_url_rule(_op.rule, endpoint=_op.view.__name__ if _op.view else _op.path,
                    view_func=_guard(_op), methods=[_op.method])


def register(app: Flask) -> None:
    from tracker.web import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
