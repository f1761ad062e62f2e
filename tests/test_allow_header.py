"""RFC 9110 §15.5.6: a 405 answer names the methods the resource allows in `Allow`. Every route
of the url map is sent TRACE (which none allows) and each method it does not allow; every 405,
whatever its format (problem document, FHIR OperationOutcome, page), carries `Allow` with the
route's methods."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

ARGUMENT = re.compile(r"<(?:[a-z]+(?:\([^)]*\))?:)?[a-z_]+>")
METHODS = ("TRACE", "GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed(response_allow: str) -> set[str]:
    return {m.strip() for m in response_allow.split(",") if m.strip()}


def test_every_405_of_every_route_names_the_allowed_methods(app: Flask,
                                                            client: FlaskClient) -> None:
    checked = 0
    missing = []
    for rule in app.url_map.iter_rules():
        url = ARGUMENT.sub("1", rule.rule)
        for method in METHODS:
            if method in (rule.methods or ()):
                continue
            response = client.open(url, method=method)
            if method == "TRACE":
                assert response.status_code == 405, (url, response.status_code)
            if response.status_code != 405:
                continue  # another route of the same URL takes this method
            checked += 1
            allow = _allowed(response.headers.get("Allow", ""))
            if not allow >= set(rule.methods or ()) or method in allow:
                missing.append((method, url, response.headers.get("Allow")))
    assert missing == []
    assert checked >= len(list(app.url_map.iter_rules()))


def test_trace_on_the_health_check_is_405_with_allow(client: FlaskClient) -> None:
    response = client.open("/healthz", method="TRACE")
    assert response.status_code == 405
    assert _allowed(response.headers["Allow"]) >= {"GET", "HEAD", "OPTIONS"}
