"""The worklist on a phone, 390 px wide: the page fits the window (no sideways scrolling), the
table stacks, and every patient's status and next step can be read and followed; at the
pharmacy counter the Medication Guide box sits beside its label."""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import Browser, ViewportSize, expect

from tests.e2e import steps
from tests.e2e.conftest import Server, fits_window, shot, sign_in
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
