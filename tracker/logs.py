"""Logging: one line per request with ids and outcomes only — never names, birth dates, test
results, passwords or tokens — and no way for user input to start a new log line."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request
from flask.wrappers import Response

_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\x1b"): "\\x1b"}


class SingleLineFormatter(logging.Formatter):
    """Escapes line breaks and terminal escapes, so a value that came from a request cannot
    forge a log line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        head, sep, trace = text.partition("\nTraceback")
        # The traceback of an exception logged by the app itself stays multi-line.
        return head.translate(_ESCAPES) + (sep + trace if sep else "")


def configure(app: Flask) -> None:
    logger = logging.getLogger("tracker")
    logger.setLevel(logging.INFO)
    if not any(getattr(h, "_tracker", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(SingleLineFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._tracker = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = app.config.get("TESTING", False)
    # The development server's own request lines include query strings (a lookup's birth
    # date): the app logs its own line instead.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    requests_log = logging.getLogger("tracker.request")

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        if not requests_log.isEnabledFor(logging.INFO):
            return response
        user = g.get("user")
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # The record is made here rather than by Logger.info, which would walk the stack to
        # name the calling line: the same line for every request, at a cost on every request.
        requests_log.handle(requests_log.makeRecord(
            requests_log.name, logging.INFO, __file__, 0,
            "request_id=%s method=%s endpoint=%s status=%s user=%s ms=%.1f",
            (g.get("request_id", "-"), request.method, request.endpoint or "-",
             response.status_code, user.id if user is not None else "-", elapsed), None))
        return response
