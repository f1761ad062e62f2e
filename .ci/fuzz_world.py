#!/usr/bin/env python3
"""Real data for the schemathesis run against a served instance (.ci/api-fuzz): through the API,
as a prescriber, a patient qualified for a first fill with an authorized prescription (what the
pharmacy's operations need), and a pending prescription. Prints the schemathesis configuration
that offers these values to the generated requests, next to generated ones.

Usage: fuzz_world.py BASE_URL PRESCRIBER_TOKEN HOOKS_FILE > schemathesis.toml
Stdlib only."""

from __future__ import annotations

import json
import sys
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BASE, TOKEN, HOOKS = sys.argv[1:4]
TODAY = datetime.now(ZoneInfo("America/New_York")).date()
BORN = "1999-09-09"
METHODS = ["iud", "male_condom"]
ANSWERS = {"birth-defects": True, "two-methods": True, "month-before-after": True,
           "negative-test-each-month": True, "share-ok": False, "blood-donation": False,
           "stop-if-pregnant": True, "breastfeeding-ok": False}
# Real values are offered to half of the generated requests: the rest stay generated, so the
# run still tries ids and numbers that do not exist.
SHARE = 0.5


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def call(method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)  # noqa: S310
    request.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - BASE is http
        return json.loads(answer.read().decode())


def qualified_patient() -> int:
    patient = call("POST", "/api/v1/patients", {"first_name": "Fuzz", "last_name": "Patient",
                                                "date_of_birth": BORN,
                                                "category": "can_get_pregnant"})
    pid = patient["id"]
    call("POST", f"/api/v1/patients/{pid}/acknowledgments",
         {"signed_on": day(-40), "patient_signature": "Fuzz Patient"})
    call("POST", f"/api/v1/patients/{pid}/pregnancy-tests",
         {"collected_on": day(-40), "result": "negative", "setting": "office"})
    call("POST", f"/api/v1/patients/{pid}/contraception",
         {"recorded_on": day(-1), "started_on": day(-40), "methods": METHODS,
          "abstinence": False})
    call("POST", f"/api/v1/patients/{pid}/counseling", {"counseled_on": day(-1)})
    call("POST", f"/api/v1/patients/{pid}/pregnancy-tests",
         {"collected_on": day(-1), "result": "negative", "setting": "lab"})
    call("POST", f"/api/v1/patients/{pid}/comprehension",
         {"completed_on": day(0), "answers": ANSWERS, "contraception_methods": METHODS,
          "abstinence": False})
    return int(str(pid))


def prescription(pid: int) -> int:
    rx = call("POST", "/api/v1/prescriptions", {"patient_id": pid, "written_on": day(0),
                                                "days_supply": 30, "quantity": 30,
                                                "refills": 0})
    return int(str(rx["id"]))


def main() -> None:
    pid = qualified_patient()
    authorized = prescription(pid)
    answer = call("POST", f"/api/v1/prescriptions/{authorized}/authorize")
    number = answer["authorization"]["number"]  # type: ignore[index]
    other = call("POST", "/api/v1/patients", {"first_name": "Fuzz", "last_name": "Pending",
                                              "date_of_birth": "1980-02-29",
                                              "category": "cannot_get_pregnant"})
    pending = prescription(int(str(other["id"])))
    patients = [pid, other["id"]]
    prescriptions = [authorized, pending]

    def offer(dictionary: str) -> str:
        return f'{{ dictionary = "{dictionary}", probability = {SHARE} }}'

    print(f'hooks = "{HOOKS}"\n')
    print(f"[dictionaries.patients]\nvalues = {json.dumps(patients)}\n")
    print(f"[dictionaries.prescriptions]\nvalues = {json.dumps(prescriptions)}\n")
    print(f"[dictionaries.numbers]\nvalues = {json.dumps([number])}\n")
    print(f"[dictionaries.births]\nvalues = {json.dumps([BORN])}\n")
    print(f'[[operations]]\ninclude-path-regex = "^/api/v1/patients/\\\\{{id\\\\}}"\n'
          f'parameters = {{ "path.id" = {offer("patients")} }}\n')
    print(f'[[operations]]\ninclude-path-regex = "^/api/v1/prescriptions/\\\\{{id\\\\}}"\n'
          f'parameters = {{ "path.id" = {offer("prescriptions")} }}\n')
    print(f'[[operations]]\ninclude-path-regex = "^/api/v1/authorizations/"\n'
          f'parameters = {{ "path.number" = {offer("numbers")}, '
          f'"query.date_of_birth" = {offer("births")}, '
          f'"body.date_of_birth" = {offer("births")} }}')


if __name__ == "__main__":
    main()
