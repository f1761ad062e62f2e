"""Administration of pharmacies: create, correct, record the annual reactivation and the staff
training attestation (RULES.md §3), see which need renewing. Every change is audited."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders
from tests.builders import SIGNED
from tests.conftest import login, post_form, shown_again
from tests.web.admin.conftest import events, text_of
from tracker.models import Pharmacy, User
from tracker.services import authorizations
from tracker.services import pharmacies as pharmacy_service
from tracker.services.context import Context
from tracker.services.errors import Forbidden


def pharmacies(ctx: Context) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Pharmacy)) or 0


def test_admin_creates_a_pharmacy_and_the_creation_is_audited(
    ctx: Context, browser: FlaskClient, administrator: User
) -> None:
    response = post_form(browser, "/admin/pharmacies/new", {
        "name": "Main Street Pharmacy", "ncpdp_id": "7654321", "activated_on": "2026-12-01",
        "trained_on": ""})
    assert response.status_code == 302
    pharmacy = ctx.session.scalar(select(Pharmacy).where(Pharmacy.ncpdp_id == "7654321"))
    assert pharmacy is not None
    assert (pharmacy.activated_on, pharmacy.trained_on) == (date(2026, 12, 1),
                                                            date(2026, 12, 15))
    assert response.headers["Location"].endswith(f"/admin/pharmacies/{pharmacy.id}")
    page = text_of(browser.get(response.headers["Location"]))
    assert "Main Street Pharmacy" in page and "Dec 1, 2026" in page and "Active" in page
    [event] = events(ctx, "pharmacy.created", pharmacy.id)
    assert event.actor_id == administrator.id


def test_bad_pharmacy_input_is_refused_field_by_field_and_nothing_is_stored(
    ctx: Context, browser: FlaskClient
) -> None:
    before = pharmacies(ctx)
    response = post_form(browser, "/admin/pharmacies/new", {
        "name": "", "ncpdp_id": "12345", "activated_on": "2027-01-01", "trained_on": "soon"})
    response = shown_again(browser, response, "/admin/pharmacies/new")
    page = text_of(response)
    assert "Enter the pharmacy&#39;s name." in page
    assert "Enter the date as YYYY-MM-DD." in page
    assert pharmacies(ctx) == before
    response = post_form(browser, "/admin/pharmacies/new", {
        "name": "Future", "ncpdp_id": "12345", "activated_on": "2027-01-01"})
    response = shown_again(browser, response, "/admin/pharmacies/new")
    page = text_of(response)
    assert "The NCPDP id has exactly 7 digits." in page
    assert "The activation date cannot be in the future." in page
    assert 'value="Future"' in page and 'value="12345"' in page  # what was typed
    assert pharmacies(ctx) == before


def test_duplicate_ncpdp_id_is_refused(ctx: Context, browser: FlaskClient) -> None:
    existing = builders.pharmacy(ctx)
    response = post_form(browser, "/admin/pharmacies/new", {
        "name": "Copy", "ncpdp_id": existing.ncpdp_id})
    response = shown_again(browser, response, "/admin/pharmacies/new")
    assert "A pharmacy with this NCPDP id already exists." in text_of(response)


def test_correction_keeps_old_and_new_values_and_the_reason(
    ctx: Context, browser: FlaskClient
) -> None:
    pharmacy = builders.pharmacy(ctx)
    url = f"/admin/pharmacies/{pharmacy.id}/edit"
    form = text_of(browser.get(url))
    assert f'value="{pharmacy.ncpdp_id}"' in form
    data = {"name": "Corner Drugs", "ncpdp_id": "2223334", "activated_on": "2026-12-15",
            "trained_on": "2026-12-15"}
    missing_reason = post_form(browser, url, {**data, "reason": ""})
    missing_reason = shown_again(browser, missing_reason, url)
    assert "Give the reason; it is kept in the audit trail." in text_of(missing_reason)
    done = post_form(browser, url, {**data, "reason": "name and NCPDP id were mistyped"})
    assert done.status_code == 302
    ctx.session.refresh(pharmacy)
    assert (pharmacy.name, pharmacy.ncpdp_id) == ("Corner Drugs", "2223334")
    [event] = events(ctx, "pharmacy.updated", pharmacy.id)
    assert json.loads(event.new_values or "{}") == {"name": "Corner Drugs",
                                                    "ncpdp_id": "2223334"}
    assert set(json.loads(event.old_values or "{}")) == {"name", "ncpdp_id"}
    assert event.reason == "name and NCPDP id were mistyped"
    unchanged = post_form(browser, url, {**data, "reason": "again"})
    unchanged = shown_again(browser, unchanged, url)
    assert "Nothing was changed" in text_of(unchanged)


def test_annual_reactivation_lets_an_inactive_pharmacy_dispense_again(
    ctx: Context, app, browser: FlaskClient  # type: ignore[no-untyped-def]
) -> None:
    lapsed = builders.pharmacy(ctx, activated_on=date(2025, 12, 1),
                               trained_on=date(2026, 6, 1))
    staff = builders.pharmacist(ctx, lapsed)
    doc = builders.as_user(ctx, builders.prescriber(ctx))
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    auth = authorizations.authorize(doc, rx.id, signature=SIGNED)
    counter = app.test_client()
    login(counter, staff.email, builders.PASSWORD)
    lookup = {"authorization_number": auth.number, "date_of_birth": "1995-04-02"}
    assert "Do not dispense" in text_of(
        post_form(counter, "/pharmacy", lookup, follow_redirects=True))

    page = text_of(browser.get(f"/admin/pharmacies/{lapsed.id}"))
    assert "Inactive" in page and "Renew the pharmacy activation" in page
    response = post_form(browser, f"/admin/pharmacies/{lapsed.id}/reactivation",
                         {"activated_on": "2026-12-15"}, page_url=f"/admin/pharmacies/{lapsed.id}")
    assert response.status_code == 302
    [event] = events(ctx, "pharmacy.reactivated", lapsed.id)
    assert json.loads(event.old_values or "{}") == {"activated_on": "2025-12-01"}
    assert json.loads(event.new_values or "{}") == {"activated_on": "2026-12-15"}
    assert "May be dispensed now" in text_of(
        post_form(counter, "/pharmacy", lookup, follow_redirects=True))


def test_reactivation_is_not_dated_in_the_future_nor_before_the_current_one(
    ctx: Context, browser: FlaskClient
) -> None:
    pharmacy = builders.pharmacy(ctx, activated_on=date(2026, 6, 1))
    page_url = f"/admin/pharmacies/{pharmacy.id}"
    future = post_form(browser, f"{page_url}/reactivation", {"activated_on": "2026-12-16"},
                       page_url=page_url)
    future = shown_again(browser, future, page_url)
    assert "The reactivation date cannot be after today (Dec 15, 2026)." in text_of(future)
    earlier = post_form(browser, f"{page_url}/reactivation", {"activated_on": "2026-05-01"},
                        page_url=page_url)
    earlier = shown_again(browser, earlier, page_url)
    assert "cannot be dated before the current activation" in text_of(earlier)
    ctx.session.refresh(pharmacy)
    assert pharmacy.activated_on == date(2026, 6, 1)
    assert events(ctx, "pharmacy.reactivated", pharmacy.id) == []


def test_training_attestation_is_recorded_with_who_attested(
    ctx: Context, browser: FlaskClient
) -> None:
    pharmacy = builders.pharmacy(ctx, trained_on=date(2025, 12, 20))
    page_url = f"/admin/pharmacies/{pharmacy.id}"
    nobody = post_form(browser, f"{page_url}/training",
                       {"trained_on": "2026-12-14", "attested_by": ""}, page_url=page_url)
    nobody = shown_again(browser, nobody, page_url)
    assert "Enter who signed the attestation." in text_of(nobody)
    done = post_form(browser, f"{page_url}/training",
                     {"trained_on": "2026-12-14", "attested_by": "Robin Lead, PharmD"},
                     page_url=page_url)
    assert done.status_code == 302
    ctx.session.refresh(pharmacy)
    assert pharmacy.trained_on == date(2026, 12, 14)
    [event] = events(ctx, "pharmacy.training_attested", pharmacy.id)
    assert json.loads(event.new_values or "{}") == {"trained_on": "2026-12-14",
                                                    "attested_by": "Robin Lead, PharmD"}
    history = text_of(browser.get(page_url))
    assert "Staff training attestation recorded" in history
    assert "Attested by: Robin Lead, PharmD" in history


def test_pharmacy_list_is_paged_and_searchable(ctx: Context, browser: FlaskClient) -> None:
    made = [builders.pharmacy(ctx) for _ in range(26)]
    first = text_of(browser.get("/admin/pharmacies"))
    assert "Page 1 of 2" in first and 'href="/admin/pharmacies?page=2"' in first
    assert len(re.findall(r'href="/admin/pharmacies/\d+"', first)) == 25
    assert browser.get("/admin/pharmacies?page=2").status_code == 200
    found = text_of(browser.get(f"/admin/pharmacies?q={made[3].ncpdp_id}"))
    assert made[3].name in found and made[4].name not in found


def test_home_lists_the_pharmacies_to_renew(ctx: Context, browser: FlaskClient) -> None:
    lapsed = builders.pharmacy(ctx, activated_on=date(2025, 12, 1))
    due = builders.pharmacy(ctx, activated_on=date(2026, 1, 1), trained_on=date(2026, 12, 1))
    fine = builders.pharmacy(ctx)
    page = text_of(browser.get("/admin"))
    assert lapsed.name in page and due.name in page and fine.name not in page
    assert "Renew before Jan 1, 2027" in page
    assert page.index(lapsed.name) < page.index(due.name)


def test_pharmacy_page_lists_its_staff(ctx: Context, browser: FlaskClient) -> None:
    pharmacy = builders.pharmacy(ctx)
    staff = builders.pharmacist(ctx, pharmacy)
    page = text_of(browser.get(f"/admin/pharmacies/{pharmacy.id}"))
    assert f'href="/admin/users/{staff.id}"' in page
    assert f'href="/admin/users/new?pharmacy={pharmacy.ncpdp_id}"' in page
    assert browser.get("/admin/pharmacies/999999").status_code == 404


def test_pharmacy_services_are_for_administrators_only(ctx: Context) -> None:
    counter = builders.as_user(ctx, builders.pharmacist(ctx))
    with pytest.raises(Forbidden):
        pharmacy_service.admin_create_pharmacy(counter, "Mine", "5555555", None, None)
    with pytest.raises(Forbidden):
        pharmacy_service.record_reactivation(counter, counter.actor.pharmacy_id or 0,
                                             date(2026, 12, 15))
