"""RULES.md end to end in the browser: a dermatologist takes a new patient from registration to
an authorized prescription using only the pages, and is told at each step what is missing and
when it can be done."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask.testing import FlaskClient

from tests import builders
from tests.conftest import take_screen_back
from tests.web.prescriber.conftest import SHOWN_AGAIN, page, submit, text_of

RIGHT = {"q_birth_defects": "true", "q_two_methods": "true", "q_month_before_after": "true",
         "q_negative_test_each_month": "true", "q_share_ok": "false",
         "q_blood_donation": "false", "q_stop_if_pregnant": "true",
         "q_breastfeeding_ok": "false"}
METHODS = {"primary_methods": ["iud"], "secondary_methods": ["male_condom"]}


def _register(browser: FlaskClient, first: str, last: str, born: str, category: str) -> int:
    location = submit(browser, "/patients/new", {"first_name": first, "last_name": last,
                                                 "date_of_birth": born, "category": category})
    found = re.search(r"/patients/(\d+)/acknowledgment$", location)
    assert found, location
    return int(found.group(1))


def _sign(browser: FlaskClient, pid: int, day: str, name: str) -> None:
    location = submit(browser, f"/patients/{pid}/acknowledgment",
                      {"signed_on": day, "patient_signature": name, "understood": "y",
                       "witness_password": builders.PASSWORD})
    assert re.search(rf"/patients/{pid}/acknowledgments/\d+$", location)


def test_patient_who_can_get_pregnant_goes_from_registration_to_authorization(
    browser: FlaskClient, travel: Callable[[date], None]
) -> None:
    travel(date(2026, 11, 16))
    pid = _register(browser, "Maya", "Lopez", "1998-03-14", "can_get_pregnant")
    assert "Have the patient sign the acknowledgment" in text_of(page(browser, "/worklist"))

    _sign(browser, pid, "2026-11-16", "maya  LOPEZ")
    submit(browser, f"/patients/{pid}/counseling/new", {"counseled_on": "2026-11-16"})
    submit(browser, f"/patients/{pid}/pregnancy-tests/new",
           {"collected_on": "2026-11-16", "result": "negative", "setting": "office"})
    submit(browser, f"/patients/{pid}/contraception/new",
           {"recorded_on": "2026-11-16", "started_on": "2026-11-16", **METHODS})
    worklist = text_of(page(browser, "/worklist"))
    # RULES.md §6.6 and §6.7: 19 days after screening (Dec 5) and the 30-day wait (Dec 16).
    assert ("The confirmation pregnancy test can be collected from Dec 16, 2026 (19 days after "
            "a negative screening test; 30 days after the contraception started)") in worklist
    assert "Record for the next fill: the patient's comprehension answers." in worklist

    travel(date(2026, 12, 16))
    submit(browser, f"/patients/{pid}/pregnancy-tests/new",
           {"collected_on": "2026-12-16", "result": "negative", "setting": "lab"})
    submit(browser, f"/patients/{pid}/counseling/new", {"counseled_on": "2026-12-16"})
    submit(browser, f"/patients/{pid}/contraception/new",
           {"recorded_on": "2026-12-16", "started_on": "2026-11-16", **METHODS})
    once = submit(browser, f"/patients/{pid}/comprehension",
                  {**RIGHT, "q_share_ok": "true", **METHODS}, status=SHOWN_AGAIN)
    assert "1 answer is not right." in text_of(once)
    again = submit(browser, f"/patients/{pid}/comprehension", {**RIGHT, **METHODS},
                   status=SHOWN_AGAIN)
    assert "All your answers are right." in text_of(again)
    take_screen_back(browser, builders.PASSWORD)

    assert "Every requirement of the next fill is met: write the prescription" in text_of(
        page(browser, "/worklist"))
    location = submit(browser, f"/patients/{pid}/prescriptions/new",
                      {"written_on": "2026-12-16", "days_supply": "30", "quantity": "60",
                       "refills": "0"})
    rx_url = location.replace("http://localhost", "")
    assert "every requirement is met" in text_of(page(browser, rx_url))
    assert "can be marked dispensable now" in text_of(page(browser, "/worklist"))

    submit(browser, rx_url + "/authorize", {"password": builders.PASSWORD}, page_url=rx_url)
    shown = text_of(page(browser, rx_url))
    assert re.search(r"Authorization number [0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", shown)
    assert "Do not dispense after Dec 22, 2026" in shown  # D+6 (RULES.md §8)
    assert "can be dispensed by a pharmacy through Dec 22, 2026" in text_of(
        page(browser, "/worklist"))


def test_patient_who_cannot_get_pregnant_goes_from_registration_to_authorization(
    browser: FlaskClient, travel: Callable[[date], None]
) -> None:
    travel(date(2026, 12, 15))
    pid = _register(browser, "Ruth", "Okafor", "1961-07-02", "cannot_get_pregnant")
    _sign(browser, pid, "2026-12-15", "Ruth Okafor")
    assert "Record for the next fill: counseling." in text_of(page(browser, "/worklist"))
    submit(browser, f"/patients/{pid}/counseling/new", {"counseled_on": "2026-12-15"})
    location = submit(browser, f"/patients/{pid}/prescriptions/new",
                      {"written_on": "2026-12-15", "days_supply": "30", "quantity": "30",
                       "refills": "0"})
    rx_url = location.replace("http://localhost", "")
    submit(browser, rx_url + "/authorize", {"password": builders.PASSWORD}, page_url=rx_url)
    shown = text_of(page(browser, rx_url))
    assert "Do not dispense after No end date" in shown  # none under ipledge-2026 (§8)
    assert "Authorization number" in shown
