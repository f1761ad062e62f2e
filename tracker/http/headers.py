"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, g, request
from flask.wrappers import Response

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
)


def install(app: Flask) -> None:
    production = app.config["ENV"] == "production"

    @app.after_request
    def _headers(response: Response) -> Response:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "same-origin"
        h["X-Request-Id"] = g.get("request_id", "")
        if production:
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        # Pages and API answers may carry patient data: never cached. Static files may be.
        if request.endpoint != "static":
            h["Cache-Control"] = "no-store"
            h["Pragma"] = "no-cache"
        return response
