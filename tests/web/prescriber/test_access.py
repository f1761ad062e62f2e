"""Who may open the prescriber's pages: only prescribers, each only for their own patients
(another prescriber's patient answers 404, as if it did not exist); forms need their CSRF
token."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import csrf_token, login
from tests.web.prescriber.conftest import page
from tracker.models import Acknowledgment, Counseling, Prescription
from tracker.services import records
from tracker.services.context import Context

PAGES = ["/worklist", "/settings", "/patients/new"]


def _other_doctors_patient(ctx: Context):  # type: ignore[no-untyped-def]
    other = builders.as_user(ctx, builders.prescriber(ctx, name="Other Doc"))
    p = builders.ready_for_first_fill(other)
    rx = builders.prescription(other, p.id)
    test = records.record_pregnancy_test(other, p.id, other.today(), "positive", "lab")
    return p, rx, test


def _their_urls(p, rx, test) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        f"/patients/{p.id}", f"/patients/{p.id}/acknowledgment",
        f"/patients/{p.id}/acknowledgments/1", f"/patients/{p.id}/category",
        f"/patients/{p.id}/course-end", f"/patients/{p.id}/counseling/new",
        f"/patients/{p.id}/pregnancy-tests/new", f"/patients/{p.id}/contraception/new",
        f"/patients/{p.id}/comprehension", f"/patients/{p.id}/prescriptions/new",
        f"/prescriptions/{rx.id}",
    ]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_pharmacy_staff_may_not_open_the_prescribers_pages(client: FlaskClient, ctx: Context,
                                                           url: str) -> None:
    staff = builders.pharmacist(ctx)
    login(client, staff.email, builders.PASSWORD)
    assert client.get(url).status_code == 403


def test_pharmacy_staff_may_not_open_a_patient(client: FlaskClient, ctx: Context) -> None:
    p, rx, test = _other_doctors_patient(ctx)
    staff = builders.pharmacist(ctx)
    login(client, staff.email, builders.PASSWORD)
    for url in _their_urls(p, rx, test):
        assert client.get(url).status_code == 403, url


def test_another_prescribers_patient_is_not_found(browser: FlaskClient, ctx: Context) -> None:
    p, rx, test = _other_doctors_patient(ctx)
    for url in _their_urls(p, rx, test):
        text = page(browser, url, status=404)
        assert p.last_name not in text, url


def test_another_prescribers_patient_cannot_be_changed(browser: FlaskClient, ctx: Context,
                                                       db: Session) -> None:
    p, rx, test = _other_doctors_patient(ctx)
    token = csrf_token(page(browser, "/worklist"))
    posts = {
        f"/patients/{p.id}/counseling/new": {"counseled_on": "2026-12-15"},
        f"/patients/{p.id}/acknowledgment": {"signed_on": "2026-12-15",
                                             "patient_signature": "Alex Rivera",
                                             "understood": "y",
                                             "witness_password": builders.PASSWORD},
        f"/patients/{p.id}/pregnancy-tests/{test.id}/report": {},
        f"/prescriptions/{rx.id}/authorize": {},
        f"/prescriptions/{rx.id}/reverse": {"reason": "x"},
        f"/patients/{p.id}/prescriptions/new": {"written_on": "2026-12-15", "days_supply": "30",
                                                "quantity": "30"},
    }
    for url, data in posts.items():
        assert browser.post(url, data={**data, "csrf_token": token}).status_code == 404, url
    db.expire_all()
    assert db.get(Prescription, rx.id).status == "pending"  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(Counseling)) == 1  # theirs only
    assert db.scalar(select(func.count()).select_from(Acknowledgment)) == 1


def test_forms_without_their_csrf_token_are_refused(browser: FlaskClient, doc: Context) -> None:
    p = builders.enrolled_patient(doc)
    response = browser.post(f"/patients/{p.id}/counseling/new",
                            data={"counseled_on": "2026-12-15"})
    assert response.status_code == 400
    assert "The form had expired or was sent from elsewhere." in response.get_data(as_text=True)
