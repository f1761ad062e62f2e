"""tracker: the eligibility tracker for the isotretinoin pregnancy-prevention program."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def _resource_dir(name: str) -> str:
    """templates/ and migrations/ live at the top of a source checkout and inside the package
    (as tracker/templates, tracker/migrations) when installed from a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return str(candidate)
    raise RuntimeError(f"cannot find the {name} folder of tracker")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application. The only place an app is made; nothing happens at import time."""
    from tracker import api, fhir, http, web
    from tracker import config as config_module
    from tracker.db import Database
    from tracker.http.app import TrackerFlask
    from tracker.http.converters import BoundedIntConverter

    config = dict(config or {})
    app = TrackerFlask(
        __name__,
        instance_path=config.pop("INSTANCE_PATH", None)
        or os.environ.get("TRACKER_INSTANCE_PATH")
        or None,
        template_folder=_resource_dir("templates"),
        static_folder="static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings = config_module.load(app.instance_path, config)
    app.config.update(settings)
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # the session's own limits bound a form's life
    app.extensions["tracker.db"] = Database(
        settings["DATABASE_URL"], settings["DB_POOL_SIZE"],
        busy_timeout=settings["DB_BUSY_TIMEOUT_SECONDS"],
        connect_timeout=settings["DB_CONNECT_TIMEOUT_SECONDS"])
    app.url_map.converters["int"] = BoundedIntConverter  # before any route is added
    http.install(app)  # shared plumbing first: every blueprint relies on it
    web.install(app)
    api.register(app)
    fhir.register(app)
    return app
