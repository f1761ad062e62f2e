"""The program report's page: the numbers of the hand-counted history on the page and in each
CSV, charts drawn as accessible SVG with the numbers also as tables, the period checked, and
only admins and auditors let in."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests import builders as b
from tests.conftest import Clock, login
from tests.report_history import build_history
from tracker.services.context import Context

PERIOD = "from=2026-12-01&to=2026-12-15"


@pytest.fixture
def history(ctx: Context, clock: Clock) -> dict[str, Any]:
    return build_history(ctx, clock)


def _csv(client: FlaskClient, table: str) -> list[list[str]]:
    response = client.get(f"/reports/{table}.csv?{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_auditor_reads_the_numbers_on_the_page_and_in_each_csv(
        client: FlaskClient, ctx: Context, history: dict[str, Any]) -> None:
    login(client, b.auditor(ctx).email, b.PASSWORD)
    page = client.get(f"/reports?{PERIOD}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "<script" not in html.split("<main", 1)[1]
    # Three charts, each an image named by its title and described.
    assert html.count('role="img"') == 3
    for ident in re.findall(r'aria-labelledby="(chart\d+)-title', html):
        assert f'<title id="{ident}-title">' in html and f'<desc id="{ident}-desc">' in html
    summary = dict(map(tuple, _csv(client, "summary")[1:]))  # type: ignore[arg-type]
    assert summary["Authorizations issued"] == "4"
    assert summary["Dispenses"] == "2"
    assert summary["Active patients: can get pregnant"] == "6"
    assert summary["Fills delayed, % of dispenses"] == "50.0"
    assert summary["Comprehension first tries"] == "3"
    assert summary["Median days, authorization to dispense"] == "2.0"
    assert _csv(client, "monthly") == [
        ["Month", "New enrollments", "Authorizations issued", "Dispenses"],
        ["2026-12", "1", "4", "2"]]
    refusals = _csv(client, "refusals")
    assert sorted(refusals[1:]) == [["AUTHORIZATION_EXPIRED", "0", "1", "1", "1"],
                                    ["COUNSELING_MISSING", "1", "0", "1", "1"]]
    delays = dict(map(tuple, _csv(client, "delays")[1:]))  # type: ignore[arg-type]
    assert delays["2 days"] == "1" and delays["3 days"] == "1" and delays["same day"] == "0"
    prescribers = {row[0]: row for row in _csv(client, "prescribers")[1:]}
    assert prescribers["Dana Derm"][3:] == ["4", "2", "1", "1", "0", "1"]
    assert prescribers["Gone Doc"][2] == "lapsed (deactivated)"
    standing = sorted(row[2].split(":")[0] for row in _csv(client, "pharmacies")[1:])
    assert standing == ["active", "due for renewal", "lapsed"]
    # The same numbers as the page's tables.
    assert re.search(r"Authorizations issued</th><td class=\"num\">4</td>", html)


def test_a_bad_period_is_refused_naming_the_field(client: FlaskClient, ctx: Context) -> None:
    login(client, b.admin(ctx).email, b.PASSWORD)
    response = client.get("/reports?from=2026-12-10&to=2026-12-01")
    assert response.status_code == 422
    assert "The period starts on or before its last day." in response.get_data(as_text=True)
    response = client.get("/reports?from=yesterday")
    assert response.status_code == 422
    assert "Give the first day as YYYY-MM-DD." in response.get_data(as_text=True)
    assert client.get("/reports/nothing.csv").status_code == 404
    # The default period: the last twelve months.
    assert client.get("/reports").status_code == 200


def test_clinic_and_counter_roles_are_refused(client: FlaskClient, ctx: Context) -> None:
    for user in (b.prescriber(ctx), b.pharmacist(ctx)):
        login(client, user.email, b.PASSWORD)
        assert client.get("/reports").status_code == 403
        assert client.get("/reports/summary.csv").status_code == 403
