"""Writing a prescription, marking it dispensable (success and refusal with every reason and
its date), and reversing an authorization (RULES.md §8)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.builders import SIGNED
from tests.web.prescriber.conftest import SHOWN_AGAIN, errors_of, events, page, submit, text_of
from tracker.models import Authorization, Prescription
from tracker.services import authorizations, dispenses, records
from tracker.services.context import Context

WRITE = {"written_on": "2026-12-15", "days_supply": "30", "quantity": "60", "refills": "0"}


def _count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_prescription_is_written_and_opens_its_page(browser: FlaskClient, db: Session,
                                                    doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    location = submit(browser, f"/patients/{p.id}/prescriptions/new", WRITE)
    rx = db.scalar(select(Prescription).where(Prescription.patient_id == p.id))
    assert rx is not None and location.endswith(f"/prescriptions/{rx.id}")
    assert (rx.days_supply, rx.quantity, rx.refills, rx.status) == (30, 60, 0, "pending")
    shown = text_of(page(browser, location))
    assert f"Prescription {rx.number} is written." in shown
    assert "Supply 30 days, 60 capsules, no refills" in shown


def test_days_supply_refills_and_quantity_are_checked(browser: FlaskClient, db: Session,
                                                      doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    url = f"/patients/{p.id}/prescriptions/new"
    answer = submit(browser, url, {**WRITE, "days_supply": "31", "refills": "1"},
                    status=SHOWN_AGAIN)
    # RULES.md §12 example 7.
    assert errors_of(answer) == [
        "The days' supply must be a whole number from 1 to 30.",
        "Refills are not allowed: every fill needs a new prescription (enter 0)."]
    words = submit(browser, url, {**WRITE, "quantity": "sixty"}, status=SHOWN_AGAIN)
    assert errors_of(words) == ["Enter a whole number, in digits."]
    none = submit(browser, url, {**WRITE, "quantity": "", "written_on": "2026-12-16"},
                  status=SHOWN_AGAIN)
    assert errors_of(none) == [
        "The date Dec 16, 2026 is in the future; the latest accepted date is Dec 15, 2026.",
        "Give a whole number."]
    assert _count(db, Prescription) == 0


def test_refusal_lists_every_unmet_requirement_with_its_date_and_changes_nothing(
    browser: FlaskClient, db: Session, doc: Context
) -> None:
    p = builders.enrolled_patient(doc)
    rx = builders.prescription(doc, p.id)
    rx_url = f"/prescriptions/{rx.id}"
    location = submit(browser, rx_url + "/authorize", {"password": builders.PASSWORD},
                      page_url=rx_url, status=303)
    # Post/Redirect/Get: the refusal is a page of its own, so Back never re-sends the form.
    assert location.endswith(rx_url + "/refused")
    answer = page(browser, location)
    shown = text_of(answer)
    assert "The prescription cannot be marked dispensable." in shown
    assert "nothing was changed" in shown
    assert "5 requirements are not met" in shown
    for message in (
        "Counseling by the prescriber is needed: none is recorded from Nov 15, 2026 through "
        "Dec 15, 2026.",
        "The prescriber must enter the patient's contraception",
        "The patient must pass the comprehension questions",
        "A negative pregnancy test is needed: none is recorded.",
        "A negative screening test done at a CLIA-certified laboratory or a medical office is "
        "needed at least 19 days before the confirmation test",
    ):
        assert message in shown, message
    assert answer.count("This can be done today.") == 4
    assert "This can be met from Jan 3, 2027" in shown  # screening today + 19 days
    assert "Code SCREENING_TEST_MISSING" in shown
    db.expire_all()
    assert db.get(Prescription, rx.id).status == "pending"  # type: ignore[union-attr]
    assert _count(db, Authorization) == 0
    refused = events(db, "authorization.refused")
    assert len(refused) == 1 and "SCREENING_TEST_MISSING" in (refused[0].new_values or "")
    # Showing it again (Reload, Back) evaluates again and writes nothing, not even an event.
    assert text_of(page(browser, location)) == shown
    assert len(events(db, "authorization.refused")) == 1


def test_refusal_page_is_only_shown_after_a_refusal(browser: FlaskClient, doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    rx_url = f"/prescriptions/{rx.id}"
    answer = browser.get(rx_url + "/refused")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(rx_url)


def test_marking_dispensable_shows_the_number_and_the_last_day_large(
    browser: FlaskClient, db: Session, doc: Context
) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    rx_url = f"/prescriptions/{rx.id}"
    before = text_of(page(browser, rx_url))
    assert "every requirement is met. The authorization would run through Dec 20, 2026." in before
    location = submit(browser, rx_url + "/authorize", {"password": builders.PASSWORD},
                      page_url=rx_url)
    assert location.endswith(rx_url)
    html = page(browser, rx_url)
    auth = db.scalar(select(Authorization).where(Authorization.prescription_id == rx.id))
    assert auth is not None
    assert f'<p class="big">{auth.number}</p>' in html
    assert '<p class="big">Dec 20, 2026</p>' in html
    assert "The prescription is marked dispensable." in text_of(html)
    refused_url = submit(browser, rx_url + "/authorize", {"password": builders.PASSWORD},
                         page_url=rx_url, status=303)
    again = page(browser, refused_url)
    assert "The prescription is dispensable; only a pending prescription can be marked " \
           "dispensable." in text_of(again)


def test_marking_dispensable_needs_the_prescribers_password_as_signature(
    browser: FlaskClient, db: Session, doc: Context
) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    rx_url = f"/prescriptions/{rx.id}"
    for password in ("", "not my password"):
        answer = submit(browser, rx_url + "/authorize", {"password": password},
                        page_url=rx_url, status=SHOWN_AGAIN)
        assert "Enter your password to sign the authorization" in text_of(answer)
    db.expire_all()
    assert db.get(Prescription, rx.id).status == "pending"  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(Authorization)) == 0
    failures = events(db, "authorization.signature_failed")
    assert len(failures) == 2


def test_authorization_is_reversed_with_a_reason(browser: FlaskClient, db: Session,
                                                 doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    rx_url = f"/prescriptions/{rx.id}"
    no_reason = submit(browser, rx_url + "/reverse", {"reason": "  "}, page_url=rx_url,
                       status=SHOWN_AGAIN)
    assert errors_of(no_reason) == ["Say why the authorization is reversed."]
    db.expire_all()
    assert db.get(Authorization, auth.id).state == "open"  # type: ignore[union-attr]
    submit(browser, rx_url + "/reverse", {"reason": "Entered in error"}, page_url=rx_url)
    shown = text_of(page(browser, rx_url))
    assert "The authorization is reversed; the prescription is pending again." in shown
    assert re.search(rf"{auth.number} reversed Dana Derm, Dec 15, 2026 at 12:00 PM ET Meaning: "
                     rf"authorized for dispensing .* Entered in error", shown)
    assert "Mark dispensable" in shown
    db.expire_all()
    assert db.get(Prescription, rx.id).status == "pending"  # type: ignore[union-attr]


def test_dispensed_prescription_cannot_be_reversed(browser: FlaskClient, ctx: Context,
                                                   doc: Context) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    counter = builders.as_user(ctx, builders.pharmacist(ctx))
    dispenses.dispense(counter, rx.id, auth.number, 30, 30, True)
    rx_url = f"/prescriptions/{rx.id}"
    assert "Dispensed on Dec 15, 2026 by Pharmacy" in text_of(page(browser, rx_url))
    refused = submit(browser, rx_url + "/reverse", {"reason": "too late"}, page_url=rx_url,
                     status=303)
    # Post/Redirect/Get: the refusal is shown by a GET, which Reload shows again unchanged.
    assert refused == f"/prescriptions/{rx.id}/refused"
    for _ in range(2):
        answer = text_of(page(browser, refused))
        assert "A dispensed prescription cannot be reversed." in answer
        assert "the authorization was not reversed, nothing was changed" in answer
    assert events(ctx.session, "authorization.reverse_refused")


def test_prescription_without_an_authorization_has_nothing_to_reverse(
    browser: FlaskClient, doc: Context
) -> None:
    p = builders.enrolled_patient(doc)
    rx = builders.prescription(doc, p.id)
    rx_url = f"/prescriptions/{rx.id}"
    submit(browser, rx_url + "/reverse", {"reason": "x"}, page_url=rx_url, status=404)


def test_authorization_the_counter_would_refuse_shows_blocked_with_its_reason(
    browser: FlaskClient, doc: Context, travel
) -> None:  # type: ignore[no-untyped-def]
    # RULES.md §8 "Dispensing": a positive test after the issue day blocks the dispense.
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    travel(doc.today() + timedelta(days=1))
    records.record_pregnancy_test(doc, p.id, doc.today(), "positive", "lab")
    shown = text_of(page(browser, f"/prescriptions/{rx.id}"))
    assert "Blocked: a pharmacy would refuse this authorization" in shown
    assert "is positive; this authorization cannot be dispensed" in shown
    assert "Reverse the authorization" in shown
    patient_page = text_of(page(browser, f"/patients/{p.id}"))
    assert (f"Blocked today Authorization {auth.number} is blocked: a pharmacy would refuse to "
            f"dispense it; reverse it.") in patient_page
    assert "Reverse the authorization" in patient_page


def test_open_authorization_the_counter_would_take_is_not_blocked(
    browser: FlaskClient, doc: Context
) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    authorizations.authorize(doc, rx.id, signature=SIGNED)
    shown = text_of(page(browser, f"/prescriptions/{rx.id}"))
    assert "Marked dispensable" in shown and "Blocked" not in shown


def test_reversal_at_a_pharmacy_shows_who_where_when_and_why(
    browser: FlaskClient, ctx: Context, doc: Context
) -> None:
    p = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, p.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    at = builders.pharmacy(ctx)
    counter = builders.as_user(ctx, builders.pharmacist(ctx, at))
    authorizations.reverse(counter, auth.number, "Patient declined the fill", p.date_of_birth)
    expected = (f"Reversed Dec 15, 2026 at 12:00 PM ET by Pat Pharmacist, pharmacy staff at "
                f"{at.name}")
    shown = text_of(page(browser, f"/prescriptions/{rx.id}"))
    assert f"{expected} Why: Patient declined the fill" in shown
    assert f"{expected}: Patient declined the fill" in text_of(page(browser, f"/patients/{p.id}"))
    assert (f"reversed by Pat Pharmacist, pharmacy staff at {at.name}: Patient declined the "
            f"fill") in page(browser, f"/patients/{p.id}")


def test_checklist_says_not_yet_for_what_nothing_shows(browser: FlaskClient,
                                                       doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    markup = page(browser, f"/patients/{p.id}")
    shown = text_of(markup)
    assert ("Prescription pending (not marked dispensable or dispensed yet) Not yet No "
            "prescription is written yet.") in shown
    assert "Not yet Checked once the contraception is entered." in shown
    assert 'class="is-not-yet"' in markup
