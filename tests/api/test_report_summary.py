"""GET /api/v1/reports/summary: the program report's numbers for auditors and admins, the
same as the page's (the hand-counted history of tests/report_history.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.api.scenarios import World, build_world, is_problem
from tests.conftest import TODAY, Clock
from tests.report_history import DEC, build_history
from tracker.services.context import Context
from tracker.services.queries.program_report import Period
from tracker.services.stored_reports import count_for_storage, store

NEW_FIELDS = ("stored", "counted_at", "changes_since", "changes_since_capped")


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
    ({"live": "1"}, "live"),
    ({"live": ""}, "live"),
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


def test_a_stored_summary_is_answered_with_when_it_was_counted(
        app: Flask, ctx: Context, history: dict[str, Any], clock: Clock) -> None:
    world: World = build_world(app, ctx)
    world.token_for("auditor")
    period = {"from": "2026-12-01", "to": "2026-12-15"}
    live = world.send("auditor", "GET", "/reports/summary", query_string=period).get_json()
    assert (live["stored"], live["changes_since"], live["changes_since_capped"]) == (
        False, None, False)
    assert live["counted_at"] == "2026-12-15T17:00:00Z"  # noon in New York
    clock.now = clock.now.replace(hour=7)  # 2 AM in New York: the nightly refresh
    store(ctx, count_for_storage(ctx, Period(DEC, TODAY)))
    clock.set_day(TODAY)
    stored = world.send("auditor", "GET", "/reports/summary", query_string=period).get_json()
    assert (stored["stored"], stored["changes_since"], stored["changes_since_capped"]) == (
        True, 0, False)
    assert stored["counted_at"] == "2026-12-15T07:00:00Z"
    # Every number is the live count's.
    assert {k: v for k, v in stored.items() if k not in NEW_FIELDS} == \
        {k: v for k, v in live.items() if k not in NEW_FIELDS}
    world.send("admin", "GET", "/reports/summary", query_string=period)  # a new token: audited
    stored = world.send("auditor", "GET", "/reports/summary", query_string=period).get_json()
    assert stored["stored"] and stored["changes_since"] >= 1
    again = world.send("auditor", "GET", "/reports/summary",
                       query_string={**period, "live": "true"}).get_json()
    assert (again["stored"], again["changes_since"]) == (False, None)
    assert world.send("auditor", "GET", "/reports/summary",
                      query_string={**period, "live": "false"}).get_json()["stored"]
    for who in ("prescriber", "pharmacist", "staff", "patient"):
        assert is_problem(world.send(who, "GET", "/reports/summary", query_string=period), 403)
