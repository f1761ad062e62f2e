"""The worklist: the prescriber's patients, each with the next step and its date; search and
paging; a fixed number of SQL statements whatever the number of patients."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from tests import builders
from tests.builders import SIGNED
from tests.web.prescriber.conftest import page, statements, text_of
from tracker.services import authorizations, patients, records
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
    with statements(connection) as many:
        text = page(browser, "/worklist")
    assert text.count("Count, Q") == 9
    assert few and len(many) == len(few), "\n".join(many)
