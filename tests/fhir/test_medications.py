"""The drugs of this program, as a FHIR medication names them (RxNorm or NDC): every code of
the table is recognized, in a Medication, a MedicationRequest and through `$rems-etasu`; any
other drug or code system is not."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests import builders as b
from tests.fhir.helpers import ETASU, etasu_body, guidance
from tracker.fhir.medications import ISOTRETINOIN, NDC, RXNORM, normalized_ndc, program_coding
from tracker.services.context import Context
from tracker.services.tokens import create_token

EVERY_CODE = [(system, code) for system, codes in ISOTRETINOIN.items() for code in codes]
# Other drugs: acetaminophen (RxNorm 161), an abacavir package (NDC 65862-073-60, openFDA), a
# code one digit off an isotretinoin drug; and the ingredient's code in other code systems.
OTHER_DRUGS = [(RXNORM, "161"), (NDC, "65862-073-60"), (RXNORM, "197846"),
               ("http://snomed.info/sct", "6064"), (NDC, "6064")]


def medication(system: str, code: str) -> dict[str, Any]:
    return {"resourceType": "Medication", "code": {"coding": [{"system": system, "code": code}]}}


def request_for(system: str, code: str) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "status": "draft", "intent": "order",
            "subject": {"reference": "Patient/pat-1"},
            "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]}}


def test_the_table_holds_the_ingredient_clinical_and_branded_drugs_and_packages() -> None:
    rxnorm, ndc = ISOTRETINOIN[RXNORM], ISOTRETINOIN[NDC]
    assert "6064" in rxnorm
    assert {"197843", "197844", "197845", "403930", "1547561", "1547565"} <= set(rxnorm)
    brands = " ".join(rxnorm.values()) + " " + " ".join(ndc.values())
    for brand in ("Absorica", "Absorica LD", "Amnesteem", "Claravis", "Zenatane", "Myorisan"):
        assert brand in brands, brand


@pytest.mark.parametrize(("system", "code"), EVERY_CODE)
def test_every_code_of_the_table_is_recognized(system: str, code: str) -> None:
    for resource in (medication(system, code), request_for(system, code)):
        found = program_coding(resource)
        assert found is not None and found["code"] == code and found["display"]


@pytest.mark.parametrize(("system", "code"), EVERY_CODE)
def test_every_code_of_the_table_answers_through_rems_etasu(
        ctx: Context, client: FlaskClient, system: str, code: str) -> None:
    doctor = b.prescriber(ctx)
    b.ready_for_first_fill(b.as_user(ctx, doctor))
    body = etasu_body()
    body["parameter"][1]["resource"] = medication(system, code)
    response = client.post(ETASU, json=body, headers={
        "Authorization": "Bearer " + create_token(ctx, doctor),
        "Content-Type": "application/fhir+json"})
    assert guidance(response)["status"] == "success"


@pytest.mark.parametrize(("system", "code"), OTHER_DRUGS)
def test_another_drug_or_code_system_is_not_this_program(system: str, code: str) -> None:
    assert program_coding(medication(system, code)) is None


@pytest.mark.parametrize(("system", "code"), OTHER_DRUGS[:3])
def test_another_drug_is_failure_through_rems_etasu(ctx: Context, client: FlaskClient,
                                                    system: str, code: str) -> None:
    doctor = b.prescriber(ctx)
    b.ready_for_first_fill(b.as_user(ctx, doctor))
    body = etasu_body()
    body["parameter"][1]["resource"] = medication(system, code)
    response = client.post(ETASU, json=body, headers={
        "Authorization": "Bearer " + create_token(ctx, doctor),
        "Content-Type": "application/fhir+json"})
    resource = guidance(response)
    assert resource["status"] == "failure"
    assert "not one this REMS administers" in resource["note"][0]["text"]


@pytest.mark.parametrize("sent", ["0245-0571-01", "00245-0571-01", "00245057101",
                                  " 0245-0571-01 "])
def test_an_ndc_is_recognized_in_each_of_its_usual_forms(sent: str) -> None:
    assert program_coding(medication(NDC, sent)) is not None


@pytest.mark.parametrize("sent", ["0245057101", "0245-0571-1", "245-0571-01", "0245-0571",
                                  "0245-0571-01-1", "0245-O571-01", "０２４５-0571-01", ""])
def test_an_ndc_that_cannot_be_read_without_guessing_is_not_recognized(sent: str) -> None:
    assert program_coding(medication(NDC, sent)) is None


@pytest.mark.parametrize(("ten", "eleven"), [
    ("0245-0571-01", "00245057101"), ("10631-116-31", "10631011631"),
    ("70710-1022-4", "70710102204"), ("00245-0571-01", "00245057101")])
def test_ndcs_are_compared_in_their_11_digit_form(ten: str, eleven: str) -> None:
    assert normalized_ndc(ten) == eleven
