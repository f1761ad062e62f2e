"""Fixtures of the pharmacy counter's page tests: a prescriber, an authorization ready to
dispense, and a pharmacist signed in at an active pharmacy."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from tests import builders
from tests.builders import SIGNED
from tests.conftest import csrf_token, login, post_form
from tracker.models import Authorization, Patient, Prescription, User
from tracker.services import authorizations
from tracker.services.context import Context


@dataclass
class Authorized:
    patient: Patient
    prescription: Prescription
    authorization: Authorization
    prescriber: Context


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx, name="Dana Derm"))


@pytest.fixture
def authorized(doc: Context) -> Authorized:
    """A patient who can get pregnant, authorized today (Dec 15, 2026); the confirmation test
    of Dec 14 makes Dec 20 the last day."""
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id, days_supply=30, quantity=60)
    return Authorized(patient, rx, authorizations.authorize(doc, rx.id, signature=SIGNED), doc)


@pytest.fixture
def pharmacist(ctx: Context) -> User:
    return builders.pharmacist(ctx)


@pytest.fixture
def counter(client: FlaskClient, pharmacist: User) -> FlaskClient:
    """A browser signed in as the pharmacist."""
    login(client, pharmacist.email, builders.PASSWORD)
    return client


def look_up(client: FlaskClient, number: str, born: str):  # type: ignore[no-untyped-def]
    """Submit the lookup form and follow it to the result (Post/Redirect/Get): the answer is
    the status page (or the form again)."""
    return post_form(client, "/pharmacy", {"authorization_number": number,
                                           "date_of_birth": born}, follow_redirects=True)


def refusal_shown(client: FlaskClient, response):  # type: ignore[no-untyped-def]
    """A refused dispense or reversal leads back, by GET, to the status page that says why."""
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].startswith("/pharmacy/result/")
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    return shown


def dispense_from(client: FlaskClient, status_page: str, number: str, born: str,
                  quantity: object = 60, days_supply: object = 30,
                  guide: bool = True):  # type: ignore[no-untyped-def]
    """Submit the dispense form of a status page already shown."""
    data = {"csrf_token": csrf_token(status_page), "authorization_number": number,
            "date_of_birth": born, "quantity": quantity, "days_supply": days_supply}
    if guide:
        data["medication_guide_given"] = "y"
    return client.post("/pharmacy/dispense", data=data)
