"""The import's round trip through the API: a line of the example file imported (batch by
batch, each written as the command line writes it), and the same history entered through the
API day by day, as it happened; the next fill of both is then answered identically by the
eligibility check, day by day around the next visit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests import builders as b
from tests.conftest import Clock
from tracker.services import imports
from tracker.services.context import Context
from tracker.services.pharmacies import create_pharmacy

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "import-example.jsonl"
NEXT_VISIT = date(2026, 11, 26)
METHODS = ["iud", "male_condom"]


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()


def replay(line: dict[str, Any], doc: Any, counter: Any, clock: Clock) -> int:
    """Enter the line's history through the API, each step on its own day (records before
    the fills of their day, a dispense after its authorization); the patient's id."""
    steps: list[tuple[str, int, Callable[[], None]]] = []
    patient: dict[str, int] = {}

    def post(path: str, body: dict[str, Any]) -> Callable[[], None]:
        return lambda: ok(doc.post(path.format(**patient), json=body), 201)

    for rec in line["acknowledgments"]:
        steps.append((rec["signed_on"], 0, post("/patients/{id}/acknowledgments", rec)))
    for name, path, day in (("counseling", "counseling", "counseled_on"),
                            ("pregnancy_tests", "pregnancy-tests", "collected_on"),
                            ("contraception", "contraception", "recorded_on"),
                            ("comprehension", "comprehension", "completed_on")):
        for rec in line[name]:
            steps.append((rec[day], 1, post(f"/patients/{{id}}/{path}", rec)))
    for fill in line["fills"]:
        prescription: dict[str, Any] = {}

        def write(fill: dict[str, Any] = fill, prescription: dict[str, Any] = prescription) -> None:
            prescription.update(ok(doc.post("/prescriptions", json={
                "patient_id": patient["id"], "written_on": fill["written_on"],
                "days_supply": fill["days_supply"], "quantity": fill["quantity"],
                "refills": 0}), 201))

        def authorize(prescription: dict[str, Any] = prescription) -> None:
            prescription.update(ok(doc.post(f"/prescriptions/{prescription['id']}/authorize"),
                                   200))

        def dispense(fill: dict[str, Any] = fill,
                     prescription: dict[str, Any] = prescription) -> None:
            ok(counter.post(f"/prescriptions/{prescription['id']}/dispense", json={
                "authorization_number": prescription["authorization"]["number"],
                "quantity": fill["quantity"], "days_supply": fill["days_supply"],
                "medication_guide_given": True}), 201)

        steps += [(fill["written_on"], 2, write), (fill["authorized_on"], 3, authorize),
                  (fill["dispensed_on"], 4, dispense)]
    steps.sort(key=lambda step: (step[0], step[1]))
    clock.set_day(date.fromisoformat(steps[0][0]))
    patient["id"] = ok(doc.post("/patients", json={
        key: line[key] for key in ("first_name", "last_name", "date_of_birth", "category")}),
        201)["id"]
    for day, _, step in steps:
        clock.set_day(date.fromisoformat(day))
        step()
    return patient["id"]


def next_fill(doc: Any, patient_id: int) -> int:
    """The next visit's records and prescription, through the API."""
    answers = {q["id"]: b.ANSWERS[q["id"]] for q in ok(doc.get("/comprehension/questions"), 200)}
    on = NEXT_VISIT.isoformat()
    for path, body in (
            ("counseling", {"counseled_on": on}),
            ("contraception", {"recorded_on": on, "started_on": "2026-06-01", "methods": METHODS,
                               "abstinence": False}),
            ("pregnancy-tests", {"collected_on": on, "result": "negative", "setting": "lab"}),
            ("comprehension", {"completed_on": on, "answers": answers,
                               "contraception_methods": METHODS, "abstinence": False})):
        ok(doc.post(f"/patients/{patient_id}/{path}", json=body), 201)
    return int(ok(doc.post("/prescriptions", json={
        "patient_id": patient_id, "written_on": on, "days_supply": 30, "quantity": 60,
        "refills": 0}), 201)["id"])


def test_an_imported_history_and_the_same_entered_through_the_api_decide_alike(
        ctx: Context, api: Any, clock: Clock) -> None:
    store = create_pharmacy(ctx, "Example Pharmacy", "1234567", date(2026, 6, 1),
                            date(2026, 6, 1))
    by_hand, importer = b.prescriber(ctx), b.prescriber(ctx)
    doc, counter = api(ctx, by_hand), api(ctx, b.pharmacist(ctx, store))
    lines = EXAMPLE.read_text().splitlines()[:2]  # Avery, then Jordan (who cannot get pregnant)
    hand_patient = replay(json.loads(lines[0]), doc, counter, clock)

    clock.set_day(date(2026, 11, 1))
    plan = imports.check_file(ctx, importer.email, "example.jsonl",
                              "".join(line + "\n" for line in lines).encode())
    assert plan.report.ok, plan.report.problems
    imports.start_import(ctx, plan)
    for batch in plan.batches(1):
        imports.write_batch(ctx, plan, imports.prepare_batch(ctx, plan, batch))
    imported_patient = plan.finish().ids[0].patient_id
    assert imported_patient is not None

    clock.set_day(NEXT_VISIT)
    mine = api(ctx, importer)
    hand_rx, imported_rx = next_fill(doc, hand_patient), next_fill(mine, imported_patient)
    for offset in (-1, 0, 6, 7):
        as_of = (NEXT_VISIT + timedelta(days=offset)).isoformat()
        clock.set_day(max(NEXT_VISIT, NEXT_VISIT + timedelta(days=offset)))
        hand = ok(doc.get(f"/prescriptions/{hand_rx}/eligibility",
                          query_string={"as_of": as_of}), 200)
        imported = ok(mine.get(f"/prescriptions/{imported_rx}/eligibility",
                               query_string={"as_of": as_of}), 200)
        assert imported == hand, as_of
    clock.set_day(NEXT_VISIT)
    decision = ok(mine.get(f"/prescriptions/{imported_rx}/eligibility"), 200)
    # A later fill: no screening test, no 30-day wait; the window of this month's test.
    assert decision["dispensable"] is True and decision["do_not_dispense_after"] == "2026-12-02"
    authorized = ok(mine.post(f"/prescriptions/{imported_rx}/authorize"), 200)
    assert authorized["authorization"]["do_not_dispense_after"] == "2026-12-02"
