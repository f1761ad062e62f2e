"""What the journeys do on the pages, step by step, the way a person does it: follow a link, fill
the labelled fields, press the button, and wait for the page that answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import PASSWORD, days_ago, program_today
from tracker.domain.comprehension import QUESTIONS

# RULES.md §9: the right answer to each question, kept here rather than read from the code so
# that a wrong answer key in the application would fail the journey.
RIGHT_ANSWERS = {
    "birth-defects": True, "two-methods": True, "month-before-after": True,
    "negative-test-each-month": True, "share-ok": False, "blood-donation": False,
    "stop-if-pregnant": True, "breastfeeding-ok": False,
}
AUTHORIZATION_NUMBER = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")
CAN = "Can get pregnant"
CANNOT = "Cannot get pregnant"
LAB = "CLIA-certified laboratory"
OFFICE = "Medical office (another medical setting)"
METHODS = ("Intrauterine device (IUD)", "Male condom")
# The `open_as` fixture: a signed-in page for the user with this email.
OpenAs = Callable[[str], Page]


@dataclass(frozen=True)
class Patient:
    id: int
    first_name: str
    last_name: str
    born: date

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# --- the prescriber --------------------------------------------------------------------------


def fill_registration(page: Page, first: str, last: str, born: date, category: str) -> None:
    """From any clinic page: the registration form, filled in and not yet sent."""
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Register a patient").click()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Birth date").fill(born.isoformat())
    page.get_by_label(category, exact=True).check()


def register_patient(page: Page, first: str, last: str, born: date, category: str) -> Patient:
    """From any prescriber page: register a patient; the next page asks for the signature."""
    fill_registration(page, first, last, born, category)
    page.get_by_role("button", name="Register the patient").click()
    expect(page.get_by_role("heading", name="Acknowledgment of the warning")).to_be_visible()
    found = re.search(r"/patients/(\d+)/acknowledgment$", page.url)
    assert found, page.url
    return Patient(int(found.group(1)), first, last, born)


def staff_register_patient(page: Page, first: str, last: str, born: date,
                           category: str) -> Patient:
    """Office staff register a patient: the patient's page says the acknowledgment waits for
    the prescriber, who witnesses it."""
    fill_registration(page, first, last, born, category)
    page.get_by_role("button", name="Register the patient").click()
    expect(page.get_by_role("status")).to_contain_text(f"{first} {last} is registered.")
    expect(page.get_by_role("heading", name=f"{first} {last}", exact=True)).to_be_visible()
    found = re.search(r"/patients/(\d+)$", page.url)
    assert found, page.url
    return Patient(int(found.group(1)), first, last, born)


def sign_acknowledgment(page: Page, typed_name: str) -> None:
    """On the acknowledgment page: the patient signs (dated today), the prescriber witnesses
    with their password; then back to the patient's page."""
    page.get_by_label("Patient's signature").fill(typed_name)
    page.get_by_label("The patient confirms the meaning of this signature").check()
    page.get_by_label("Your password, as the witnessing prescriber").fill(PASSWORD)
    page.get_by_role("button", name="Record the signature").click()
    expect(page.get_by_role("status")).to_contain_text("The acknowledgment is signed and recorded.")
    expect(page.get_by_text("Verified: the record is unchanged since it was signed.")
           ).to_be_visible()
    page.get_by_role("link", name="Back to the patient").click()
    expect(page.get_by_text("Enrolled: acknowledgment signed")).to_be_visible()


