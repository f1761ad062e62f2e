"""CORS for the interoperability endpoints: browser-based EHR apps (SMART apps, CDS Hooks
clients) call them directly from the origins in TRACKER_CORS_ORIGINS. Other origins get no
CORS header at all, so the browser keeps the answer from them. No cookie is ever involved:
callers authenticate with a bearer token or a JWT, so credentials are not allowed."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask.wrappers import Response

ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, OPTIONS"
PREFLIGHT_MAX_AGE = "600"


def _add_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if origin is None or origin.rstrip("/") not in current_app.config.get("CORS_ORIGINS", ()):
        return response
    response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response


def allow_cors(bp: Blueprint) -> None:
    """Answer CORS for the allowed origins on every response of the blueprint, preflights
    (OPTIONS, answered by Flask for every route) included."""
    bp.after_request(_add_headers)
