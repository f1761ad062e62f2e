"""Minimum necessary (API.md): pharmacy staff see the non-clinical codes as they are and every
clinical reason folded into PRESCRIBER_ACTION_REQUIRED, in a lookup and in a 409 alike; a
positive pregnancy test must not be readable at the counter. The prescriber sees it all."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests import builders as b
from tests.api.scenarios import World, build_world, is_problem
from tests.conftest import TODAY, Clock
from tracker.domain.reasons import PHARMACY_VISIBLE_CODES, ReasonCode
from tracker.models import AuditEvent
from tracker.services import patients, records, tokens
from tracker.services.context import Context

COUNTER_CODES = {c.value for c in PHARMACY_VISIBLE_CODES} | {"PRESCRIBER_ACTION_REQUIRED"}
CLINICAL_CODES = {c.value for c in ReasonCode} - COUNTER_CODES
# Words that would tell the counter something clinical.
CLINICAL_WORDS = ("pregnan", "positive", "contracep", "counsel", "comprehension", "category",
                  "lockout", "screening", "enroll", "course", "abstinen", "test")


@pytest.fixture
def w(app: Flask, ctx: Context) -> World:
    return build_world(app, ctx)


def _positive_test(w: World) -> None:
    records.record_pregnancy_test(w.acting(w.prescriber), w.authorized.id, w.today, "positive",
                                  "lab")


def _category_changed(w: World) -> None:
    patients.change_category(w.acting(w.prescriber), w.authorized.id, "cannot_get_pregnant",
                             "Surgery")


def _course_ended(w: World) -> None:
    patients.end_course(w.acting(w.prescriber), w.authorized.id, w.today)


CLINICAL_EVENTS: dict[str, Callable[[World], None]] = {
    "positive pregnancy test": _positive_test,
    "category changed": _category_changed,
    "course ended": _course_ended,
}


def _lookup(w: World) -> Any:
    return w.send("pharmacist", "GET", f"/authorizations/{w.number}",
                  query_string={"date_of_birth": "1990-06-09"})


def _dispense(w: World) -> Any:
    return w.send("pharmacist", "POST", f"/prescriptions/{w.authorized_rx.id}/dispense",
                  json={"authorization_number": w.number, "quantity": 30, "days_supply": 30,
                        "medication_guide_given": True})


def _assert_nothing_clinical(response: Any, unmet: list[dict[str, Any]]) -> None:
    codes = {reason["code"] for reason in unmet}
    assert codes <= COUNTER_CODES, codes
    text = " ".join(f"{r['code']} {r['message']}" for r in unmet).lower()
    for word in CLINICAL_WORDS:
        assert word not in text.replace("prescriber_action_required", ""), (word, text)
    assert not CLINICAL_CODES & set(re.findall(r"[A-Z_]{4,}", response.get_data(as_text=True)))


@pytest.mark.parametrize("event", CLINICAL_EVENTS, ids=list(CLINICAL_EVENTS))
def test_the_counter_reads_only_prescriber_action_required(w: World, event: str) -> None:
    assert w.number  # authorized before the clinical event
    CLINICAL_EVENTS[event](w)

    looked = _lookup(w)
    assert looked.status_code == 200
    decision = looked.get_json()["decision"]
    assert decision["dispensable"] is False
    assert [r["code"] for r in decision["unmet"]] == ["PRESCRIBER_ACTION_REQUIRED"]
    assert decision["unmet"][0]["met_from"] is None
    _assert_nothing_clinical(looked, decision["unmet"])

    refused = _dispense(w)
    assert is_problem(refused, 409)
    problem = refused.get_json()
    assert [r["code"] for r in problem["unmet"]] == ["PRESCRIBER_ACTION_REQUIRED"]
    _assert_nothing_clinical(refused, problem["unmet"])


def test_the_prescriber_sees_the_clinical_reason_the_counter_cannot(w: World) -> None:
    assert w.number
    _positive_test(w)
    assert is_problem(_dispense(w), 409)
    decision = w.send("prescriber", "GET",
                      f"/prescriptions/{w.authorized_rx.id}/eligibility").get_json()
    assert "PREGNANCY_TEST_POSITIVE" in {r["code"] for r in decision["unmet"]}
    # The refusal at the counter is audited with the full reasons, for the prescriber's review.
    event = w.ctx.session.scalar(select(AuditEvent).where(AuditEvent.action == "dispense.refused")
                                 .order_by(AuditEvent.id.desc()))
    assert event is not None and "PREGNANCY_TEST_POSITIVE" in (event.new_values or "")


def test_an_expired_authorization_is_shown_with_its_date_and_nothing_clinical(
    w: World, clock: Clock
) -> None:
    assert w.number
    clock.set_day(TODAY + timedelta(days=6))  # the window of the test of Dec 14 closed Dec 20
    looked = _lookup(w).get_json()["decision"]
    codes = {r["code"] for r in looked["unmet"]}
    assert "AUTHORIZATION_EXPIRED" in codes and codes <= COUNTER_CODES
    expired = next(r for r in looked["unmet"] if r["code"] == "AUTHORIZATION_EXPIRED")
    assert expired["closed_on"] == "2026-12-20"
    refused = _dispense(w)
    assert is_problem(refused, 409)
    _assert_nothing_clinical(refused, refused.get_json()["unmet"])


def test_an_inactive_pharmacy_is_told_so(w: World) -> None:
    stale = b.pharmacy(w.ctx, activated_on=date(2025, 1, 2), trained_on=date(2025, 1, 2))
    clerk = b.pharmacist(w.ctx, at=stale)
    w.tokens["pharmacist"] = tokens.create_token(w.ctx, clerk)
    refused = _dispense(w)
    assert is_problem(refused, 409)
    assert [r["code"] for r in refused.get_json()["unmet"]] == ["PHARMACY_INACTIVE"]


def test_the_lookup_shows_the_patient_by_name_and_birth_date_only(w: World) -> None:
    body = _lookup(w).get_json()
    assert set(body) == {"prescription", "patient", "decision"}
    assert body["patient"] == {"first_name": "Blair", "last_name": "Chen",
                               "date_of_birth": "1990-06-09"}
    assert "used" not in body["decision"]


def test_a_refused_reversal_at_the_counter_names_no_clinical_reason(w: World) -> None:
    assert _dispense(w).status_code == 201
    refused = w.send("pharmacist", "POST", f"/authorizations/{w.number}/reverse",
                     json={"reason": "Patient changed mind", "date_of_birth": "1990-06-09"})
    assert is_problem(refused, 409)
    assert [r["code"] for r in refused.get_json()["unmet"]] == ["ALREADY_DISPENSED"]
