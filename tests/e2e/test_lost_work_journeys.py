"""No lost or repeated work in the browser: a form sent after the session expired comes back
filled in after signing in again, and Back after a dispense shows the pages again without
sending anything (Post/Redirect/Get)."""

from __future__ import annotations

from datetime import date

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import Request, expect

from tests.e2e import steps
from tests.e2e.conftest import PASSWORD, Server, idle_out
from tests.e2e.steps import CAN, OpenAs

pytestmark = pytest.mark.e2e


def test_a_form_sent_after_the_session_expired_keeps_what_was_typed(open_as: OpenAs,
                                                                     server: Server) -> None:
    doc = open_as("doc@e2e.test")
    steps.fill_registration(doc, "Iris", "Kowalski", date(1999, 1, 27), CAN)
    # The prescriber is called away; the session ends while the form is open.
    idle_out(server, "doc@e2e.test")
    doc.get_by_role("button", name="Register the patient").click()

    expect(doc.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(doc.get_by_text("inactivity")).to_be_visible()
    # Nothing typed into the form is kept in the browser.
    cookies = " ".join(c["value"] for c in doc.context.cookies())
    assert "Kowalski" not in cookies
    doc.get_by_label("Email").fill("doc@e2e.test")
    doc.get_by_label("Password").fill(PASSWORD)
    doc.get_by_role("button", name="Sign in").click()

    expect(doc.get_by_role("heading", name="Register a patient")).to_be_visible()
    expect(doc.get_by_text("What you typed is filled in below")).to_be_visible()
    expect(doc.get_by_label("First name")).to_have_value("Iris")
    expect(doc.get_by_label("Last name")).to_have_value("Kowalski")
    expect(doc.get_by_label("Birth date")).to_have_value("1999-01-27")
    expect(doc.get_by_label(CAN, exact=True)).to_be_checked()
    doc.get_by_role("button", name="Register the patient").click()
    expect(doc.get_by_role("heading", name="Acknowledgment of the warning")).to_be_visible()
    expect(doc.get_by_role("status")).to_contain_text("Iris Kowalski is registered.")


def test_back_after_a_dispense_sends_nothing_again(open_as: OpenAs) -> None:
    doc = open_as("doc@e2e.test")
    omar, number = steps.authorized_cannot_get_pregnant(doc, "Omar", "Haddad",
                                                        date(1958, 2, 11))
    rx = open_as("rx@e2e.test")
    steps.look_up(rx, number, omar.born)
    steps.record_dispense(rx)
    expect(rx.get_by_role("heading", name="Dispense record")).to_be_visible()

    posts: list[str] = []

    def note_post(request: Request) -> None:
        if request.method == "POST":
            posts.append(request.url)

    rx.on("request", note_post)
    # Back to the status page the dispense was recorded from: shown again, now refused.
    rx.go_back()
    expect(rx.get_by_role("heading", name=f"Authorization {number}")).to_be_visible()
    expect(rx.locator(".verdict-stop")).to_contain_text("Already dispensed on")
    expect(rx.get_by_role("button", name="Record the dispense")).to_have_count(0)
    # Back once more, to the look-up form: still nothing sent.
    rx.go_back()
    expect(rx.get_by_label("Authorization number")).to_be_visible()
    assert posts == []
    rx.get_by_role("navigation", name="Main").get_by_role("link", name="Dispenses").click()
    expect(rx.get_by_role("row").filter(has_text=number)).to_have_count(1)


def test_a_form_with_errors_comes_back_by_get_so_reload_and_back_send_nothing(
        open_as: OpenAs, server: Server) -> None:
    doc = open_as("doc@e2e.test")
    steps.fill_registration(doc, "Wanda", "Future", date(2099, 1, 1), CAN)
    doc.get_by_role("button", name="Register the patient").click()
    expect(doc.get_by_text("The birth date cannot be in the future.")).to_be_visible()
    expect(doc.get_by_label("Last name")).to_have_value("Future")
    assert doc.url == server.url + "/patients/new"
    # The page on screen was fetched by a GET: Reload asks nothing and sends nothing again;
    # it shows the form afresh.
    sent: list[Request] = []
    doc.on("request", lambda request: sent.append(request))
    doc.reload()
    expect(doc.get_by_role("heading", name="Register a patient")).to_be_visible()
    assert [r.method for r in sent if r.resource_type == "document"] == ["GET"]
    expect(doc.get_by_label("Last name")).to_have_value("")
    steps.search_worklist(doc, "Future")
    expect(doc.get_by_text("Future, Wanda")).to_have_count(0)
