"""API.md POST /authorizations/{number}/reverse: pharmacy staff send the patient's birth date (404
when it does not match, as at the lookup) and act from an active pharmacy (409
PHARMACY_INACTIVE); a prescriber may omit it. Wrong birth dates lock the number (429)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from tests.api.scenarios import World, build_world, is_problem
from tracker.models import Pharmacy
from tracker.services.context import Context


@pytest.fixture
def w(app: Flask, ctx: Context) -> World:
    return build_world(app, ctx)


def reverse(w: World, who: str, **body: str):  # type: ignore[no-untyped-def]
    return w.send(who, "POST", f"/authorizations/{w.number}/reverse",
                  json={"reason": "Not picked up", **body})


def still_open(w: World) -> bool:
    found = w.send("pharmacist", "GET", f"/authorizations/{w.number}",
                   query_string={"date_of_birth": "1990-06-09"})
    return found.get_json()["prescription"]["status"] == "dispensable"


def test_pharmacy_staff_without_the_birth_date_get_422(w: World) -> None:
    answer = reverse(w, "pharmacist")
    assert is_problem(answer, 422)
    assert "date_of_birth" in answer.get_json()["errors"]
    assert still_open(w)


def test_pharmacy_staff_with_a_wrong_birth_date_get_404(w: World) -> None:
    assert is_problem(reverse(w, "pharmacist", date_of_birth="1990-06-10"), 404)
    assert still_open(w)


def test_a_lapsed_pharmacy_gets_409_pharmacy_inactive(w: World, ctx: Context) -> None:
    pharmacy = ctx.session.get(Pharmacy, w.pharmacist.pharmacy_id)
    assert pharmacy is not None
    pharmacy.activated_on = ctx.today() - timedelta(days=400)
    ctx.session.flush()
    answer = reverse(w, "pharmacist", date_of_birth="1990-06-09")
    assert is_problem(answer, 409)
    assert [r["code"] for r in answer.get_json()["unmet"]] == ["PHARMACY_INACTIVE"]


def test_pharmacy_staff_with_the_birth_date_reverse(w: World) -> None:
    answer = reverse(w, "pharmacist", date_of_birth="1990-06-09")
    assert answer.status_code == 200 and answer.get_json()["status"] == "pending"


def test_the_prescriber_may_omit_the_birth_date(w: World) -> None:
    answer = reverse(w, "prescriber")
    assert answer.status_code == 200 and answer.get_json()["authorization"] is None


def test_a_locked_number_answers_429_with_retry_after(w: World) -> None:
    for _ in range(5):
        wrong = w.send("pharmacist", "GET", f"/authorizations/{w.number}",
                       query_string={"date_of_birth": "1990-06-10"})
        assert is_problem(wrong, 404)
    locked = w.send("pharmacist", "GET", f"/authorizations/{w.number}",
                    query_string={"date_of_birth": "1990-06-09"})
    assert is_problem(locked, 429)
    assert locked.headers["Retry-After"] == str(24 * 3600)
    assert "locked" in locked.get_json()["detail"]
    assert is_problem(reverse(w, "pharmacist", date_of_birth="1990-06-09"), 429)
