"""The worklist: the prescriber's patients, each with the next step and its date; search and
paging; a fixed number of SQL statements whatever the number of patients."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from tests import builders
from tests.builders import SIGNED
from tests.web.prescriber.conftest import page, statements, text_of
from tracker.services import authorizations, patients, records
from tracker.services.audit import chain_pending_events
from tracker.services.context import Context

DAY = timedelta(days=1)


def _authorized_closing_tomorrow(doc: Context):  # type: ignore[no-untyped-def]
    """A first fill authorized today on a confirmation test collected five days ago, so that
    its do-not-dispense-after date (D+6) is tomorrow."""
    today = doc.today()
    p = builders.enrolled_patient(doc, first="Cora", last="Closing")
    records.record_pregnancy_test(doc, p.id, today - 40 * DAY, "negative", "office")
    records.record_contraception(doc, p.id, today - 5 * DAY, today - 40 * DAY,
                                 ["iud", "male_condom"], False)
    records.record_counseling(doc, p.id, today - 5 * DAY)
    records.record_pregnancy_test(doc, p.id, today - 5 * DAY, "negative", "lab")
    records.record_comprehension(doc, p.id, today - 5 * DAY, builders.ANSWERS,
                                 ["iud", "male_condom"], False)
    auth = authorizations.authorize(doc, builders.prescription(doc, p.id).id, signature=SIGNED)
    return p, auth


def test_each_patient_shows_the_next_step_and_its_date(browser: FlaskClient,
                                                       doc: Context) -> None:
    today = doc.today()
    builders.patient(doc, first="Nina", last="New")
    waiting = builders.enrolled_patient(doc, first="Wes", last="Waiting")
    records.record_contraception(doc, waiting.id, today, today - 10 * DAY,
                                 ["combined_pill", "male_condom"], False)
    records.record_pregnancy_test(doc, waiting.id, today - 25 * DAY, "negative", "office")
    ready = builders.ready_for_first_fill(doc, first="Remy", last="Ready")
    rx = builders.prescription(doc, ready.id)
    _, auth = _authorized_closing_tomorrow(doc)
    ended = builders.enrolled_patient(doc, first="Eli", last="Ended")
    patients.end_course(doc, ended.id, today - 10 * DAY)
    positive = builders.enrolled_patient(doc, first="Pia", last="Positive")
    records.record_pregnancy_test(doc, positive.id, today - 2 * DAY, "positive", "lab")

    shown = text_of(page(browser, "/worklist"))

    assert "today Have the patient sign the acknowledgment for the category 'can get " \
           "pregnant'." in shown
    # RULES.md §6.7: contraception from Dec 5, so the confirmation test from Jan 4.
    assert "Jan 4, 2027 The confirmation pregnancy test can be collected from Jan 4, 2027 " \
           "(30 days after the contraception started)." in shown
    assert f"today Prescription {rx.number} can be marked dispensable now." in shown
    assert f"tomorrow Authorization {auth.number} must be dispensed by Dec 16, 2026." in shown
    assert "Jan 4, 2027 Post-treatment pregnancy test due on Jan 4, 2027, 30 days after the " \
           "last dose of Dec 5, 2026" in shown
    assert "since Dec 13, 2026 Report the positive pregnancy test collected on Dec 13, 2026 " \
           "to the pregnancy registry." in shown
    assert "6 patients." in shown


def test_other_prescribers_patients_are_not_listed(browser: FlaskClient, ctx: Context,
                                                   doc: Context) -> None:
    builders.patient(doc, first="Mine", last="Own")
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Other Doc"))
    builders.patient(other, first="Theirs", last="Elsewhere")
    shown = text_of(page(browser, "/worklist"))
    assert "Own, Mine" in shown and "Elsewhere" not in shown


def test_search_by_name_or_birth_date(browser: FlaskClient, doc: Context) -> None:
    builders.patient(doc, first="Maya", last="Lopez", born=date(1998, 3, 14))
    builders.patient(doc, first="Sam", last="Ito", born=date(2001, 7, 9))
    by_name = text_of(page(browser, "/worklist?q=LOP"))
    assert "Lopez, Maya" in by_name and "Ito" not in by_name
    assert "1 patient match “LOP”." in by_name
    for query in ("2001-07-09", "7/9/2001", "07/09/2001"):
        found = text_of(page(browser, f"/worklist?q={query}"))
        assert "Ito, Sam" in found and "Lopez" not in found, query
    none = text_of(page(browser, "/worklist?q=nobody"))
    assert "No patient matches “nobody”." in none


def test_worklist_is_paged(browser: FlaskClient, doc: Context) -> None:
    for n in range(27):
        builders.patient(doc, first=f"P{n:02d}", last="Paged")
    first = page(browser, "/worklist")
    assert first.count("Paged, P") == 25
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = page(browser, "/worklist?page=2")
    assert second.count("Paged, P") == 2
    assert 'href="/worklist?page=1" rel="prev"' in second
    assert "Paged, P26" in second
    assert page(browser, "/worklist?page=junk").count("Paged, P") == 25


def _some_patients(doc: Context, n: int) -> None:
    for i in range(n):
        p = builders.ready_for_first_fill(doc, first=f"Q{i}", last="Count")
        builders.prescription(doc, p.id)
        records.record_pregnancy_test(doc, p.id, doc.today(), "positive", "lab")


def test_worklist_needs_the_same_number_of_statements_for_any_number_of_patients(
    browser: FlaskClient, doc: Context, connection: Connection
) -> None:
    _some_patients(doc, 2)
    page(browser, "/worklist")  # warm up: the same request, the same caches
    with statements(connection) as few:
        page(browser, "/worklist")
    _some_patients(doc, 7)
    # Their audit events in the table before the measure, as committed work's would be (else
    # the test's session appends them as the request starts, inside the count).
    chain_pending_events(doc.session)
    with statements(connection) as many:
        text = page(browser, "/worklist")
    assert text.count("Count, Q") == 9
    assert few and len(many) == len(few), "\n".join(many)


# --- triage: categories, counts, filters, order and search -------------------------------------


def _one_of_each(doc: Context) -> dict[str, Any]:
    """A patient in every category of the worklist, named for it."""
    today = doc.today()
    report = builders.enrolled_patient(doc, first="Rita", last="Report")
    records.record_pregnancy_test(doc, report.id, today - 2 * DAY, "positive", "lab")
    blocked = builders.ready_for_first_fill(doc, first="Bo", last="Blocked")
    blocked_rx = builders.prescription(doc, blocked.id)
    blocked_auth = authorizations.authorize(doc, blocked_rx.id, signature=SIGNED)
    patients.end_course(doc, blocked.id, today)
    ready = builders.ready_for_first_fill(doc, first="Remy", last="Ready")
    ready_rx = builders.prescription(doc, ready.id)
    closing, _ = _authorized_closing_tomorrow(doc)
    waiting = builders.enrolled_patient(doc, first="Wes", last="Waiting")
    done = builders.enrolled_patient(doc, category="cannot_get_pregnant", first="Ned",
                                     last="Nothing")
    patients.end_course(doc, done.id, today - 10 * DAY)
    return {"report": report, "blocked": blocked, "blocked_auth": blocked_auth,
            "blocked_rx": blocked_rx, "ready": ready, "ready_rx": ready_rx,
            "closing": closing, "waiting": waiting, "done": done}


def _rows(markup: str) -> list[str]:
    """The names on the worklist, in the order shown."""
    return re.findall(r'<a href="/patients/\d+">([^<]+)</a>', markup)


def test_default_order_is_the_most_pressing_category_first(browser: FlaskClient,
                                                           doc: Context) -> None:
    _one_of_each(doc)
    markup = page(browser, "/worklist")
    assert _rows(markup) == ["Report, Rita", "Blocked, Bo", "Ready, Remy", "Closing, Cora",
                             "Waiting, Wes", "Nothing, Ned"]
    shown = text_of(markup)
    for status in ("Registry report due", "Blocked", "Ready to sign",
                   "Closing today or tomorrow", "Waiting for the patient", "Nothing due"):
        assert status in shown


def test_order_by_name_on_request(browser: FlaskClient, doc: Context) -> None:
    _one_of_each(doc)
    assert _rows(page(browser, "/worklist?sort=name")) == [
        "Blocked, Bo", "Closing, Cora", "Nothing, Ned", "Ready, Remy", "Report, Rita",
        "Waiting, Wes"]
    # An unknown order is the default one.
    assert _rows(page(browser, "/worklist?sort=junk"))[0] == "Report, Rita"


def test_counts_per_category_are_shown_whatever_the_filter(browser: FlaskClient,
                                                           doc: Context) -> None:
    _one_of_each(doc)
    builders.enrolled_patient(doc, first="Wyn", last="Waiting")
    for url in ("/worklist", "/worklist?category=blocked"):
        shown = text_of(page(browser, url))
        assert ("All 7 Registry report due 1 Blocked 1 Ready to sign 1 Closing today or "
                "tomorrow 1 Waiting for the patient 2 Nothing due 1") in shown


@pytest.mark.parametrize(
    ("category", "names"),
    [
        ("report_due", ["Report, Rita"]),
        ("blocked", ["Blocked, Bo"]),
        ("ready_to_sign", ["Ready, Remy"]),
        ("closing", ["Closing, Cora"]),
        ("waiting", ["Waiting, Wes"]),
        ("nothing_due", ["Nothing, Ned"]),
        ("junk", ["Report, Rita", "Blocked, Bo", "Ready, Remy", "Closing, Cora",
                  "Waiting, Wes", "Nothing, Ned"]),
    ],
)
def test_filter_shows_one_category(browser: FlaskClient, doc: Context, category: str,
                                   names: list[str]) -> None:
    _one_of_each(doc)
    assert _rows(page(browser, f"/worklist?category={category}")) == names


def test_blocked_patient_shows_the_reason_and_the_reversal(browser: FlaskClient,
                                                           doc: Context) -> None:
    made = _one_of_each(doc)
    auth = made["blocked_auth"]
    markup = page(browser, "/worklist?category=blocked")
    shown = text_of(markup)
    assert (f"Blocked today Authorization {auth.number} is blocked: a pharmacy would "
            f"refuse to dispense it; reverse it.") in shown
    assert "The course ended with the last dose on Dec 15, 2026" in shown
    rx = made["blocked_rx"]
    assert f'href="/prescriptions/{rx.id}#reverse-h">Reverse the authorization' in markup


def test_filter_and_search_are_kept_across_pages(browser: FlaskClient, doc: Context) -> None:
    for n in range(27):
        builders.enrolled_patient(doc, first=f"P{n:02d}", last="Paged")
    builders.patient(doc, first="Other", last="Person")
    first = page(browser, "/worklist?category=waiting&q=Paged")
    assert first.count("Paged, P") == 25
    assert "category=waiting" in first and 'rel="next"' in first
    second = page(browser, "/worklist?category=waiting&q=Paged&page=2")
    assert second.count("Paged, P") == 2 and "Person" not in second


def test_empty_category_says_so(browser: FlaskClient, doc: Context) -> None:
    builders.enrolled_patient(doc, first="Wes", last="Waiting")
    assert "No patient blocked." in text_of(page(browser, "/worklist?category=blocked"))


@pytest.mark.parametrize(
    "query",
    ["Lopez, Maya", "lopez,ma", "LOP, m", "Lopez,"],
)
def test_search_by_last_comma_first(browser: FlaskClient, doc: Context, query: str) -> None:
    builders.patient(doc, first="Maya", last="Lopez")
    builders.patient(doc, first="Mark", last="Lowe")
    builders.patient(doc, first="Lopez", last="Maya")
    assert _rows(page(browser, f"/worklist?q={query}")) == ["Lopez, Maya"]


def test_search_by_program_prescription_and_authorization_number(browser: FlaskClient,
                                                                 doc: Context) -> None:
    made = _one_of_each(doc)
    ready, waiting = made["ready"], made["waiting"]
    blocked_auth = made["blocked_auth"]
    for query, name in (
        (waiting.program_number, "Waiting, Wes"),
        (waiting.program_number.lower(), "Waiting, Wes"),
        (made["ready_rx"].number, "Ready, Remy"),
        (blocked_auth.number, "Blocked, Bo"),
    ):
        assert _rows(page(browser, f"/worklist?q={query}")) == [name], query
    assert ready is not None
    # A number is matched whole: a part of it finds nobody.
    assert _rows(page(browser, f"/worklist?q={blocked_auth.number[:6]}")) == []


def test_other_prescribers_numbers_find_nothing(browser: FlaskClient, ctx: Context,
                                                doc: Context) -> None:
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Other Doc"))
    theirs = builders.patient(other, first="Theirs", last="Elsewhere")
    rx = builders.prescription(other, theirs.id)
    for query in (theirs.program_number, rx.number):
        assert _rows(page(browser, f"/worklist?q={query}")) == []
