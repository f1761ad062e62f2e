"""The Flask class of tracker: Flask itself, except for database faults raised outside a view."""

from __future__ import annotations

from flask import Flask
from flask.wrappers import Response

from tracker.db import database_unavailable


class TrackerFlask(Flask):
    def handle_exception(self, e: Exception) -> Response:
        """A lost or refused database connection met while committing the request's
        transaction or saving the browser session (after the view) is answered by the app's
        error handlers, as when a view meets it: 503 with Retry-After and one log line, where
        Flask would log a traceback and answer 500."""
        if database_unavailable(e):
            return self.finalize_request(self.handle_user_exception(e), from_error_handler=True)
        return super().handle_exception(e)
