"""The baseline of the HTTP benchmark: a bare Flask app answering a small JSON document,
served by gunicorn with the same gunicorn.conf.py as tracker. Whatever the tracker's endpoints
cost beyond this is the tracker's own work (token check, database, rules, JSON).

    gunicorn -c gunicorn.conf.py "benchmarks.bare_app:create_app()"
"""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue


def create_app() -> Flask:
    """A Flask app with one route and nothing else."""
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> ResponseReturnValue:
        return jsonify({"status": "ok", "dispensable": True, "rule_set": "ipledge-2026"})

    return app
