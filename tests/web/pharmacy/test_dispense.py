"""Recording the dispense at the counter (RULES.md §8): quantity and days' supply not above the
prescription, the Medication Guide handed over, the pharmacist from the login, the pharmacy from
their account, the server time; at most once; reversing an undispensed authorization."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.conftest import EASTERN, Clock, csrf_token, login, shown_again
from tests.web.pharmacy.conftest import Authorized, dispense_from, look_up, refusal_shown
from tracker.models import AuditEvent, Authorization, Dispense, Pharmacy, Prescription, User
from tracker.services.context import Context

BORN = "1995-04-02"
# The status page a lookup is shown on (Post/Redirect/Get), by a handle made up per lookup.
RESULT = "/pharmacy/result/*"


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def dispenses(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Dispense)) or 0


def actions(ctx: Context, action: str) -> list[AuditEvent]:
    return list(ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def status_page(client: FlaskClient, authorized: Authorized) -> str:
    response = look_up(client, authorized.authorization.number, BORN)
    assert response.status_code == 200
    return text_of(response)


def test_dispense_is_recorded_with_pharmacist_pharmacy_and_server_time(
    ctx: Context, counter: FlaskClient, pharmacist: User, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    response = dispense_from(counter, page, authorized.authorization.number, BORN, 56, 28)
    assert response.status_code == 302
    row = ctx.session.scalar(select(Dispense))
    assert row is not None
    assert response.headers["Location"].endswith(f"/pharmacy/dispenses/{row.id}")
    assert (row.pharmacist_id, row.pharmacy_id) == (pharmacist.id, pharmacist.pharmacy_id)
    assert (row.quantity, row.days_supply, row.medication_guide_given) == (56, 28, True)
    assert row.dispensed_on == date(2026, 12, 15)
    record = text_of(counter.get(response.headers["Location"]))
    assert "The dispense is recorded." in record
    assert "Dec 15, 2026 at 12:00 PM ET" in record
    assert "Pat Pharmacist" in record and "Handed to the patient" in record
    [event] = actions(ctx, "dispense.recorded")
    assert event.actor_id == pharmacist.id


def test_more_than_prescribed_is_refused_on_the_field_and_nothing_is_stored(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    response = dispense_from(counter, page, authorized.authorization.number, BORN, 61, 31)
    text = text_of(shown_again(counter, response, RESULT))
    assert 'value="61"' in text and 'value="31"' in text  # what was typed
    assert "The quantity is from 1 to the prescribed 60." in text
    assert "The days&#39; supply is from 1 to the prescribed 30." in text
    assert dispenses(ctx) == 0
    assert ctx.session.get(Prescription, authorized.prescription.id).status == "dispensable"


def test_medication_guide_is_required(ctx: Context, counter: FlaskClient,
                                      authorized: Authorized) -> None:
    page = status_page(counter, authorized)
    response = dispense_from(counter, page, authorized.authorization.number, BORN, guide=False)
    response = shown_again(counter, response, RESULT)
    assert "Hand the Medication Guide to the patient and confirm it." in text_of(response)
    assert dispenses(ctx) == 0


def test_quantity_that_is_not_a_number_is_refused_with_what_is_accepted(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    response = dispense_from(counter, page, authorized.authorization.number, BORN, "sixty")
    response = shown_again(counter, response, RESULT)
    assert "Give a whole number." in text_of(response)
    assert dispenses(ctx) == 0


def test_second_dispense_says_already_dispensed_on_when_by_whom(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    assert dispense_from(counter, page, authorized.authorization.number, BORN).status_code == 302
    again = refusal_shown(counter, dispense_from(counter, page, authorized.authorization.number,
                                                 BORN))
    text = text_of(again)
    assert "The dispense was not recorded." in text
    assert "Already dispensed on Dec 15, 2026 at 12:00 PM ET by Pat Pharmacist at" in text
    assert dispenses(ctx) == 1
    [refusal] = actions(ctx, "dispense.refused")
    assert "ALREADY_DISPENSED" in (refusal.new_values or "")


def test_another_counter_sees_who_dispensed_and_cannot_dispense_again(
    ctx: Context, app, counter: FlaskClient, authorized: Authorized  # type: ignore[no-untyped-def]
) -> None:
    page = status_page(counter, authorized)
    assert dispense_from(counter, page, authorized.authorization.number, BORN).status_code == 302
    elsewhere = app.test_client()
    other = builders.pharmacist(ctx)
    login(elsewhere, other.email, builders.PASSWORD)
    seen = text_of(look_up(elsewhere, authorized.authorization.number, BORN))
    assert "Do not dispense" in seen
    assert "Already dispensed on Dec 15, 2026 at 12:00 PM ET by Pat Pharmacist" in seen
    assert 'action="/pharmacy/dispense"' not in seen
    forced = dispense_from(elsewhere, seen, authorized.authorization.number, BORN)
    assert "The dispense was not recorded." in text_of(refusal_shown(elsewhere, forced))
    assert dispenses(ctx) == 1


def test_authorization_ends_at_midnight_eastern_between_lookup_and_dispense(
    ctx: Context, client: FlaskClient, pharmacist: User, authorized: Authorized, clock: Clock
) -> None:
    clock.now = datetime(2026, 12, 20, 23, 55, tzinfo=EASTERN).astimezone(UTC)
    login(client, pharmacist.email, builders.PASSWORD)
    page = status_page(client, authorized)
    assert "Today is the last day: until 11:59 PM ET on Dec 20, 2026." in page
    clock.now = datetime(2026, 12, 21, 0, 1, tzinfo=EASTERN).astimezone(UTC)
    response = refusal_shown(client, dispense_from(client, page,
                                                   authorized.authorization.number, BORN))
    assert ("Authorization expired: it could be dispensed until 11:59 PM ET on "
            "Dec 20, 2026.") in text_of(response)
    assert dispenses(ctx) == 0


def test_inactive_pharmacy_cannot_dispense(ctx: Context, client: FlaskClient,
                                           authorized: Authorized) -> None:
    stale = builders.pharmacy(ctx, activated_on=date(2026, 12, 1),
                              trained_on=date(2025, 11, 1))
    login(client, builders.pharmacist(ctx, stale).email, builders.PASSWORD)
    page = status_page(client, authorized)
    response = refusal_shown(client, dispense_from(client, page,
                                                   authorized.authorization.number, BORN))
    assert "Renew the staff training attestation" in text_of(response)
    assert dispenses(ctx) == 0


def test_tampered_birth_date_in_the_dispense_form_is_not_found(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    response = dispense_from(counter, page, authorized.authorization.number, "1990-01-01")
    assert response.status_code == 404
    assert dispenses(ctx) == 0


def test_dispense_without_csrf_token_is_refused(ctx: Context, counter: FlaskClient,
                                                authorized: Authorized) -> None:
    response = counter.post("/pharmacy/dispense", data={
        "authorization_number": authorized.authorization.number, "date_of_birth": BORN,
        "quantity": 60, "days_supply": 30, "medication_guide_given": "y"})
    assert response.status_code == 400
    assert dispenses(ctx) == 0


def test_reverse_needs_a_reason_and_sends_the_prescription_back(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    assert "Reverse this authorization" in page
    carried = {"csrf_token": csrf_token(page), "date_of_birth": BORN,
               "authorization_number": authorized.authorization.number}
    empty = shown_again(counter, counter.post("/pharmacy/reverse",
                                              data={**carried, "reason": " "}), RESULT)
    assert "Say why the authorization is reversed." in text_of(empty)
    assert ctx.session.get(Authorization, authorized.authorization.id).state == "open"
    done = counter.post("/pharmacy/reverse", data={**carried, "reason": "not picked up"},
                        follow_redirects=True)
    assert f"Authorization {authorized.authorization.number} is reversed" in text_of(done)
    ctx.session.expire_all()
    assert ctx.session.get(Authorization, authorized.authorization.id).state == "reversed"
    assert ctx.session.get(Prescription, authorized.prescription.id).status == "pending"
    [event] = actions(ctx, "authorization.reversed")
    assert event.reason == "not picked up"


def test_dispensed_authorization_cannot_be_reversed(
    ctx: Context, counter: FlaskClient, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    dispense_from(counter, page, authorized.authorization.number, BORN)
    after = status_page(counter, authorized)
    assert "Reverse this authorization" not in after
    response = counter.post("/pharmacy/reverse", data={
        "csrf_token": csrf_token(after), "date_of_birth": BORN, "reason": "mistake",
        "authorization_number": authorized.authorization.number})
    assert "The authorization was not reversed." in text_of(refusal_shown(counter, response))
    ctx.session.expire_all()
    assert ctx.session.get(Authorization, authorized.authorization.id).state == "dispensed"


def test_a_lapsed_pharmacy_is_not_offered_a_reversal_and_cannot_force_one(
    ctx: Context, counter: FlaskClient, pharmacist: User, authorized: Authorized
) -> None:
    page = status_page(counter, authorized)
    pharmacy = ctx.session.get(Pharmacy, pharmacist.pharmacy_id)
    assert pharmacy is not None
    pharmacy.activated_on = ctx.today() - timedelta(days=400)
    ctx.session.flush()
    assert "Reverse this authorization" not in status_page(counter, authorized)
    response = counter.post("/pharmacy/reverse", data={
        "csrf_token": csrf_token(page), "date_of_birth": BORN, "reason": "not picked up",
        "authorization_number": authorized.authorization.number})
    assert "The authorization was not reversed." in text_of(refusal_shown(counter, response))
    ctx.session.expire_all()
    assert ctx.session.get(Authorization, authorized.authorization.id).state == "open"
