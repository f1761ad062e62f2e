"""The counter's lookup and status page: both the number and the birth date must match, the
page says whether the prescription may be dispensed now and until when (11:59 PM ET), or
why not, in words that reveal no clinical fact (API.md "minimum necessary")."""

from __future__ import annotations

import re
from datetime import date

from flask.testing import FlaskClient

from tests import builders
from tests.builders import SIGNED
from tests.conftest import Clock, csrf_token, login, post_form, shown_again
from tests.web.pharmacy.conftest import Authorized, look_up
from tracker.models import User
from tracker.services import authorizations, records
from tracker.services.context import Context

BORN = "1995-04-02"  # the builders' patient
CLINICAL_WORDS = ("pregnan", "positive", "negative", "contracept", "comprehension", "iud",
                  "condom", "counsel", "abstinen", "screening", "lockout")


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def visible(page: str) -> str:
    """The page without its markup and hidden values, lower-cased."""
    return re.sub(r"<[^>]+>", " ", page).lower()


def test_status_page_says_dispensable_until_1159_pm_eastern_on_the_last_day(
    counter: FlaskClient, authorized: Authorized
) -> None:
    response = look_up(counter, authorized.authorization.number, BORN)
    page = text_of(response)
    assert response.status_code == 200
    assert "May be dispensed now" in page
    assert "Until 11:59 PM ET on Dec 20, 2026." in page
    assert "Alex Rivera" in page and "Apr 2, 1995" in page
    assert "Dana Derm" in page
    assert "<dt>Days' supply</dt><dd>30</dd>" in page
    assert "<dt>Quantity</dt><dd>60</dd>" in page
    assert 'action="/pharmacy/dispense"' in page


def test_on_the_last_day_the_page_says_today_is_the_last_day(
    client: FlaskClient, pharmacist: User, authorized: Authorized, clock: Clock
) -> None:
    clock.set_day(date(2026, 12, 20))
    login(client, pharmacist.email, builders.PASSWORD)
    page = text_of(look_up(client, authorized.authorization.number, BORN))
    assert "Today is the last day: until 11:59 PM ET on Dec 20, 2026." in page


def test_number_typed_in_lower_case_without_dashes_is_found(
    counter: FlaskClient, authorized: Authorized
) -> None:
    typed = authorized.authorization.number.replace("-", "").lower()
    response = look_up(counter, typed, BORN)
    assert response.status_code == 200
    assert "May be dispensed now" in text_of(response)


def test_wrong_birth_date_gets_the_same_plain_not_found_as_an_unknown_number(
    counter: FlaskClient, authorized: Authorized
) -> None:
    wrong_birth = look_up(counter, authorized.authorization.number, "1995-04-03")
    unknown = look_up(counter, "ZZZZ-ZZZZ-ZZZZ", BORN)
    assert wrong_birth.status_code == unknown.status_code == 404
    for response in (wrong_birth, unknown):
        page = text_of(response)
        assert "No authorization matches this number and date of birth." in page
        assert "Rivera" not in page and "Dana Derm" not in page
    assert visible(text_of(wrong_birth)).replace("1995-04-03", "") \
        .replace(authorized.authorization.number.lower(), "") == \
        visible(text_of(unknown)).replace(BORN, "").replace("zzzz-zzzz-zzzz", "")


def test_missing_or_malformed_input_names_the_field_and_what_is_accepted(
    counter: FlaskClient
) -> None:
    response = post_form(counter, "/pharmacy", {"authorization_number": "",
                                                "date_of_birth": "02/04/1995"})
    page = text_of(shown_again(counter, response, "/pharmacy"))
    assert 'value="02/04/1995"' in page  # what was typed
    assert "Enter the authorization number." in page
    assert "Enter the date as YYYY-MM-DD." in page


def test_page_of_a_dispensable_authorization_shows_no_clinical_fact(
    counter: FlaskClient, authorized: Authorized
) -> None:
    page = visible(text_of(look_up(counter, authorized.authorization.number, BORN)))
    for word in CLINICAL_WORDS:
        assert word not in page, word
    # The test window would reveal when a test was collected: only the last day is shown.
    assert "dec 14" not in page


def test_positive_test_after_authorization_is_not_readable_at_the_counter(
    counter: FlaskClient, authorized: Authorized
) -> None:
    records.record_pregnancy_test(authorized.prescriber, authorized.patient.id,
                                  date(2026, 12, 15), "positive", "lab")
    response = look_up(counter, authorized.authorization.number, BORN)
    page = text_of(response)
    assert "Do not dispense" in page
    assert "Not ready to dispense: contact the prescriber." in page
    assert 'action="/pharmacy/dispense"' not in page
    for word in CLINICAL_WORDS:
        assert word not in visible(page), word


def test_expired_authorization_says_until_when_it_could_be_dispensed(
    client: FlaskClient, pharmacist: User, authorized: Authorized, clock: Clock
) -> None:
    clock.set_day(date(2026, 12, 21))
    login(client, pharmacist.email, builders.PASSWORD)
    page = text_of(look_up(client, authorized.authorization.number, BORN))
    assert "Do not dispense" in page
    assert ("Authorization expired: it could be dispensed until 11:59 PM ET on "
            "Dec 20, 2026.") in page
    # RULES.md §8: the patient is re-checked as of the issue day, so the test window is not a
    # second reason: the authorization's own last day is the one that passed.
    assert "Window closed" not in page
    assert 'action="/pharmacy/dispense"' not in page


