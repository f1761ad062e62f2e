"""Journeys 1 to 3: from registration to the pharmacy counter, with the real clock.

The prescriber and the pharmacist each work in their own browser. Records are dated relative to
today (the program date, RULES.md §1): the screening test and the start of contraception 40
days ago, the confirmation test yesterday, so that every rule of the first fill (RULES.md §6) is
met today."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import expect

from tests.e2e import steps
from tests.e2e.conftest import PASSWORD, days_ago, fits_window, program_today, shot, written
from tests.e2e.steps import CAN, CANNOT, METHODS, RIGHT_ANSWERS, OpenAs

pytestmark = pytest.mark.e2e

def test_patient_who_can_get_pregnant_is_authorized_and_dispensed_exactly_once(
    open_as: OpenAs,
) -> None:
    doc = open_as("doc@e2e.test")
    maya = steps.register_patient(doc, "Maya", "Lopez", date(1998, 3, 14), CAN)
    # RULES.md §4: the typed name matches the registered one, case and spacing aside.
    steps.sign_acknowledgment(doc, "maya  LOPEZ")
    steps.prepare_first_fill(doc, maya, days_ago(1))
    steps.record_counseling(doc, maya)
    checklist = doc.get_by_role("table", name="Requirements for the fill")
    expect(checklist.locator("tr.is-unmet")).to_have_count(1)
    expect(checklist.locator("tr.is-unmet")).to_contain_text("Not met")

    # The patient answers on the prescriber's screen: one wrong answer first.
    steps.hand_over_questions(doc)
    steps.answer_questions(doc, {**RIGHT_ANSWERS, "share-ok": True}, METHODS)
    expect(doc.get_by_role("alert")).to_contain_text("1 answer is not right.")
    wrong = doc.locator("li.question.wrong")
    expect(wrong).to_have_count(1)
    expect(wrong).to_contain_text("share isotretinoin with a friend")
    # Her other answers and her birth control are kept: she corrects the one answer.
    expect(doc.get_by_label(METHODS[0], exact=True)).to_be_checked()
    doc.get_by_role("group", name=re.compile("share isotretinoin")).get_by_label(
        "False", exact=True).check()
    doc.get_by_role("button", name="Send my answers").click()
    expect(doc.get_by_role("heading", name="Thank you, Maya")).to_be_visible()
    expect(doc.get_by_text("All your answers are right.")).to_be_visible()
    # The screen goes back to the clinic only with the prescriber's password.
    doc.get_by_role("link", name="Take the screen back").click()
    doc.get_by_label("Your password (the clinic's, not the patient's)").fill(PASSWORD)
    doc.get_by_role("button", name="Take the screen back").click()
    expect(doc.get_by_text("Every requirement is met today.")).to_be_visible()
    expect(doc.get_by_role("region", name="Timeline").locator("svg")).to_be_visible()
    assert fits_window(doc)
    shot(doc, "patient")

    steps.write_prescription(doc, maya, days=30, quantity=60)
    expect(doc.get_by_text("every requirement is met.", exact=True)).to_be_visible()
    number, last_day = steps.mark_dispensable(doc)
    # RULES.md §8: D+6 from the confirmation test collected yesterday.
    assert last_day == written(days_ago(1) + timedelta(days=6))

    rx = open_as("rx@e2e.test")
    steps.look_up(rx, number.lower(), maya.born)  # typed as read out; the page normalizes it
    expect(rx.get_by_role("status")).to_contain_text("May be dispensed now")
    expect(rx.get_by_role("status")).to_contain_text(f"Until 11:59 PM ET on {last_day}.")
    expect(rx.get_by_label("Quantity dispensed")).to_have_value("60")
    expect(rx.get_by_label("Days' supply")).to_have_value("30")
    # Minimum necessary: nothing clinical reaches the counter.
    expect(rx.get_by_text(re.compile("pregnancy test|contraception|Intrauterine",
                                     re.IGNORECASE))).to_have_count(0)
    assert fits_window(rx)
    shot(rx, "pharmacy-status")

    # A second screen at the counter shows the same authorization before anyone dispenses.
    second = rx.context.new_page()
    second.goto(rx.url.rsplit("/pharmacy", 1)[0] + "/pharmacy")
    steps.look_up(second, number, maya.born)

    steps.record_dispense(rx)
    expect(rx.get_by_role("heading", name="Dispense record")).to_be_visible()
    expect(rx.get_by_role("status")).to_contain_text("The dispense is recorded.")
    expect(rx.locator("dl.facts")).to_contain_text("Sam Counter")
    expect(rx.locator("dl.facts")).to_contain_text(number)

    # The second screen presses the button too: refused, and told who dispensed it.
    steps.record_dispense(second)
    expect(second.get_by_role("alert").filter(has_text="The dispense was not recorded.")
           ).to_be_visible()
    refusal = second.locator(".verdict-stop")
    expect(refusal).to_contain_text("Do not dispense")
    expect(refusal).to_contain_text("Already dispensed on")
    expect(refusal).to_contain_text("by Sam Counter at Main Street Pharmacy")
    expect(second.get_by_role("button", name="Record the dispense")).to_have_count(0)
    assert fits_window(second)
    shot(second, "pharmacy-already-dispensed")

    # Looked up again later: still refused, with no way to record it again.
    steps.look_up(rx, number, maya.born)
    expect(rx.locator(".verdict-stop")).to_contain_text("Already dispensed on")
    expect(rx.get_by_role("button", name="Record the dispense")).to_have_count(0)
    rx.get_by_role("navigation", name="Main").get_by_role("link", name="Dispenses").click()
    expect(rx.get_by_role("row").filter(has_text=number)).to_have_count(1)

    # The prescriber sees the dispense on the patient's page and its timeline.
    steps.open_patient(doc, maya)
    prescriptions = doc.get_by_role("region", name="Prescriptions")
    expect(prescriptions).to_contain_text(f"dispensed, {written(program_today())}")
    timeline = doc.get_by_role("region", name="Timeline")
    expect(timeline.locator("svg")).to_be_visible()
    expect(timeline.locator("svg title").filter(has_text=re.compile("Dispense", re.I))
           ).not_to_have_count(0)


def test_confirmation_test_eight_days_old_is_refused_with_every_reason_and_changes_nothing(
    open_as: OpenAs,
) -> None:
    doc = open_as("doc@e2e.test")
    nora = steps.register_patient(doc, "Nora", "Quinn", date(2001, 9, 30), CAN)
    steps.sign_acknowledgment(doc, "Nora Quinn")
    # As in journey 1, but the confirmation test is 8 days old (its window closed 2 days ago)
    # and the patient has not answered the questions yet.
    steps.prepare_first_fill(doc, nora, days_ago(8))
    steps.record_counseling(doc, nora)
    rx_number = steps.write_prescription(doc, nora, days=30, quantity=60)
    expect(doc.get_by_text("2 requirements not met.")).to_be_visible()
    rx_url = doc.url

    steps.press_mark_dispensable(doc)
    expect(doc.get_by_role("heading", level=1)).to_contain_text("not")
    notice = doc.locator(".notice")
    expect(notice).to_contain_text(f"Prescription {rx_number} for Nora Quinn: nothing was changed.")
    expect(notice).to_contain_text("2 requirements are not met")
    unmet = doc.locator("ol.unmet-list > li")
    expect(unmet).to_have_count(2)
    expect(unmet.filter(has_text="Code WINDOW_EXPIRED")).to_have_count(1)
    expect(unmet.filter(has_text="Code COMPREHENSION_MISSING")).to_have_count(1)
    # The window closed on day 7 of the test collected 8 days ago (RULES.md §6.4).
    expect(unmet.filter(has_text="Code WINDOW_EXPIRED")).to_contain_text(
        written(days_ago(2)))
    assert fits_window(doc)
    shot(doc, "refusal")
    # Shown by a GET (Post/Redirect/Get): reloading it sends nothing again (the audit trail
    # below holds one refusal).
    assert doc.url == rx_url + "/refused"
    doc.reload()
    expect(unmet).to_have_count(2)

    # Nothing changed: still pending, no authorization, the same two requirements open.
    doc.get_by_role("link", name="Back to the prescription").click()
    assert doc.url == rx_url
    expect(doc.locator("dl.facts")).to_contain_text("pending")
    expect(doc.get_by_role("region", name="Marked dispensable")).to_have_count(0)
    expect(doc.get_by_role("region", name="Authorizations of this prescription")
           ).to_have_count(0)
    expect(doc.get_by_text("2 requirements not met.")).to_be_visible()
    doc.get_by_role("link", name="Back to Nora Quinn").click()
    expect(doc.get_by_role("region", name="Prescriptions")).to_contain_text("pending")
    patient_id = doc.locator("dl.facts dt:text-is('Patient id') + dd").inner_text()
    assert int(patient_id) == nora.id

    # The refusal is in the audit trail, which an administrator reads with the patient's id.
    admin = open_as("admin@e2e.test")
    expect(admin.get_by_role("heading", name="Administration")).to_be_visible()
    assert fits_window(admin)
    shot(admin, "admin")
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    admin.get_by_label("Audit a").select_option(label="patient")
    admin.get_by_label("Id").fill(patient_id)
    admin.get_by_role("button", name="Show the trail").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text(
        "Audit trail of patient Nora Quinn")
    expect(admin.get_by_text(re.compile(r"The audit chain verifies: \d+ events"))).to_be_visible()
    refused = admin.get_by_role("row").filter(has_text=re.compile("refused", re.I))
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("Dr. Dana Derm (prescriber)")
    expect(admin.get_by_role("row").filter(has_text=re.compile("authoriz", re.I))
           ).to_have_count(1)
    assert fits_window(admin)
    shot(admin, "audit-trail")


def test_patient_who_cannot_get_pregnant_goes_from_registration_to_dispense(
    open_as: OpenAs,
) -> None:
    doc = open_as("doc@e2e.test")
    ruth = steps.register_patient(doc, "Ruth", "Okafor", date(1961, 7, 2), CANNOT)
    steps.sign_acknowledgment(doc, "Ruth Okafor")
    # RULES.md §7: no tests, contraception or questions; the page offers none of those forms.
    actions = doc.get_by_role("navigation", name="Record for this patient")
    expect(actions.get_by_role("link", name="Contraception")).to_have_count(0)
    expect(actions.get_by_role("link", name=re.compile("Comprehension"))).to_have_count(0)
    steps.record_counseling(doc, ruth)
    expect(doc.get_by_text("Every requirement is met today.")).to_be_visible()
    steps.write_prescription(doc, ruth, days=30, quantity=30)
    expect(doc.get_by_text("under rule set ipledge-2026")).to_be_visible()
    number, last_day = steps.mark_dispensable(doc)
    assert last_day == "No end date"  # RULES.md §8: none under ipledge-2026

    rx = open_as("rx@e2e.test")
    steps.look_up(rx, number, ruth.born)
    expect(rx.get_by_role("status")).to_contain_text("May be dispensed now")
    expect(rx.get_by_role("status")).to_contain_text("no do-not-dispense-after date")
    steps.record_dispense(rx)
    expect(rx.get_by_role("heading", name="Dispense record")).to_be_visible()
    expect(rx.locator("dl.facts")).to_contain_text("Ruth Okafor")

    doc.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    row = doc.get_by_role("row").filter(has=doc.get_by_role("link", name="Okafor, Ruth"))
    expect(row).to_contain_text("cannot get pregnant", ignore_case=True)
    # 30 days dispensed today: the next fill is due in 30 days.
    expect(row).to_contain_text(
        f"Next fill due on {written(program_today() + timedelta(days=30))}")
    expect(row).to_contain_text(f"enrolled {written(program_today())}")
    assert fits_window(doc)
    shot(doc, "worklist")
