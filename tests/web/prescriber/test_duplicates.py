"""Possible duplicates: registering a patient who is already registered (same name, capitals
and spacing aside, and birth date) and entering the same record twice on one day are warned
about on the page, which stores nothing until "Register anyway" or "Record anyway" is sent.
The API stores what it is sent."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import login
from tests.web.prescriber.conftest import SHOWN_AGAIN, events, submit, text_of
from tracker.domain.facts import RecordKind
from tracker.models import ContraceptionEntry, Counseling, Patient, PregnancyTest, User
from tracker.services import duplicates, records
from tracker.services.context import Context

TWIN: dict[str, object] = {"first_name": " alex ", "last_name": "RIVERA",
                           "date_of_birth": "1995-04-02", "category": "cannot_get_pregnant"}
TEST: dict[str, object] = {"collected_on": "2026-12-14", "result": "negative", "setting": "lab"}


def _count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_registering_the_same_name_and_birth_date_shows_the_existing_patient(
        browser: FlaskClient, db: Session, doc: Context) -> None:
    existing = builders.patient(doc)  # Alex Rivera, born 1995-04-02
    answer = submit(browser, "/patients/new", TWIN, status=SHOWN_AGAIN)
    shown = text_of(answer)
    assert "Possible duplicate." in shown
    assert "Rivera, Alex" in shown
    assert f"born Apr 2, 1995, program number {existing.program_number}" in shown
    assert f'href="/patients/{existing.id}"' in answer
    assert 'name="register_anyway" value="y"' in answer and "Register anyway" in shown
    assert 'value=" alex "' in answer  # the form keeps what was typed
    assert _count(db, Patient) == 1 and len(events(db, "patient.registered")) == 1


def test_register_anyway_registers_a_second_patient(browser: FlaskClient, db: Session,
                                                    doc: Context) -> None:
    builders.patient(doc)
    location = submit(browser, "/patients/new", {**TWIN, "register_anyway": "y"},
                      page_url="/patients/new")
    assert "/patients/" in location
    assert _count(db, Patient) == 2 and len(events(db, "patient.registered")) == 2


def test_a_different_birth_date_or_name_is_no_duplicate(browser: FlaskClient, db: Session,
                                                        doc: Context) -> None:
    builders.patient(doc)
    submit(browser, "/patients/new", {**TWIN, "date_of_birth": "1995-04-03"})
    submit(browser, "/patients/new", {**TWIN, "first_name": "Alexa"})
    assert _count(db, Patient) == 3


def test_another_prescribers_patient_is_neither_a_duplicate_nor_revealed(
        browser: FlaskClient, db: Session, ctx: Context) -> None:
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Other Doc"))
    builders.patient(other)
    submit(browser, "/patients/new", TWIN)
    assert _count(db, Patient) == 2


def test_staff_are_warned_for_the_prescriber_they_register_with(
        client: FlaskClient, ctx: Context, doctor: User, doc: Context, db: Session) -> None:
    second = builders.prescriber(ctx, name="Second Doc")
    builders.patient(doc)  # Dr Derm's patient
    staff = builders.staff(ctx, doctor, second)
    login(client, staff.email, builders.PASSWORD)
    warned = submit(client, "/patients/new", {**TWIN, "prescriber_npi": doctor.npi or ""},
                    status=SHOWN_AGAIN)
    assert "Possible duplicate." in text_of(warned)
    submit(client, "/patients/new", {**TWIN, "prescriber_npi": second.npi or ""})
    assert _count(db, Patient) == 2


def test_the_service_compares_names_without_capitals_or_spaces(doc: Context) -> None:
    existing = builders.patient(doc, first="Mary Ann", last="De la Cruz")
    found = duplicates.possible_duplicate_patients(doc, "maryann", " DE LA  CRUZ",
                                                   date(1995, 4, 2))
    assert found == [existing]
    assert duplicates.possible_duplicate_patients(doc, "Mary", "De la Cruz",
                                                  date(1995, 4, 2)) == []
    assert duplicates.possible_duplicate_patients(doc, "", "", None) == []


def test_a_second_identical_test_on_the_same_day_is_warned_about(browser: FlaskClient,
                                                                 db: Session,
                                                                 doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    first = records.record_pregnancy_test(doc, p.id, date(2026, 12, 14), "negative", "lab")
    url = f"/patients/{p.id}/pregnancy-tests/new"
    answer = submit(browser, url, TEST, status=SHOWN_AGAIN)
    shown = text_of(answer)
    assert "Possible duplicate." in shown and f"(#{first.id}, entered" in shown
    assert 'name="record_anyway" value="y"' in answer and "Record anyway" in shown
    assert _count(db, PregnancyTest) == 1
    location = submit(browser, url, {**TEST, "record_anyway": "y"})
    assert location.endswith(f"/patients/{p.id}")
    assert _count(db, PregnancyTest) == 2 and len(events(db, "pregnancy_test.recorded")) == 2


def test_a_test_with_another_result_setting_or_day_is_no_duplicate(browser: FlaskClient,
                                                                   db: Session,
                                                                   doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    records.record_pregnancy_test(doc, p.id, date(2026, 12, 14), "negative", "lab")
    url = f"/patients/{p.id}/pregnancy-tests/new"
    submit(browser, url, {**TEST, "setting": "office"})
    submit(browser, url, {**TEST, "result": "positive"})
    submit(browser, url, {**TEST, "collected_on": "2026-12-13"})
    assert _count(db, PregnancyTest) == 4


def test_a_corrected_record_is_no_duplicate_and_a_correction_is_not_checked(
        browser: FlaskClient, db: Session, doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    old = records.record_pregnancy_test(doc, p.id, date(2026, 12, 14), "negative", "lab")
    url = f"/patients/{p.id}/pregnancy-tests/new"
    # The correction keeps every value (only the reason is new): it is not a duplicate entry.
    submit(browser, url, {**TEST, "corrects_id": str(old.id), "correction_reason": "Typo."},
           page_url=f"{url}?corrects={old.id}")
    # The corrected version no longer counts; its correction does.
    assert "Possible duplicate." in text_of(submit(browser, url, TEST, status=SHOWN_AGAIN))
    assert _count(db, PregnancyTest) == 2


def test_same_day_counseling_and_contraception_are_warned_about(browser: FlaskClient,
                                                                db: Session,
                                                                doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    records.record_counseling(doc, p.id, date(2026, 12, 14))
    records.record_contraception(doc, p.id, date(2026, 12, 14), date(2026, 11, 1),
                                 ["male_condom", "iud"], False)
    counseling = submit(browser, f"/patients/{p.id}/counseling/new",
                        {"counseled_on": "2026-12-14"}, status=SHOWN_AGAIN)
    assert "Possible duplicate." in text_of(counseling)
    contraception = submit(browser, f"/patients/{p.id}/contraception/new",
                           {"recorded_on": "2026-12-14", "started_on": "2026-11-01",
                            "primary_methods": ["iud"], "secondary_methods": ["male_condom"]},
                           status=SHOWN_AGAIN)
    assert "Possible duplicate." in text_of(contraception)
    assert _count(db, Counseling) == 1 and _count(db, ContraceptionEntry) == 1


def test_the_service_finds_the_current_same_day_record(doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    test = records.record_pregnancy_test(doc, p.id, date(2026, 12, 14), "negative", "lab")
    same = {"collected_on": date(2026, 12, 14), "result": "negative", "setting": "lab"}
    assert duplicates.same_day_record(doc, p.id, RecordKind.PREGNANCY_TEST, same) == test
    assert duplicates.same_day_record(doc, p.id, RecordKind.PREGNANCY_TEST,
                                      {**same, "collected_on": None}) is None
    assert duplicates.same_day_record(doc, p.id, RecordKind.COUNSELING,
                                      {"counseled_on": date(2026, 12, 14)}) is None
