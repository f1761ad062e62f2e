"""What every HTTP entry (browser pages and the JSON API) shares: the request context, error
answers, access declarations, server-side sessions, security headers and the health check.
It imports neither tracker.web nor tracker.api; they both build on it."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from tracker import logs
from tracker.http import errors, expired_forms, headers, health, requests
from tracker.http.sessions import DatabaseSessionInterface

csrf = CSRFProtect()


def install(app: Flask) -> None:
    """The plumbing before any blueprint: logging, sessions, the per-request transaction, CSRF,
    security headers, error answers and the health check."""
    logs.configure(app)
    app.session_interface = DatabaseSessionInterface()
    requests.install(app)
    expired_forms.install(app)
    csrf.init_app(app)
    headers.install(app)
    errors.install(app)
    app.register_blueprint(health.bp)
