"""Ids and page numbers larger than any column holds are a 404 or the last page, never a 500:
every route of the app is walked with 2^63 in each integer segment and as its page number,
signed in as each role and signed out."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from tests import builders
from tests.conftest import login
from tracker.services.context import Context

HUGE = 2**63
ROLES = {"admin": builders.admin, "prescriber": builders.prescriber,
         "pharmacist": builders.pharmacist}
WALKED_ROLES = ["anonymous", *ROLES]


def urls(app: Flask) -> list[tuple[str, str]]:
    """(method, url) for every rule: integer segments 2^63, other segments a plain word."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {name: HUGE if isinstance(converter, IntegerConverter) else "csv"
                  for name, converter in rule._converters.items()}
        path = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((method, f"{path}?page={HUGE}&history={HUGE}&tokens={HUGE}"
                                  f"&corrects={HUGE}"))
    return found


@pytest.mark.parametrize("role", WALKED_ROLES)
def test_no_route_fails_on_huge_ids_or_page_numbers(app: Flask, client: FlaskClient,
                                                    ctx: Context, role: str) -> None:
    if role != "anonymous":
        login(client, ROLES[role](ctx).email, builders.PASSWORD)
    walked = urls(app)
    assert len(walked) > 40
    failures = []
    for method, url in walked:
        if url.startswith("/logout"):
            continue
        response = client.open(url, method=method)
        if response.status_code >= 500:
            failures.append((method, url, response.status_code))
    assert not failures


@pytest.mark.parametrize(("role", "path"), [
    ("prescriber", "/patients/99999999999999999999"), ("prescriber", f"/patients/{HUGE}"),
    ("admin", f"/audit/patients/{2**31}"), ("pharmacist", f"/pharmacy/dispenses/{HUGE}")])
def test_ids_beyond_the_integer_column_are_not_found(client: FlaskClient, ctx: Context,
                                                     role: str, path: str) -> None:
    login(client, ROLES[role](ctx).email, builders.PASSWORD)
    assert client.get(path).status_code == 404


def test_worklist_page_beyond_the_end_is_a_page(client: FlaskClient, ctx: Context) -> None:
    login(client, builders.prescriber(ctx).email, builders.PASSWORD)
    assert client.get("/worklist?page=99999999999999999999").status_code == 200
