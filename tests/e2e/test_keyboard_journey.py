"""Journey 5: the main forms with the keyboard alone, and a label on every input.

A prescriber registers a patient, has the acknowledgment signed and records her screening test;
a pharmacist looks an authorization up and records the dispense. Nothing is clicked: focus moves
with Tab, text is typed, choices are made with the arrow keys and Space, buttons are pressed
with Enter. On each of those pages the DOM is asked whether every control has a label."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import Browser, Page, expect

from tests.e2e import keyboard, steps
from tests.e2e.conftest import PASSWORD, Server, days_ago, written

pytestmark = pytest.mark.e2e


@pytest.fixture
def keys(browser: Browser) -> Iterator[Page]:
    """A browser at the en-US defaults, which fix how a date field is typed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _sign_in(page: Page, server: Server, email: str) -> None:
    page.goto(server.url + "/login")
    keyboard.assert_every_control_labelled(page)
    keyboard.fill(page, "Email", email)
    keyboard.fill(page, "Password", PASSWORD)
    keyboard.press(page, "Sign in")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_prescriber_registers_a_patient_and_records_a_test_by_keyboard(
    keys: Page, server: Server
) -> None:
    page = keys
    _sign_in(page, server, "doc@e2e.test")
    keyboard.press(page, "Register a patient", "a")
    expect(page.get_by_role("heading", name="Register a patient")).to_be_visible()
    keyboard.assert_every_control_labelled(page)
    keyboard.fill(page, "First name", "Ines")
    keyboard.fill(page, "Last name", "Moreau")
    keyboard.fill_date(page, "Birth date", date(1996, 5, 21))
    keyboard.choose(page, "Can get pregnant", "Can get pregnant")
    keyboard.press(page, "Register the patient")
    expect(page.get_by_role("heading", name="Acknowledgment of the warning")).to_be_visible()
    expect(page.get_by_text("Ines Moreau, born May 21, 1996")).to_be_visible()

    keyboard.assert_every_control_labelled(page)
    keyboard.fill(page, "Patient's signature: full name, typed by the patient", "Ines Moreau")
    keyboard.tick(page, "The patient confirms the meaning of this signature: I have read and "
                        "understood.")
    keyboard.fill(page, "Your password, as the witnessing prescriber", PASSWORD)
    keyboard.press(page, "Record the signature")
    expect(page.get_by_role("status")).to_contain_text("The acknowledgment is signed and recorded.")
    keyboard.press(page, "Back to the patient", "a")
    expect(page.get_by_role("heading", name="Ines Moreau")).to_be_visible()

    keyboard.press(page, "Pregnancy test", "a")
    expect(page.get_by_role("heading", name="Pregnancy test")).to_be_visible()
    keyboard.assert_every_control_labelled(page)
    screening = days_ago(3)
    keyboard.fill_date(page, "Date the specimen was collected", screening)
    keyboard.choose(page, "Negative", "Negative")
    keyboard.choose(page, "CLIA-certified laboratory", "Medical office (another medical setting)")
    keyboard.press(page, "Record the test")
    expect(page.get_by_role("status")).to_contain_text("The pregnancy test is recorded.")
    record = page.get_by_role("region", name="Records").get_by_role("row").filter(
        has_text="Pregnancy test: negative")
    expect(record).to_contain_text(written(screening))
    expect(record).to_contain_text("Done at: medical office")


def test_pharmacist_looks_up_and_dispenses_by_keyboard(
    keys: Page, server: Server, open_as: steps.OpenAs
) -> None:
    # Made ready with the pointer: a patient who cannot get pregnant, counseled, authorized.
    doc = open_as("doc@e2e.test")
    lena, number = steps.authorized_cannot_get_pregnant(doc, "Lena", "Park",
                                                        date(1958, 11, 4))

    page = keys
    _sign_in(page, server, "rx@e2e.test")
    expect(page.get_by_role("heading", name="Look up an authorization")).to_be_visible()
    keyboard.assert_every_control_labelled(page)
    keyboard.fill(page, "Authorization number", number.replace("-", " ").lower())
    keyboard.fill_date(page, "Patient's date of birth", lena.born)
    keyboard.press(page, "Look up", "button")
    expect(page.get_by_role("heading", name=f"Authorization {number}")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("May be dispensed now")

    keyboard.assert_every_control_labelled(page)
    expect(page.get_by_label("Quantity dispensed")).to_have_value("30")
    keyboard.tick(page, "I handed the Medication Guide to the patient")
    keyboard.press(page, "Record the dispense")
    expect(page.get_by_role("heading", name="Dispense record")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("The dispense is recorded.")
    expect(page.locator("dl.facts")).to_contain_text("Lena Park")
    expect(page.locator("dl.facts")).to_contain_text("Handed to the patient")
