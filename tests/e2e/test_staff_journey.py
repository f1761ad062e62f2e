"""Office staff prepare a patient and the prescriber signs: staff register the patient and
draft the prescription, are never offered a signed act, and the prescriber finds the draft
"ready to sign" on the worklist and marks it dispensable with their password (RULES.md §4,
§7). Every record names who entered it."""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import expect

from tests.e2e import steps
from tests.e2e.steps import CANNOT, OpenAs

pytestmark = pytest.mark.e2e


def test_staff_prepare_a_patient_and_the_prescriber_signs(open_as: OpenAs) -> None:
    nurse = open_as("staff@e2e.test")
    kim = steps.staff_register_patient(nurse, "Kim", "Tran", date(1966, 11, 23), CANNOT)
    acts = nurse.get_by_role("navigation", name="Record for this patient")
    # The signed acts are the prescriber's: staff are not offered them.
    expect(acts.get_by_role("link", name="Acknowledgment", exact=True)).to_have_count(0)
    expect(acts.get_by_role("link", name="Counseling", exact=True)).to_have_count(0)
    expect(nurse.get_by_text("wait for Dr. Dana Derm to sign")).to_be_visible()

    # The patient signs in front of the prescriber, who witnesses it and counsels.
    doc = open_as("doc@e2e.test")
    steps.open_patient(doc, kim)
    doc.get_by_role("navigation", name="Record for this patient").get_by_role(
        "link", name="Acknowledgment", exact=True).click()
    steps.sign_acknowledgment(doc, kim.name)
    steps.record_counseling(doc, kim)

    # Staff draft the prescription; only the prescriber can mark it dispensable.
    steps.open_patient(nurse, kim)
    number = steps.write_prescription(nurse, kim, days=30, quantity=30)
    expect(nurse.get_by_text("Ready for Dr. Dana Derm to sign.")).to_be_visible()
    expect(nurse.get_by_role("button", name="Mark dispensable")).to_have_count(0)

    # The prescriber's worklist has it ready to sign.
    doc.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    doc.get_by_role("link", name="Ready to sign").click()
    row = doc.get_by_role("row").filter(has=doc.get_by_role("link", name="Tran, Kim"))
    expect(row).to_contain_text(f"Prescription {number}, drafted by your staff, is ready for "
                                f"you to sign")
    row.get_by_role("link", name="Open the prescription").click()
    steps.mark_dispensable(doc)

    # Who entered what: the nurse registered and drafted, the prescriber signed.
    steps.open_patient(doc, kim)
    records = doc.get_by_role("region", name="Records")
    expect(records.get_by_role("row").filter(has_text="Registered")).to_contain_text(
        "Nora Nurse")
    expect(records.get_by_role("row").filter(has_text="Counseling")).to_contain_text(
        "Dr. Dana Derm")
    expect(records.get_by_role("row").filter(has_text="Acknowledgment")).to_contain_text(
        "Dr. Dana Derm")
    prescriptions = doc.get_by_role("region", name="Prescriptions")
    expect(prescriptions).to_contain_text(number)
