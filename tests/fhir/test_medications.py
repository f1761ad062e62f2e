"""The drugs of this program, as a FHIR medication names them (RxNorm or NDC)."""

from __future__ import annotations

import pytest

from tracker.fhir.medications import NDC, RXNORM, program_coding


def medication(system: str, code: str) -> dict[str, object]:
    return {"resourceType": "Medication", "code": {"coding": [{"system": system, "code": code}]}}


@pytest.mark.parametrize(("system", "code"), [
    (RXNORM, "6064"), (RXNORM, "197843"), (RXNORM, "197844"), (RXNORM, "197845"),
    (RXNORM, "403930"), (RXNORM, "1547561"), (RXNORM, "1547565"), (RXNORM, "1300006"),
    (NDC, "0245-0571-01"), (NDC, "10631-116-31"),
])
def test_isotretinoin_is_recognized_by_ingredient_clinical_branded_drug_and_package(
        system: str, code: str) -> None:
    found = program_coding(medication(system, code))
    assert found is not None and found["code"] == code


@pytest.mark.parametrize(("system", "code"), [
    (RXNORM, "161"), (NDC, "0000-0000-00"), ("http://snomed.info/sct", "6064")])
def test_another_drug_or_code_system_is_not_this_program(system: str, code: str) -> None:
    assert program_coding(medication(system, code)) is None
