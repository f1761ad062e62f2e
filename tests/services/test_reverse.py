"""RULES.md §8 and API.md: an authorization is reversed by its prescriber, or by pharmacy staff of
an active pharmacy who give the patient's birth date; a refused reversal changes nothing but the
audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests import builders
from tests.builders import SIGNED
from tracker.models import AuditEvent, Authorization
from tracker.services import authorizations
from tracker.services.context import Context
from tracker.services.errors import NotFound, Refused, ValidationFailed


@pytest.fixture
def doc(ctx: Context) -> Context:
    return builders.as_user(ctx, builders.prescriber(ctx))


@pytest.fixture
def authorized(doc: Context):  # type: ignore[no-untyped-def]
    patient = builders.ready_for_first_fill(doc)
    rx = builders.prescription(doc, patient.id)
    return patient, rx, authorizations.authorize(doc, rx.id, signature=SIGNED)


def state_of(ctx: Context, auth: Authorization) -> str:
    ctx.session.refresh(auth)
    return str(auth.state)


def test_pharmacy_staff_reverse_with_the_patients_birth_date(ctx: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    patient, rx, auth = authorized
    counter = builders.as_user(ctx, builders.pharmacist(ctx))
    reversed_rx = authorizations.reverse(counter, auth.number, "not picked up",
                                         patient.date_of_birth)
    assert reversed_rx.status == "pending" and state_of(ctx, auth) == "reversed"


def test_pharmacy_staff_without_the_birth_date_are_told_to_give_it(ctx: Context,
                                                                  authorized) -> None:  # type: ignore[no-untyped-def]
    _, _, auth = authorized
    counter = builders.as_user(ctx, builders.pharmacist(ctx))
    with pytest.raises(ValidationFailed) as invalid:
        authorizations.reverse(counter, auth.number, "not picked up")
    assert "birth date" in invalid.value.errors["date_of_birth"][0]
    assert state_of(ctx, auth) == "open"


def test_a_wrong_birth_date_is_not_found_and_changes_nothing(ctx: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    patient, _, auth = authorized
    counter = builders.as_user(ctx, builders.pharmacist(ctx))
    with pytest.raises(NotFound):
        authorizations.reverse(counter, auth.number, "not picked up",
                               patient.date_of_birth + timedelta(days=1))
    assert state_of(ctx, auth) == "open"


def test_a_lapsed_pharmacy_cannot_reverse(ctx: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    patient, _, auth = authorized
    stale = builders.pharmacy(ctx, activated_on=ctx.today() - timedelta(days=400),
                              trained_on=ctx.today() - timedelta(days=10))
    counter = builders.as_user(ctx, builders.pharmacist(ctx, stale))
    with pytest.raises(Refused) as refused:
        authorizations.reverse(counter, auth.number, "not picked up", patient.date_of_birth)
    assert [r.code.value for r in refused.value.decision.unmet] == ["PHARMACY_INACTIVE"]
    assert state_of(ctx, auth) == "open"
    actions = ctx.session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.object_id == auth.number)).all()
    assert "authorization.reverse_refused" in actions


def test_the_prescriber_may_omit_the_birth_date(doc: Context, ctx: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    _, _, auth = authorized
    assert authorizations.reverse(doc, auth.number, "wrong entry").status == "pending"
    assert state_of(ctx, auth) == "reversed"


def test_a_birth_date_in_the_future_is_refused(doc: Context, authorized) -> None:  # type: ignore[no-untyped-def]
    _, _, auth = authorized
    with pytest.raises(ValidationFailed) as invalid:
        authorizations.reverse(doc, auth.number, "wrong entry", date(2999, 1, 1))
    assert "future" in invalid.value.errors["date_of_birth"][0]
