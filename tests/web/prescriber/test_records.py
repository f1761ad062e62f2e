"""Counseling, pregnancy tests and contraception (with corrections that keep the earlier
version), and the comprehension questions in hand-over mode."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.web.prescriber.conftest import SHOWN_AGAIN, errors_of, events, page, submit, text_of
from tracker.models import ComprehensionAttempt, ContraceptionEntry, Counseling, PregnancyTest
from tracker.services import records
from tracker.services.context import Context

DAY = timedelta(days=1)
RIGHT = {"q_birth_defects": "true", "q_two_methods": "true", "q_month_before_after": "true",
         "q_negative_test_each_month": "true", "q_share_ok": "false",
         "q_blood_donation": "false", "q_stop_if_pregnant": "true",
         "q_breastfeeding_ok": "false"}
METHODS = {"primary_methods": ["iud"], "secondary_methods": ["male_condom"]}


def _count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_counseling_is_recorded(browser: FlaskClient, db: Session, doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    form = page(browser, f"/patients/{p.id}/counseling/new")
    assert 'value="2026-12-15"' in form  # today by default
    location = submit(browser, f"/patients/{p.id}/counseling/new", {"counseled_on": "2026-12-14"})
    assert location.endswith(f"/patients/{p.id}")
    assert "The counseling is recorded." in text_of(page(browser, location))
    assert _count(db, Counseling) == 1 and len(events(db, "counseling.recorded")) == 1


def test_record_dated_in_the_future_or_before_birth_is_refused(browser: FlaskClient,
                                                               db: Session,
                                                               doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    future = submit(browser, f"/patients/{p.id}/counseling/new", {"counseled_on": "2026-12-16"},
                    status=SHOWN_AGAIN)
    assert errors_of(future) == [
        "The date Dec 16, 2026 is in the future; the latest accepted date is Dec 15, 2026."]
    before = submit(browser, f"/patients/{p.id}/counseling/new", {"counseled_on": "1990-01-01"},
                    status=SHOWN_AGAIN)
    assert errors_of(before) == [
        "The date Jan 1, 1990 is before the patient's birth date Apr 2, 1995."]
    empty = submit(browser, f"/patients/{p.id}/counseling/new", {"counseled_on": ""},
                   status=SHOWN_AGAIN)
    assert errors_of(empty) == ["Enter a date (YYYY-MM-DD)."]
    assert _count(db, Counseling) == 0


def test_pregnancy_test_is_recorded_with_result_and_setting(browser: FlaskClient, db: Session,
                                                            doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    form = page(browser, f"/patients/{p.id}/pregnancy-tests/new")
    assert "<legend>Where the test was done</legend>" in form
    assert '<label for="setting-0">CLIA-certified laboratory</label>' in form
    submit(browser, f"/patients/{p.id}/pregnancy-tests/new",
           {"collected_on": "2026-12-14", "result": "negative", "setting": "lab"})
    db.expire_all()
    stored = db.scalar(select(PregnancyTest))
    assert stored is not None
    assert (str(stored.collected_on), stored.result, stored.setting) == (
        "2026-12-14", "negative", "lab")


def test_pregnancy_test_needs_a_result_and_a_setting(browser: FlaskClient, db: Session,
                                                     doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    answer = submit(browser, f"/patients/{p.id}/pregnancy-tests/new",
                    {"collected_on": "2026-12-14"}, status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "The result is negative or positive.",
        "The setting is lab (CLIA-certified laboratory), office (another medical setting) or "
        "home."]
    assert _count(db, PregnancyTest) == 0


def test_contraception_needs_two_methods_one_primary_or_abstinence(browser: FlaskClient,
                                                                   db: Session,
                                                                   doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    url = f"/patients/{p.id}/contraception/new"
    base = {"recorded_on": "2026-12-15", "started_on": "2026-11-01"}
    one = submit(browser, url, {**base, "secondary_methods": ["male_condom"]}, status=SHOWN_AGAIN)
    assert errors_of(one) == [
        "Enter two different methods, at least one of them primary, or a commitment to "
        "abstinence."]
    both = submit(browser, url, {**base, **METHODS, "abstinence": "y"}, status=SHOWN_AGAIN)
    assert errors_of(both) == ["Choose methods or abstinence, not both."]
    late = submit(browser, url, {**base, "started_on": "2026-12-15", "recorded_on": "2026-12-01",
                                 **METHODS}, status=SHOWN_AGAIN)
    assert errors_of(late) == ["The start date cannot be after the date of the entry."]
    assert _count(db, ContraceptionEntry) == 0
    submit(browser, url, {**base, **METHODS})
    submit(browser, url, {**base, "abstinence": "y"})
    shown = text_of(page(browser, f"/patients/{p.id}"))
    assert "Intrauterine device (IUD) + Male condom" in shown and "Abstinence" in shown


def test_correction_is_a_new_version_with_a_reason(browser: FlaskClient, db: Session,
                                                   doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    old = records.record_pregnancy_test(doc, p.id, doc.today() - DAY, "positive", "office")
    url = f"/patients/{p.id}/pregnancy-tests/new"
    form = page(browser, f"{url}?corrects={old.id}")
    assert f"This entry corrects version #{old.id}" in text_of(form)
    # The form starts from the old values.
    assert '<input checked id="result-1" name="result" type="radio" value="positive">' in form
    missing = submit(browser, url, {"corrects_id": str(old.id), "collected_on": "2026-12-14",
                                    "result": "negative", "setting": "office"},
                     page_url=f"{url}?corrects={old.id}", status=SHOWN_AGAIN)
    assert errors_of(missing) == ["Say why the record is corrected."]
    submit(browser, url, {"corrects_id": str(old.id), "collected_on": "2026-12-14",
                          "result": "negative", "setting": "office",
                          "correction_reason": "Result misread from the lab report"},
           page_url=f"{url}?corrects={old.id}")
    db.expire_all()
    versions = list(db.scalars(select(PregnancyTest).order_by(PregnancyTest.id)))
    assert [(v.result, v.superseded, v.corrects_id) for v in versions] == [
        ("positive", True, None), ("negative", False, old.id)]
    shown = text_of(page(browser, f"/patients/{p.id}"))
    assert "Pregnancy test: positive corrected" in shown
    assert (f"Correction of version #{old.id}: Result misread from the lab report") in shown
    again = submit(browser, url, {"corrects_id": str(old.id), "collected_on": "2026-12-14",
                                  "result": "negative", "setting": "lab",
                                  "correction_reason": "again"},
                   page_url=f"{url}?corrects={old.id}", status=SHOWN_AGAIN)
    assert errors_of(again) == [
        "This record has already been corrected; correct the newest version."]


def test_correcting_another_patients_record_is_not_found(browser: FlaskClient,
                                                         doc: Context) -> None:
    mine = builders.enrolled_patient(doc)
    other = builders.enrolled_patient(doc, first="Bo", last="Chen")
    theirs = records.record_counseling(doc, other.id, doc.today())
    page(browser, f"/patients/{mine.id}/counseling/new?corrects={theirs.id}", status=404)
    page(browser, f"/patients/{mine.id}/contraception/new?corrects={theirs.id}", status=404)


def test_comprehension_hand_over_shows_wrong_answers_and_lets_the_patient_try_again(
    browser: FlaskClient, db: Session, doc: Context
) -> None:
    p = builders.enrolled_patient(doc)
    url = f"/patients/{p.id}/comprehension"
    screen = page(browser, url)
    # The patient's screen leads nowhere else: no navigation, no home link, no account.
    assert 'href="/worklist"' not in screen and 'href="/"' not in screen
    assert "Sign out" not in screen and "Dana Derm" not in screen
    assert "Questions for Alex" in screen and "Rivera" not in screen
    answer = submit(browser, url, {**RIGHT, "q_share_ok": "true", "q_blood_donation": "true",
                                   **METHODS}, status=SHOWN_AGAIN)
    shown = text_of(answer)
    assert "2 answers are not right." in shown
    assert answer.count("This answer is not right.") == 2
    assert answer.index("It is acceptable to share isotretinoin") < answer.index(
        "This answer is not right.")
    passed = submit(browser, url, {**RIGHT, **METHODS}, status=SHOWN_AGAIN)
    assert "All your answers are right." in text_of(passed)
    db.expire_all()
    attempts = list(db.scalars(select(ComprehensionAttempt).order_by(ComprehensionAttempt.id)))
    assert [(a.passed, a.wrong) for a in attempts] == [
        (False, "share-ok,blood-donation"), (True, "")]
    assert attempts[1].methods == "iud,male_condom"


def test_comprehension_names_every_unanswered_question_and_stores_nothing(
    browser: FlaskClient, db: Session, doc: Context
) -> None:
    p = builders.enrolled_patient(doc)
    partial = {k: v for k, v in RIGHT.items() if k != "q_birth_defects"}
    answer = submit(browser, f"/patients/{p.id}/comprehension", partial, status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "Answer this question with true or false.",
        "Enter two different methods, at least one of them primary, or a commitment to "
        "abstinence."]
    assert _count(db, ComprehensionAttempt) == 0
