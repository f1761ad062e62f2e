"""The pharmacy counter: look up, dispense, history."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("pharmacy", __name__)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
