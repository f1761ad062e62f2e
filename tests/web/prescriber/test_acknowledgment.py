"""The acknowledgment of the pregnancy warning (RULES.md §4): the current form of the category,
the patient's typed name, a guardian for a minor, the prescriber witnessing with their password,
and the printable view of the signed form."""

from __future__ import annotations

from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.web.prescriber.conftest import SHOWN_AGAIN, errors_of, events, page, submit, text_of
from tracker.models import Acknowledgment
from tracker.services.context import Context

MINOR_BORN = date(2010, 6, 1)  # 16 on the test date


def _acks(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Acknowledgment)) or 0


def _sign(patient_id: int, **data: str) -> dict[str, str]:
    return {"signed_on": "2026-12-15", "patient_signature": "Alex Rivera", "understood": "y",
            "witness_password": builders.PASSWORD, **data}


def test_form_shows_the_warning_of_the_patients_category(browser: FlaskClient,
                                                         doc: Context) -> None:
    p = builders.patient(doc)
    shown = text_of(page(browser, f"/patients/{p.id}/acknowledgment"))
    assert "Isotretinoin and pregnancy: what I must know before treatment" in shown
    assert "Form pregnancy-warning, version 2026.1" in shown
    for fact in ("severe birth defects", "Miscarriage and premature birth",
                 "if I am breast-feeding", "two forms of birth control",
                 "never share it with anyone", "not donate blood"):
        assert fact in shown, fact
    assert "By signing, I state: I have read and understood." in shown
    other = builders.patient(doc, "cannot_get_pregnant", first="Bo", last="Chen")
    other_form = text_of(page(browser, f"/patients/{other.id}/acknowledgment"))
    assert "Form treatment-warning" in other_form


def test_signature_is_recorded_and_printable(browser: FlaskClient, db: Session,
                                             doc: Context) -> None:
    p = builders.patient(doc)
    location = submit(browser, f"/patients/{p.id}/acknowledgment",
                      _sign(p.id, patient_signature="  alex   RIVERA "))
    ack = db.scalar(select(Acknowledgment).where(Acknowledgment.patient_id == p.id))
    assert ack is not None and location.endswith(f"/patients/{p.id}/acknowledgments/{ack.id}")
    shown = text_of(page(browser, location))
    assert "The acknowledgment is signed and recorded." in shown
    assert "Signed by the patient as alex RIVERA" in shown
    assert "Meaning of the signature I have read and understood" in shown
    assert "Date of signing Dec 15, 2026" in shown
    assert "Recorded Dec 15, 2026 at 12:00 PM ET (server time)" in shown
    assert "Witnessed by Dana Derm, prescriber" in shown
    assert "Verified: the record is unchanged since it was signed." in shown
    assert "Isotretinoin can cause severe birth defects" in shown
    assert "Enrolled: acknowledgment signed Dec 15, 2026" in text_of(
        page(browser, f"/patients/{p.id}"))


def test_typed_name_must_match_the_registered_name(browser: FlaskClient, db: Session,
                                                   doc: Context) -> None:
    p = builders.patient(doc)
    answer = submit(browser, f"/patients/{p.id}/acknowledgment",
                    _sign(p.id, patient_signature="Alexa Rivera"), status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "The typed name must match the registered name 'Alex Rivera'."]
    assert _acks(db) == 0


def test_minor_without_a_guardian_is_refused(browser: FlaskClient, db: Session,
                                             doc: Context) -> None:
    p = builders.patient(doc, born=MINOR_BORN)
    form = text_of(page(browser, f"/patients/{p.id}/acknowledgment"))
    assert "The patient is under 18 today: a parent or guardian signs too." in form
    answer = submit(browser, f"/patients/{p.id}/acknowledgment", _sign(p.id), status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "The patient is under 18 on the signing date: a parent or guardian signs too.",
        "Give the guardian's relationship to the patient (e.g. mother, legal guardian)."]
    assert _acks(db) == 0


def test_minor_signs_with_a_guardian(browser: FlaskClient, doc: Context) -> None:
    p = builders.patient(doc, born=MINOR_BORN)
    location = submit(browser, f"/patients/{p.id}/acknowledgment",
                      _sign(p.id, guardian_signature="Rosa Rivera",
                            guardian_relationship="mother"))
    shown = text_of(page(browser, location))
    assert "Parent or guardian Rosa Rivera Relationship mother" in shown


def test_wrong_witness_password_stores_nothing_and_is_audited(browser: FlaskClient,
                                                              db: Session,
                                                              doc: Context) -> None:
    p = builders.patient(doc)
    answer = submit(browser, f"/patients/{p.id}/acknowledgment",
                    _sign(p.id, witness_password="not my password"), status=SHOWN_AGAIN)
    assert errors_of(answer) == ["That is not your password; the signature was not recorded."]
    assert _acks(db) == 0
    failed = events(db, "acknowledgment.witness_password_failed")
    assert [(e.patient_id, e.actor_id) for e in failed] == [(p.id, doc.actor.user_id)]


def test_every_missing_part_of_the_signature_is_named(browser: FlaskClient, db: Session,
                                                      doc: Context) -> None:
    p = builders.patient(doc)
    answer = submit(browser, f"/patients/{p.id}/acknowledgment",
                    {"signed_on": "2026-12-16", "patient_signature": "", "witness_password": ""},
                    status=SHOWN_AGAIN)
    assert errors_of(answer) == [
        "The patient must confirm they have read and understood the form.",
        "Enter your password to witness the signature."]
    future = submit(browser, f"/patients/{p.id}/acknowledgment",
                    _sign(p.id, signed_on="2026-12-16", patient_signature=""), status=SHOWN_AGAIN)
    assert errors_of(future) == [
        "The date Dec 16, 2026 is in the future; the latest accepted date is Dec 15, 2026.",
        "The patient types their full name to sign."]
    assert _acks(db) == 0


def test_printable_view_of_another_patients_acknowledgment_is_not_found(
    browser: FlaskClient, doc: Context
) -> None:
    first = builders.enrolled_patient(doc)
    second = builders.patient(doc, first="Bo", last="Chen")
    page(browser, f"/patients/{second.id}/acknowledgments/1", status=404)
    assert first.id != second.id