def open_patient(page: Page, patient: Patient) -> None:
    """From the worklist, the patient's page."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    page.get_by_role("link", name=f"{patient.last_name}, {patient.first_name}").click()
    expect(page.get_by_role("heading", name=patient.name, exact=True)).to_be_visible()


def _record_link(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Record for this patient").get_by_role(
        "link", name=name, exact=True).click()


def _back_on_patient_page(page: Page, patient: Patient, flash: str) -> None:
    expect(page.get_by_role("status")).to_contain_text(flash)
    expect(page.get_by_role("heading", name=patient.name, exact=True)).to_be_visible()


def record_pregnancy_test(page: Page, patient: Patient, collected: date, setting: str,
                          result: str = "Negative") -> None:
    """From the patient's page: a pregnancy test with its collection date, result and place."""
    _record_link(page, "Pregnancy test")
    page.get_by_label("Date the specimen was collected").fill(collected.isoformat())
    page.get_by_label(result, exact=True).check()
    page.get_by_label(setting, exact=True).check()
    page.get_by_role("button", name="Record the test").click()
    _back_on_patient_page(page, patient, "The pregnancy test is recorded.")


def record_contraception(page: Page, patient: Patient, entered: date, started: date,
                         methods: tuple[str, ...]) -> None:
    """From the patient's page: the methods in use and the day they started."""
    _record_link(page, "Contraception")
    page.get_by_label("Date of this entry").fill(entered.isoformat())
    page.get_by_label("Date the contraception (or abstinence) started").fill(started.isoformat())
    for method in methods:
        page.get_by_label(method, exact=True).check()
    page.get_by_role("button", name="Record the contraception").click()
    _back_on_patient_page(page, patient, "The contraception is recorded.")


def record_counseling(page: Page, patient: Patient, day: date | None = None) -> None:
    """From the patient's page: the prescriber confirms the counseling (today by default)."""
    _record_link(page, "Counseling")
    if day is not None:
        page.get_by_label("Date of the counseling").fill(day.isoformat())
    else:
        expect(page.get_by_label("Date of the counseling")).to_have_value(
            program_today().isoformat())
    page.get_by_role("button", name="Record the counseling").click()
    _back_on_patient_page(page, patient, "The counseling is recorded.")


def answer_questions(page: Page, answers: dict[str, bool], methods: tuple[str, ...]) -> None:
    """On the patient screen: one answer per statement, and the birth control in use."""
    for question in QUESTIONS:
        group = page.get_by_role("group", name=question.statement)
        group.get_by_label("True" if answers[question.id] else "False", exact=True).check()
    for method in methods:
        page.get_by_label(method, exact=True).check()
    page.get_by_role("button", name="Send my answers").click()


