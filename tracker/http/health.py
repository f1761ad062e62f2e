"""The health check a load balancer polls."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker.db import write_intent
from tracker.http.access import public
from tracker.http.requests import database

bp = Blueprint("health", __name__)
log = logging.getLogger("tracker.health")


@bp.route("/healthz", methods=["GET"])
@public
def healthz() -> ResponseReturnValue:
    try:
        with write_intent(False), database().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.warning("health check: database unreachable")
        retry_after = str(current_app.config["DB_RETRY_AFTER_SECONDS"])
        return jsonify({"status": "unavailable"}), 503, {"Retry-After": retry_after}
    return jsonify({"status": "ok"})