def test_visit_window_ends_the_authorization_of_a_patient_who_cannot_get_pregnant_in_2023(
    ctx: Context, doc: Context, client: FlaskClient, clock: Clock
) -> None:
    # RULES.md §7 (2021/2023): T within V .. V+29 of the counseling visit.
    clock.set_day(date(2026, 3, 2))
    patient = builders.enrolled_patient(doc, "cannot_get_pregnant")
    records.record_counseling(doc, patient.id, date(2026, 3, 2))
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    assert auth.do_not_dispense_after == date(2026, 3, 31)
    clock.set_day(date(2026, 4, 1))
    since = date(2026, 1, 1)
    login(client, builders.pharmacist(ctx, builders.pharmacy(ctx, since, since)).email,
          builders.PASSWORD)
    page = text_of(look_up(client, auth.number, BORN))
    assert ("Authorization expired: it could be dispensed until 11:59 PM ET on "
            "Mar 31, 2026.") in page
    assert "counsel" not in visible(page)


def test_reversed_authorization_is_not_authorized(
    counter: FlaskClient, authorized: Authorized
) -> None:
    authorizations.reverse(authorized.prescriber, authorized.authorization.number,
                           "entered for the wrong prescription")
    page = text_of(look_up(counter, authorized.authorization.number, BORN))
    assert "Do not dispense" in page
    assert "This authorization was reversed on Dec 15, 2026" in page
    assert "contact the prescriber" in page


def test_inactive_pharmacy_is_told_what_to_renew(
    ctx: Context, client: FlaskClient, authorized: Authorized
) -> None:
    stale = builders.pharmacy(ctx, activated_on=date(2025, 12, 1),
                              trained_on=date(2026, 12, 1))
    login(client, builders.pharmacist(ctx, stale).email, builders.PASSWORD)
    home = text_of(client.get("/pharmacy"))
    assert "is not active in the program and cannot dispense" in home
    assert ("Renew the pharmacy activation: the activation of Dec 1, 2025 ran through "
            "Nov 30, 2026.") in home
    page = text_of(look_up(client, authorized.authorization.number, BORN))
    assert "Do not dispense" in page
    assert "Your pharmacy is not active in the program, so it cannot dispense." in page
    assert "Renew the pharmacy activation" in page
    assert 'action="/pharmacy/dispense"' not in page


def test_pharmacy_due_for_renewal_is_warned_before_it_stops(
    ctx: Context, client: FlaskClient
) -> None:
    soon = builders.pharmacy(ctx, activated_on=date(2026, 1, 1),
                             trained_on=date(2026, 12, 1))
    login(client, builders.pharmacist(ctx, soon).email, builders.PASSWORD)
    home = text_of(client.get("/pharmacy"))
    assert "Renewal due:" in home
    assert "from Jan 1, 2027 your pharmacy cannot dispense" in home


def test_only_pharmacy_staff_use_the_counter(ctx: Context, client: FlaskClient) -> None:
    assert client.get("/pharmacy").status_code == 302  # to the sign-in page
    login(client, builders.prescriber(ctx).email, builders.PASSWORD)
    assert client.get("/pharmacy").status_code == 403
    assert client.get("/pharmacy/dispenses").status_code == 403


def test_counter_links_are_in_the_navigation(counter: FlaskClient) -> None:
    page = text_of(counter.get("/pharmacy"))
    assert '<a href="/pharmacy">Look up</a>' in page
    assert '<a href="/pharmacy/dispenses">Dispenses</a>' in page
    assert "/admin" not in page


def test_status_page_is_never_cached(counter: FlaskClient, authorized: Authorized) -> None:
    response = look_up(counter, authorized.authorization.number, BORN)
    assert response.headers["Cache-Control"] == "no-store"
    assert BORN not in (response.headers.get("Location") or "")


def test_home_page_of_pharmacy_staff_is_the_lookup(counter: FlaskClient) -> None:
    response = counter.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/pharmacy")


def test_five_wrong_birth_dates_lock_the_number_at_the_counter(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    for _ in range(5):
        assert look_up(counter, authorized.authorization.number, "1995-04-03").status_code == 404
    locked = look_up(counter, authorized.authorization.number, BORN)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == str(24 * 3600)
    page = text_of(locked)
    assert "it is locked at the counter" in page and "Try again later." in page
    assert "Rivera" not in page


def test_the_result_is_a_get_by_handle_with_no_birth_date_in_the_address(
    counter: FlaskClient, authorized: Authorized
) -> None:
    page = counter.get("/pharmacy").get_data(as_text=True)
    sent = counter.post("/pharmacy", data={
        "authorization_number": authorized.authorization.number, "date_of_birth": BORN,
        "csrf_token": csrf_token(page)})
    assert sent.status_code == 303
    location = sent.headers["Location"]
    assert location.startswith("/pharmacy/result/")
    assert BORN not in location and authorized.authorization.number not in location
    # Reload and Back show the page again by GET: no form is sent twice.
    first, again = counter.get(location), counter.get(location)
    assert first.status_code == again.status_code == 200
    assert authorized.authorization.number in again.get_data(as_text=True)
    # A handle from nowhere leads back to the lookup form.
    stray = counter.get("/pharmacy/result/not-a-handle")
    assert stray.status_code == 302 and stray.headers["Location"] == "/pharmacy"
