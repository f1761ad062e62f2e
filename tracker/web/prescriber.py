"""The prescriber's pages: worklist, patients, records, prescriptions."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("prescriber", __name__)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
