"""The worklist on a phone, 390 px wide: the page fits the window (no sideways scrolling), the
table stacks, and every patient's status and next step can be read and followed; at the
pharmacy counter the Medication Guide box sits beside its label."""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e import steps
from tests.e2e.conftest import SCREENSHOTS, Server, fits_window, shot, sign_in
from tests.e2e.steps import CAN, OpenAs, look_up

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 390, "height": 844}


def test_the_worklist_fits_a_phone(browser: Browser, server: Server, open_as: OpenAs) -> None:
    # A long name, enrolled and waiting for tests: the longest cells a row has.
    desk = open_as("doc@e2e.test")
    long = steps.register_patient(desk, "Maximiliana", "Featherstonehaugh-Wolfeschlegel",
                                  date(2000, 6, 1), CAN)
    steps.sign_acknowledgment(desk, long.name)
    context = browser.new_context(viewport=PHONE, locale="en-US")
    try:
        phone = context.new_page()
        phone.set_default_timeout(10_000)
        sign_in(phone, server, "doc@e2e.test")
        expect(phone.get_by_role("heading", name="Worklist")).to_be_visible()
        # The search, the filters and every row (with those the other journeys left) fit.
        row = phone.get_by_role("row").filter(
            has=phone.get_by_role("link", name="Featherstonehaugh-Wolfeschlegel, Maximiliana"))
        expect(row).to_contain_text("Waiting for the patient")
        assert fits_window(phone)
        box = row.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        shot(phone, "worklist-phone")
    finally:
        context.close()


def test_the_medication_guide_box_sits_beside_its_label_on_a_phone(
        browser: Browser, server: Server, open_as: OpenAs) -> None:
    desk = open_as("doc@e2e.test")
    patient, number = steps.authorized_cannot_get_pregnant(desk, "Ines", "Narrow",
                                                           date(1980, 2, 3))
    context = browser.new_context(viewport=PHONE, locale="en-US")
    try:
        phone = context.new_page()
        phone.set_default_timeout(10_000)
        sign_in(phone, server, "rx@e2e.test")
        look_up(phone, number, patient.born)
        box = phone.get_by_label("I handed the Medication Guide to the patient")
        label = phone.locator("label", has_text="I handed the Medication Guide to the patient")
        expect(box).to_be_visible()
        where_box, where_label = box.bounding_box(), label.bounding_box()
        assert where_box is not None and where_label is not None
        # On the same line: the label starts to the right of the box and its first line is
        # level with the box, not below it.
        assert where_label["x"] >= where_box["x"] + where_box["width"]
        assert where_label["y"] < where_box["y"] + where_box["height"]
        assert where_box["y"] < where_label["y"] + where_label["height"]
        assert fits_window(phone)
    finally:
        context.close()


def _phone(browser: Browser, server: Server, email: str) -> Page:
    context = browser.new_context(viewport=PHONE, locale="en-US")
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    sign_in(phone, server, email)
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()
    return phone


def _fits(phone: Page, server: Server, path: str, heading: str, *shown: str) -> None:
    """The page opens at 390 px with no sideways scrolling of the page itself (a wide table
    scrolls inside its own box), its heading and key content visible."""
    phone.goto(server.url + path)
    expect(phone.get_by_role("heading", name=heading).first).to_be_visible()
    for text in shown:
        expect(phone.get_by_text(text).first).to_be_visible()
    assert fits_window(phone), path


def test_every_table_page_fits_a_phone(browser: Browser, server: Server,
                                       open_as: OpenAs) -> None:
    # A patient with records, a prescription, an authorization and its dispense: every table
    # of the clinic's, the counter's and the administrator's pages has rows.
    desk = open_as("doc@e2e.test")
    patient, number = steps.authorized_cannot_get_pregnant(desk, "Philippa", "Narrowbridge",
                                                           date(1975, 3, 4))
    prescription = desk.url.split("?")[0].removeprefix(server.url)
    counter = open_as("rx@e2e.test")
    look_up(counter, number, patient.born)
    steps.record_dispense(counter)
    expect(counter.get_by_role("status")).to_contain_text("The dispense is recorded.")

    doc = _phone(browser, server, "doc@e2e.test")
    try:
        _fits(doc, server, f"/patients/{patient.id}", patient.name, "Acknowledgment",
              "Counseling")
        timeline = doc.get_by_role("region", name="Timeline")
        figure = timeline.locator("svg.timeline")
        expect(figure).to_be_visible()
        # Readable: drawn at least 640 px wide (its 12 px labels stay 8 px or more); the
        # figure scrolls sideways inside the page instead of shrinking.
        box = figure.bounding_box()
        assert box is not None and box["width"] >= 640
        expect(timeline.get_by_text("scroll the timeline sideways")).to_be_visible()
        # Opened at its right end: today's mark is on the screen.
        today = figure.locator("line.tl-today")
        where = today.bounding_box()
        assert where is not None and 0 <= where["x"] <= PHONE["width"]
        timeline.scroll_into_view_if_needed()
        timeline.screenshot(path=str(SCREENSHOTS / "timeline-phone.png"))
        _fits(doc, server, prescription, "Prescription", number, "Dispensed")
        _fits(doc, server, "/settings", "Settings", "Nora Nurse")
    finally:
        doc.context.close()

    rx = _phone(browser, server, "rx@e2e.test")
    try:
        _fits(rx, server, "/pharmacy", "Look up an authorization")
        look_up(rx, number, patient.born)
        assert fits_window(rx)
        _fits(rx, server, "/pharmacy/dispenses", "Dispenses", "Narrowbridge")
    finally:
        rx.context.close()

    admin = _phone(browser, server, "admin@e2e.test")
    try:
        _fits(admin, server, "/admin", "Administration")
        _fits(admin, server, "/admin/users", "Users", "doc@e2e.test", "staff@e2e.test")
        admin.get_by_role("link", name="Dr. Dana Derm").first.click()
        expect(admin.get_by_role("heading", name="Dr. Dana Derm")).to_be_visible()
        assert fits_window(admin)
        _fits(admin, server, "/admin/pharmacies", "Pharmacies")
        _fits(admin, server, f"/admin/pharmacies/{server.pharmacy_id}", "Pharmacy",
              "Sam Counter")
        _fits(admin, server, "/admin/tokens", "API tokens")
        _fits(admin, server, f"/audit/patients/{patient.id}", "Audit trail",
              "Narrowbridge")
    finally:
        admin.context.close()
