"""No request body larger than MAX_CONTENT_LENGTH (1 MiB by default) is read: a big form or
JSON body is answered 413 before it is parsed, as a page for browsers and problem+json for the
API."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests import builders
from tracker import create_app
from tracker.services.context import Context

TWO_MB = 2 * 1024 * 1024


def test_limit_is_one_mebibyte_by_default(tmp_path: Path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 40,
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "l.db")})
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    app.extensions["tracker.db"].engine.dispose()


def test_limit_is_configurable(tmp_path: Path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 40,
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "l.db"),
                      "MAX_CONTENT_LENGTH": 4096})
    assert app.config["MAX_CONTENT_LENGTH"] == 4096
    app.extensions["tracker.db"].engine.dispose()


def test_two_megabyte_anonymous_login_form_is_refused_unread(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "a@example.test", "password": "x" * TWO_MB})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "too large" in response.get_data(as_text=True)


def test_two_megabyte_json_body_is_refused_as_problem(ctx: Context, api) -> None:  # type: ignore[no-untyped-def]
    body = '{"first_name": "' + "x" * TWO_MB + '"}'
    response = api(ctx, builders.prescriber(ctx)).post(
        "/patients", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 413
