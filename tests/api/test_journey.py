"""The whole journey through the API alone, for both categories: create, acknowledge, record,
prescribe, check eligibility, authorize, look up at the pharmacy, dispense, refuse the second
dispense, reverse and re-authorize."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests import builders as b
from tests.conftest import TODAY, Clock
from tracker.services.context import Context

METHODS = ["iud", "male_condom"]


def day(offset: int, base: date = TODAY) -> str:
    return (base + timedelta(days=offset)).isoformat()


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def codes(problem: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in problem["unmet"]]


def test_patient_who_can_get_pregnant_goes_from_registration_to_second_fill(
    ctx: Context, api: Any, clock: Clock
) -> None:
    doc = api(ctx, b.prescriber(ctx))
    counter = api(ctx, b.pharmacist(ctx))

    patient = ok(doc.post("/patients", json={
        "first_name": "Maya", "last_name": "Ortiz", "date_of_birth": "1998-07-14",
        "category": "can_get_pregnant"}), 201)
    pid = patient["id"]
    assert patient["enrolled"] is False and patient["course_ended_on"] is None
    ack = ok(doc.post(f"/patients/{pid}/acknowledgments", json={
        "signed_on": day(-40), "patient_signature": "Maya Ortiz"}), 201)
    assert ack["signed_on"] == day(-40) and ack["form_code"] and ack["form_version"]
    assert ok(doc.get(f"/patients/{pid}"), 200)["enrolled"] is True

    ok(doc.post(f"/patients/{pid}/pregnancy-tests", json={
        "collected_on": day(-40), "result": "negative", "setting": "office"}), 201)
    ok(doc.post(f"/patients/{pid}/contraception", json={
        "recorded_on": day(-1), "started_on": day(-40), "methods": METHODS,
        "abstinence": False}), 201)
    ok(doc.post(f"/patients/{pid}/counseling", json={"counseled_on": day(-1)}), 201)
    ok(doc.post(f"/patients/{pid}/pregnancy-tests", json={
        "collected_on": day(-1), "result": "negative", "setting": "lab"}), 201)
    questions = ok(doc.get("/comprehension/questions"), 200)
    answers = {q["id"]: b.ANSWERS[q["id"]] for q in questions}
    graded = ok(doc.post(f"/patients/{pid}/comprehension", json={
        "completed_on": day(0), "answers": answers, "contraception_methods": METHODS,
        "abstinence": False}), 201)
    assert graded["passed"] is True and graded["wrong"] == []

    rx = ok(doc.post("/prescriptions", json={
        "patient_id": pid, "written_on": day(0), "days_supply": 30, "quantity": 30,
        "refills": 0}), 201)
    assert rx["status"] == "pending" and rx["authorization"] is None
    decision = ok(doc.get(f"/prescriptions/{rx['id']}/eligibility"), 200)
    assert decision == {"dispensable": True, "rule_set": "ipledge-2026", "as_of": day(0),
                        "unmet": [], "window": {"opens_on": day(-1), "closes_on": day(5)},
                        "do_not_dispense_after": day(5)}
    # As of two days ago this month's records did not exist yet (and nothing is written).
    earlier = ok(doc.get(f"/prescriptions/{rx['id']}/eligibility",
                         query_string={"as_of": day(-2)}), 200)
    assert earlier["dispensable"] is False and earlier["as_of"] == day(-2)
    assert {"COUNSELING_MISSING", "CONTRACEPTION_MISSING",
            "COMPREHENSION_MISSING"} <= set(codes(earlier))

    authorized = ok(doc.post(f"/prescriptions/{rx['id']}/authorize"), 200)
    auth = authorized["authorization"]
    assert authorized["status"] == "dispensable"
    assert auth["issued_on"] == day(0) and auth["do_not_dispense_after"] == day(5)
    assert auth["rule_set"] == "ipledge-2026" and auth["number"]

    seen = ok(counter.get(f"/authorizations/{auth['number']}",
                          query_string={"date_of_birth": "1998-07-14"}), 200)
    assert seen["patient"] == {"first_name": "Maya", "last_name": "Ortiz",
                               "date_of_birth": "1998-07-14"}
    assert seen["decision"]["dispensable"] is True and seen["decision"]["unmet"] == []
    assert seen["prescription"]["id"] == rx["id"]
    assert seen["prescription"]["authorization"]["number"] == auth["number"]

    fill = {"authorization_number": auth["number"].lower(), "quantity": 30, "days_supply": 30,
            "medication_guide_given": True}
    dispensed = ok(counter.post(f"/prescriptions/{rx['id']}/dispense", json=fill), 201)
    assert dispensed["prescription_id"] == rx["id"]
    assert dispensed["authorization_number"] == auth["number"]
    assert dispensed["quantity"] == 30 and dispensed["days_supply"] == 30
    assert dispensed["dispensed_at"].endswith("Z")
    again = ok(counter.post(f"/prescriptions/{rx['id']}/dispense", json=fill), 409)
    assert codes(again) == ["ALREADY_DISPENSED"]
    assert ok(doc.get(f"/prescriptions/{rx['id']}"), 200)["status"] == "dispensed"
    refused = ok(doc.post(f"/authorizations/{auth['number']}/reverse",
                          json={"reason": "Entered twice"}), 409)
    assert codes(refused) == ["ALREADY_DISPENSED"]

    # Next month: a new cycle after the dispense, a new prescription, an authorization that
    # is reversed (not picked up) and issued again under a new number.
    clock.set_day(TODAY + timedelta(days=29))
    d = TODAY + timedelta(days=29)
    ok(doc.post(f"/patients/{pid}/counseling", json={"counseled_on": day(0, d)}), 201)
    ok(doc.post(f"/patients/{pid}/contraception", json={
        "recorded_on": day(0, d), "started_on": day(-69, d), "methods": METHODS,
        "abstinence": False}), 201)
    ok(doc.post(f"/patients/{pid}/pregnancy-tests", json={
        "collected_on": day(0, d), "result": "negative", "setting": "lab"}), 201)
    ok(doc.post(f"/patients/{pid}/comprehension", json={
        "completed_on": day(0, d), "answers": answers, "contraception_methods": METHODS,
        "abstinence": False}), 201)
    second = ok(doc.post("/prescriptions", json={
        "patient_id": pid, "written_on": day(0, d), "days_supply": 30, "quantity": 30,
        "refills": 0}), 201)
    first_number = ok(doc.post(f"/prescriptions/{second['id']}/authorize"),
                      200)["authorization"]["number"]
    reversed_rx = ok(counter.post(f"/authorizations/{first_number}/reverse",
                                  json={"reason": "Not picked up",
                                        "date_of_birth": "1998-07-14"}), 200)
    assert reversed_rx["status"] == "pending" and reversed_rx["authorization"] is None
    gone = ok(counter.get(f"/authorizations/{first_number}",
                          query_string={"date_of_birth": "1998-07-14"}), 200)
    assert gone["decision"]["dispensable"] is False
    assert codes(gone["decision"]) == ["NOT_DISPENSABLE"]

    reissued = ok(doc.post(f"/prescriptions/{second['id']}/authorize"), 200)["authorization"]
    assert reissued["number"] != first_number
    stale = ok(counter.post(f"/prescriptions/{second['id']}/dispense", json={
        **fill, "authorization_number": first_number}), 409)
    assert codes(stale) == ["NOT_DISPENSABLE"]
    ok(counter.post(f"/prescriptions/{second['id']}/dispense", json={
        **fill, "authorization_number": reissued["number"]}), 201)


def test_patient_who_cannot_get_pregnant_goes_from_refusal_to_fill_and_course_end(
    ctx: Context, api: Any
) -> None:
    doc = api(ctx, b.prescriber(ctx))
    counter = api(ctx, b.pharmacist(ctx))

    pid = ok(doc.post("/patients", json={
        "first_name": "Ruth", "last_name": "Okafor", "date_of_birth": "1962-03-30",
        "category": "cannot_get_pregnant"}), 201)["id"]
    rx = ok(doc.post("/prescriptions", json={
        "patient_id": pid, "written_on": day(0), "days_supply": 30, "quantity": 60,
        "refills": 0}), 201)
    refused = ok(doc.post(f"/prescriptions/{rx['id']}/authorize"), 409)
    # Every unmet requirement, not only the first, each with its message and date.
    assert codes(refused) == ["PATIENT_NOT_ENROLLED", "COUNSELING_MISSING"]
    assert all(reason["message"] and "met_from" in reason for reason in refused["unmet"])
    assert ok(doc.get(f"/prescriptions/{rx['id']}"), 200)["status"] == "pending"

    ok(doc.post(f"/patients/{pid}/acknowledgments", json={
        "signed_on": day(-3), "patient_signature": "Ruth Okafor"}), 201)
    ok(doc.post(f"/patients/{pid}/counseling", json={"counseled_on": day(-3)}), 201)
    decision = ok(doc.get(f"/prescriptions/{rx['id']}/eligibility"), 200)
    assert decision["dispensable"] is True and decision["window"] is None

    auth = ok(doc.post(f"/prescriptions/{rx['id']}/authorize"), 200)["authorization"]
    assert auth["do_not_dispense_after"] is None  # ipledge-2026: no window from the visit
    seen = ok(counter.get(f"/authorizations/{auth['number']}",
                          query_string={"date_of_birth": "1962-03-30"}), 200)
    assert seen["decision"]["dispensable"] is True
    fill = {"authorization_number": auth["number"], "quantity": 60, "days_supply": 30,
            "medication_guide_given": True}
    ok(counter.post(f"/prescriptions/{rx['id']}/dispense", json=fill), 201)
    assert codes(ok(counter.post(f"/prescriptions/{rx['id']}/dispense", json=fill),
                    409)) == ["ALREADY_DISPENSED"]

    refill = ok(doc.post("/prescriptions", json={
        "patient_id": pid, "written_on": day(0), "days_supply": 30, "quantity": 60,
        "refills": 0}), 201)
    first = ok(doc.post(f"/prescriptions/{refill['id']}/authorize"), 200)["authorization"]
    ok(doc.post(f"/authorizations/{first['number']}/reverse",
                json={"reason": "Wrong quantity entered"}), 200)
    second = ok(doc.post(f"/prescriptions/{refill['id']}/authorize"), 200)["authorization"]
    assert second["number"] != first["number"]
    ok(counter.post(f"/prescriptions/{refill['id']}/dispense",
                    json={**fill, "authorization_number": second["number"]}), 201)

    ended = ok(doc.post(f"/patients/{pid}/course-end", json={"last_dose_on": day(0)}), 200)
    assert ended["course_ended_on"] == day(0)
    after = ok(doc.post("/prescriptions", json={
        "patient_id": pid, "written_on": day(0), "days_supply": 30, "quantity": 60,
        "refills": 0}), 201)
    assert "COURSE_ENDED" in codes(ok(doc.post(f"/prescriptions/{after['id']}/authorize"), 409))
