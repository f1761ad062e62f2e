"""The program report's page: the numbers of the hand-counted history on the page and in each
CSV, charts drawn as accessible SVG with the numbers also as tables, the period checked, and
only admins and auditors let in."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests import builders as b
from tests.conftest import TODAY, Clock, login
from tests.report_history import DEC, build_history
from tracker.services import authorizations, stored_reports
from tracker.services.context import Context
from tracker.services.errors import Refused
from tracker.services.queries.program_report import Period
from tracker.services.stored_reports import count_for_storage, store
from tracker.web.report_tables import TABLES

PERIOD = "from=2026-12-01&to=2026-12-15"
REFUSED_MARKINGS = "Refused “Mark dispensable”</th><td class=\"num\">"


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


def _refresh(ctx: Context, first: date, last: date, rule_set: str | None = None) -> None:
    """What `tracker reports refresh` does for one period (`ctx` acts as the system)."""
    store(ctx, count_for_storage(ctx, Period(first, last, rule_set)))


def test_a_stored_report_is_served_says_so_and_counts_the_changes_since(
        client: FlaskClient, ctx: Context, history: dict[str, Any]) -> None:
    login(client, b.auditor(ctx).email, b.PASSWORD)
    live = {table: _csv(client, table) for table in TABLES}
    assert "Counted now, on Dec 15, 2026 at 12:00 PM ET." in \
        client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    _refresh(ctx, DEC, TODAY)
    html = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert ("Counted on Dec 15, 2026 at 12:00 PM ET by the nightly refresh; no change "
            "recorded since.") in html
    assert "Count again now" not in html
    # Every CSV of the stored report is the live one's.
    assert {table: _csv(client, table) for table in TABLES} == live
    # After the refresh, a patient is registered and enrolled, and the marking of their
    # prescription is refused (never counseled): four events in the audit trail.
    d = b.as_user(ctx, history["doc"])
    patient = b.enrolled_patient(d, "cannot_get_pregnant", first="Late", last="Comer")
    with pytest.raises(Refused):
        authorizations.authorize(d, b.prescription(d, patient.id).id, signature=b.SIGNED)
    html = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert re.search(r"by the nightly refresh; 4 changes recorded since \(events in the audit "
                     r"trail after it, sign-ins and look-ups among them\): <a href=\"([^\"]+)\">"
                     r"Count again now</a>", html)
    assert re.search(REFUSED_MARKINGS + "1</td>", html)  # as stored
    again = re.search(r'<a href="([^"]+)">Count again now', html)
    assert again and "live=1" in again.group(1)
    fresh = client.get(again.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Counted now, on" in fresh
    assert re.search(REFUSED_MARKINGS + "2</td>", fresh)
    # The live page's CSV links count live too, so the files say what the page says.
    links = re.findall(r'href="(/reports/summary\.csv[^"]*)"', fresh)
    assert links and all("live=1" in link for link in links)
    summary = dict(map(tuple, _csv(client, "summary")[1:]))  # type: ignore[arg-type]
    assert summary["Refused “Mark dispensable”"] == "1"  # stored, served without live=1
    _refresh(ctx, DEC, TODAY)
    html = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert "no change recorded since" in html
    assert re.search(REFUSED_MARKINGS + "2</td>", html)


def test_a_stored_report_of_yesterday_or_of_another_period_is_not_served(
        client: FlaskClient, ctx: Context, history: dict[str, Any], clock: Clock) -> None:
    login(client, b.admin(ctx).email, b.PASSWORD)
    clock.set_day(TODAY - timedelta(days=1))
    _refresh(ctx, DEC, TODAY - timedelta(days=1))
    clock.set_day(TODAY)
    _refresh(ctx, DEC, TODAY, "ipledge-2026")
    for query in ("from=2026-12-01&to=2026-12-14", PERIOD):
        assert "Counted now" in client.get(f"/reports?{query}").get_data(as_text=True)
    assert "by the nightly refresh" in client.get(
        f"/reports?{PERIOD}&rule_set=ipledge-2026").get_data(as_text=True)


def test_other_roles_get_no_stored_report(client: FlaskClient, ctx: Context,
                                          history: dict[str, Any]) -> None:
    _refresh(ctx, DEC, TODAY)
    for user in (history["doc"], b.pharmacist(ctx)):
        login(client, user.email, b.PASSWORD)
        assert client.get(f"/reports?{PERIOD}").status_code == 403
        assert client.get(f"/reports?{PERIOD}&live=1").status_code == 403
        assert client.get(f"/reports/summary.csv?{PERIOD}").status_code == 403


def test_one_change_and_more_than_can_be_counted(client: FlaskClient, ctx: Context,
                                                 history: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    login(client, b.admin(ctx).email, b.PASSWORD)
    _refresh(ctx, DEC, TODAY)
    b.pharmacy(ctx)
    assert "by the nightly refresh; 1 change recorded since (" in \
        client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    monkeypatch.setattr(stored_reports, "CHANGES_COUNTED_UP_TO", 2)
    b.pharmacy(ctx)
    b.pharmacy(ctx)
    assert "by the nightly refresh; more than 2 changes recorded since (" in \
        client.get(f"/reports?{PERIOD}").get_data(as_text=True)
