"""The auditor's journey: the program report of the demo database (`tracker demo`, with
`--patients 1500` generated patients so that the months have something to show), its charts
and tables, a CSV download, and no clinical page. Screenshots for the README."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.accessibility import assert_accessible
from tests.e2e.conftest import (
    PASSWORD,
    PROGRAM_TIMEZONE,
    SCREENSHOTS,
    Server,
    _free_port,
    _start,
    sign_in,
)
from tracker.db import Database
from tracker.models import Patient, User
from tracker.services import authorizations, prescriptions, users
from tracker.services.context import Actor, Context
from tracker.services.errors import Refused
from tracker.services.signing import ReenteredPassword

AUDITOR = "auditor@e2e.test"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("e2e-reports")
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(tmp),
           "TRACKER_DATABASE_URL": "sqlite:///" + str(tmp / "demo.sqlite3"),
           "TRACKER_SECRET_KEY": "e2e-secret-key", "TRACKER_PROGRAM_TIMEZONE": PROGRAM_TIMEZONE}
    env.pop("TRACKER_ENV", None)
    tracker = str(Path(sys.executable).parent / "tracker")
    for argv in (["db", "upgrade"], ["demo"], ["demo", "--patients", "1500", "--seed", "2026"]):
        subprocess.run([tracker, *argv], env=env, check=True, capture_output=True)
    database = Database(env["TRACKER_DATABASE_URL"])
    with database.transaction() as session:
        users.create_user(Context(session=session, actor=Actor.system("e2e")), role="auditor",
                          email=AUDITOR, name="Rene Auditor", password=PASSWORD)
        _refused_markings(session, tmp / "demo-logins.txt")
    database.engine.dispose()
    # The nightly job: the auditor's default report is stored.
    subprocess.run([tracker, "reports", "refresh"], env=env, check=True, capture_output=True)
    port = _free_port()
    process = _start(env, port)
    try:
        yield Server(f"http://127.0.0.1:{port}", 0, env)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _refused_markings(session: Session, logins: Path) -> None:
    """Dr. Derm presses "Mark dispensable" for three demo patients who are not ready (not
    enrolled, waiting for the 30-day contraception lead time, a positive test): three refusals
    in the audit trail, as the page would record them."""
    line = next(x for x in logins.read_text().splitlines() if "dana.derm@demo.test" in x)
    password = line.split()[-1]
    doc = session.scalar(select(User).where(User.email == "dana.derm@demo.test"))
    assert doc is not None
    ctx = Context(session=session, actor=Actor(user_id=doc.id, role=doc.role, name=doc.name))
    for first, last in (("Jordan", "Lee"), ("Casey", "Morgan"), ("Quinn", "Rossi")):
        patient = session.scalar(select(Patient).where(Patient.first_name == first,
                                                       Patient.last_name == last))
        assert patient is not None
        rx = prescriptions.write_prescription(ctx, patient.id, ctx.today(), 30, 30)
        with pytest.raises(Refused):
            authorizations.authorize(ctx, rx.id, signature=ReenteredPassword(password))


def test_the_auditor_reads_the_program_report(page: Page, demo_server: Server) -> None:
    sign_in(page, demo_server, AUDITOR)
    # The auditor's home is the report, stored by the nightly job; signing in was recorded in
    # the audit trail after it.
    expect(page.get_by_role("heading", name="Program report")).to_be_visible()
    expect(page.locator(".report-counted")).to_contain_text("by the nightly refresh; 1 change "
                                                            "recorded since")
    assert_accessible(page)
    trend = page.get_by_role("img", name="Month by month")
    expect(trend).to_be_visible()
    expect(page.get_by_role("img", name="Refusals by reason code")).to_be_visible()
    expect(page.locator("#table-refusals").get_by_role(
        "rowheader", name="PATIENT_NOT_ENROLLED")).to_be_visible()
    expect(page.get_by_role("img", name="Days from prescription written to dispense")
           ).to_be_visible()
    summary = page.locator("#table-summary")
    issued = summary.locator("tr").filter(
        has=page.get_by_role("rowheader", name="Authorizations issued", exact=True))
    expect(issued).to_be_visible()
    assert int(issued.locator("td").inner_text()) > 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports.png"))  # the top of the page
    sections = page.locator("section.report-section")
    for n, name in ((1, "reports-trend"), (2, "reports-refusals"), (3, "reports-delays")):
        sections.nth(n).screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download “Per pharmacy” as CSV").click()
    assert download.value.suggested_filename.startswith("report-pharmacies-")
    # Counted again now: the same page, counted live.
    page.get_by_role("link", name="Count again now").click()
    expect(page.locator(".report-counted")).to_contain_text("Counted now, on")
    assert int(issued.locator("td").inner_text()) > 0
    assert_accessible(page)
    # The printed assessment report: no form, no download links.
    page.emulate_media(media="print")
    expect(page.locator("form.report-period")).to_be_hidden()
    page.emulate_media(media="screen")
    # No clinical record page for the auditor.
    response = page.goto(demo_server.url + "/worklist")
    assert response is not None and response.status == 403