def hand_over_questions(page: Page) -> None:
    """From the patient's page, the screen the patient answers on: nothing else reachable."""
    _record_link(page, "Comprehension questions (hand over)")
    expect(page.get_by_text("Patient screen")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


def write_prescription(page: Page, patient: Patient, days: int, quantity: int) -> str:
    """From the patient's page: a prescription written today; returns its number."""
    _record_link(page, "Write a prescription")
    expect(page.get_by_label("Date written")).to_have_value(program_today().isoformat())
    page.get_by_label("Days' supply").fill(str(days))
    page.get_by_label("Quantity (capsules)").fill(str(quantity))
    expect(page.get_by_label("Refills")).to_have_value("0")
    page.get_by_role("button", name="Write the prescription").click()
    heading = page.get_by_role("heading", name=re.compile(r"^Prescription "), level=1)
    expect(heading).to_be_visible()
    return heading.inner_text().removeprefix("Prescription ").strip()


def press_mark_dispensable(page: Page) -> None:
    """On a pending prescription: sign with the password and press "Mark dispensable"."""
    form = page.locator("form.mark")
    form.get_by_label("Your password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Mark dispensable").click()


def mark_dispensable(page: Page) -> tuple[str, str]:
    """On a prescription whose requirements are all met: mark it dispensable. Returns the
    authorization number and its do-not-dispense-after text, as shown large on the page."""
    press_mark_dispensable(page)
    expect(page.get_by_role("status")).to_contain_text("The prescription is marked dispensable.")
    card = page.get_by_role("region", name="Marked dispensable")
    expect(card).to_be_visible()
    figures = card.locator(".big")
    number = figures.nth(0).inner_text().strip()
    assert AUTHORIZATION_NUMBER.fullmatch(number), number
    return number, figures.nth(1).inner_text().strip()


def authorized_cannot_get_pregnant(page: Page, first: str, last: str,
                                   born: date) -> tuple[Patient, str]:
    """A patient who cannot get pregnant, registered, enrolled, counseled today and authorized
    for a 30-day prescription (RULES.md §7): the patient and the authorization number."""
    patient = register_patient(page, first, last, born, CANNOT)
    sign_acknowledgment(page, f"{first} {last}")
    record_counseling(page, patient)
    write_prescription(page, patient, days=30, quantity=30)
    number, _ = mark_dispensable(page)
    return patient, number


def prepare_first_fill(page: Page, patient: Patient, confirmation: date) -> None:
    """The records before a first fill, entered from the chart: a screening test and the
    contraception that started 40 days ago, and the confirmation test."""
    record_pregnancy_test(page, patient, days_ago(40), OFFICE)
    record_contraception(page, patient, confirmation, days_ago(40), METHODS)
    record_pregnancy_test(page, patient, confirmation, LAB)


def authorized_can_get_pregnant(page: Page, first: str, last: str,
                                born: date) -> tuple[Patient, str]:
    """A patient who can get pregnant, ready for a first fill (RULES.md §6: confirmation test
    yesterday, contraception for 40 days, counseled, every answer right) and authorized for a
    30-day prescription: the patient and the authorization number."""
    patient = register_patient(page, first, last, born, CAN)
    sign_acknowledgment(page, f"{first} {last}")
    prepare_first_fill(page, patient, days_ago(1))
    record_counseling(page, patient)
    hand_over_questions(page)
    answer_questions(page, RIGHT_ANSWERS, METHODS)
    page.get_by_role("link", name="Take the screen back").click()
    page.get_by_label("Your password (the clinic's, not the patient's)").fill(PASSWORD)
    page.get_by_role("button", name="Take the screen back").click()
    expect(page.get_by_text("Every requirement is met today.")).to_be_visible()
    write_prescription(page, patient, days=30, quantity=30)
    number, _ = mark_dispensable(page)
    return patient, number


def search_worklist(page: Page, query: str) -> None:
    """From any clinic page: the worklist, searched."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    page.get_by_label("Search").fill(query)
    page.get_by_role("button", name="Search").click()


def reverse_blocked(page: Page, expected_reason: str, why: str) -> Locator:
    """On a prescription whose authorization is blocked: the card names the reason; reverse
    the authorization, saying why. Returns the prescription's authorizations, for the record
    of the reversal."""
    card = page.get_by_role("region", name="Blocked: a pharmacy would refuse this authorization")
    expect(card).to_contain_text(expected_reason)
    card.get_by_label("Reason for reversing").fill(why)
    card.get_by_role("button", name="Reverse the authorization").click()
    expect(page.get_by_role("status")).to_contain_text("The authorization is reversed")
    history = page.get_by_role("region", name="Authorizations of this prescription")
    expect(history).to_contain_text("Reversed")
    expect(history).to_contain_text(f"Why: {why}")
    return history


# --- the pharmacy counter -----------------------------------------------------------------------


def look_up(page: Page, number: str, born: date) -> None:
    """At the counter: the authorization number and the patient's date of birth."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Look up").click()
    page.get_by_label("Authorization number").fill(number)
    page.get_by_label("Patient's date of birth").fill(born.isoformat())
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name=f"Authorization {number}")).to_be_visible()


def record_dispense(page: Page) -> None:
    """On a status page that says "May be dispensed now": the prescribed quantity and days,
    with the Medication Guide handed over."""
    page.get_by_label("I handed the Medication Guide to the patient").check()
    page.get_by_role("button", name="Record the dispense").click()
