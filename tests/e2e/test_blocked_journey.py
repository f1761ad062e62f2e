"""An authorization the pharmacy would refuse shows as Blocked with its reason, on the worklist,
the patient page and the prescription page, and is reversed from there (RULES.md §8), with
who, when and why shown afterwards."""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import expect

from tests.e2e import steps
from tests.e2e.conftest import program_today, shot, written
from tests.e2e.steps import OpenAs

pytestmark = pytest.mark.e2e


def test_authorization_of_an_ended_course_is_blocked_and_reversed(open_as: OpenAs) -> None:
    doc = open_as("doc@e2e.test")
    ines, number = steps.authorized_cannot_get_pregnant(doc, "Ines", "Blanco",
                                                        date(1970, 5, 6))

    # The course ends after the authorization: a pharmacy would refuse it (RULES.md §8).
    steps.open_patient(doc, ines)
    doc.get_by_role("link", name="End the course").click()
    doc.get_by_label("Date of the last dose").fill(program_today().isoformat())
    doc.get_by_role("button", name="End the course").click()

    doc.get_by_role("navigation", name="Main").get_by_role("link", name="Worklist").click()
    doc.get_by_role("link", name="Blocked 1").click()
    row = doc.get_by_role("row").filter(has=doc.get_by_role("link", name="Blanco, Ines"))
    expect(row).to_contain_text(f"Authorization {number} is blocked")
    expect(row).to_contain_text(f"The course ended with the last dose on "
                                f"{written(program_today())}")
    row.get_by_role("link", name="Reverse the authorization").click()

    expect(doc.get_by_role("region", name="Blocked: a pharmacy would refuse this "
                                          "authorization")).to_be_visible()
    shot(doc, "blocked-authorization")
    steps.reverse_blocked(doc, "The course ended", "Course ended before the fill")


def test_positive_test_after_authorization_is_blocked_and_reversed(open_as: OpenAs) -> None:
    doc = open_as("doc@e2e.test")
    lena, number = steps.authorized_can_get_pregnant(doc, "Lena", "Marsh", date(1996, 8, 19))

    # A positive test collected today, the authorization's issue day: the pharmacy would
    # refuse the fill on the check as of the issue day (RULES.md §6.4, §8).
    steps.open_patient(doc, lena)
    steps.record_pregnancy_test(doc, lena, program_today(), steps.LAB, result="Positive")

    steps.search_worklist(doc, "Marsh, Lena")
    row = doc.get_by_role("row").filter(has=doc.get_by_role("link", name="Marsh, Lena"))
    expect(row.locator(".tag.blocked")).to_have_text("Blocked")
    expect(row).to_contain_text(f"Authorization {number} is blocked")
    expect(row).to_contain_text("positive")
    row.get_by_role("link", name="Reverse the authorization").click()

    history = steps.reverse_blocked(doc, "positive",
                                    "Positive pregnancy test on the issue day")
    expect(history).to_contain_text("by Dr. Dana Derm")
    # Nothing blocked is left for her on the worklist; the registry report still is.
    steps.search_worklist(doc, "Marsh, Lena")
    row = doc.get_by_role("row").filter(has=doc.get_by_role("link", name="Marsh, Lena"))
    expect(row.locator(".tag.blocked")).to_have_count(0)
    expect(row).to_contain_text("Registry report due")
