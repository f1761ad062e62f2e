"""Program administration: pharmacies, users, tokens."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
