"""GET /api/v1/reports/summary: the program report's numbers for auditors and admins, the
same as the page's (the hand-counted history of tests/report_history.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.api.scenarios import World, build_world, is_problem
from tests.conftest import Clock
from tests.report_history import build_history
from tracker.services.context import Context


@pytest.fixture
def history(ctx: Context, clock: Clock) -> dict[str, Any]:
    return build_history(ctx, clock)


def test_the_auditor_reads_the_summary_of_a_period(app: Flask, ctx: Context,
                                                   history: dict[str, Any]) -> None:
    world: World = build_world(app, ctx)
    response = world.send("auditor", "GET", "/reports/summary",
                          query_string={"from": "2026-12-01", "to": "2026-12-15"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from"], body["to"], body["rule_set"]) == ("2026-12-01", "2026-12-15", None)
    assert body["authorizations"] == {"issued": 4, "dispensed": 2, "reversed": 1,
                                      "expired_unused": 1, "open": 0}
    assert body["dispenses"] == 2 and body["delayed_share"] == 0.5
    assert body["refusals"] == {"AUTHORIZATION_EXPIRED": {"dispense.refused": 1},
                                "COUNSELING_MISSING": {"authorization.refused": 1}}
    assert body["monthly"] == {"2026-12": {"enrollments": 1, "authorizations": 4,
                                           "dispenses": 2}}
    assert body["median_days_test_to_authorization"] == 2.0
    assert body["registry_reports_outstanding"] == 2


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-12-10", "to": "2026-12-01"}, "from"),
    ({"from": "12/01/2026"}, "from"),
    ({"to": "2099-01-01"}, "to"),
    ({"rule_set": "ipledge-1999"}, "rule_set"),
    ({"rule_set": ""}, "rule_set"),
    ({"from": ""}, "from"),
    ({"to": "2021-12-12"}, "to"),
    ({"verbose": "1"}, "verbose"),
])
def test_a_bad_period_answers_422_naming_the_field(app: Flask, ctx: Context,
                                                    query: dict[str, str], field: str) -> None:
    world: World = build_world(app, ctx)
    response = world.send("admin", "GET", "/reports/summary", query_string=query)
    assert is_problem(response, 422)
    assert field in response.get_json()["errors"]


def test_the_default_period_starts_no_earlier_than_the_first_rule_set(app: Flask,
                                                                      ctx: Context) -> None:
    world: World = build_world(app, ctx)
    response = world.send("admin", "GET", "/reports/summary", query_string={"to": "2022-03-31"})
    assert response.status_code == 200
    assert (response.get_json()["from"], response.get_json()["to"]) == ("2021-12-13",
                                                                        "2022-03-31")
