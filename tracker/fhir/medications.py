"""The medications of this program, as EHRs and pharmacy systems code them: RxNorm (the
ingredient and the clinical drugs of isotretinoin) and NDC package codes. A medication coded
with none of them is not one this REMS administers (the answer is `failure`).

The table holds only codes checked against RxNorm and the guide's examples; extending it is a
matter of adding rows, never of guessing by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"

ISOTRETINOIN: dict[str, dict[str, str]] = {
    RXNORM: {
        "6064": "isotretinoin",
        "197843": "isotretinoin 10 MG Oral Capsule",
        "197844": "isotretinoin 20 MG Oral Capsule",
        "197845": "isotretinoin 40 MG Oral Capsule",
        "403930": "isotretinoin 30 MG Oral Capsule",
        "1547561": "isotretinoin 25 MG Oral Capsule",
        "1547565": "isotretinoin 35 MG Oral Capsule",
        "1300006": "isotretinoin 20 MG Oral Capsule [Absorica]",
    },
    NDC: {
        "0245-0571-01": "isotretinoin oral capsule (package)",
        "10631-116-31": "Absorica 20 MG oral capsule (package)",
    },
}


def _codings(concept: Any) -> Iterable[dict[str, Any]]:
    if isinstance(concept, dict) and isinstance(concept.get("coding"), list):
        yield from (c for c in concept["coding"] if isinstance(c, dict))


def _medication_concepts(resource: dict[str, Any]) -> Iterable[Any]:
    """The codes a Medication or MedicationRequest names its drug with (a request may point at
    a Medication it contains)."""
    kind = resource.get("resourceType")
    if kind == "Medication":
        yield resource.get("code")
    elif kind == "MedicationRequest":
        yield resource.get("medicationCodeableConcept")
        reference = resource.get("medicationReference")
        target = reference.get("reference") if isinstance(reference, dict) else None
        contained = resource.get("contained")
        if isinstance(target, str) and target.startswith("#") and isinstance(contained, list):
            for item in contained:
                if isinstance(item, dict) and item.get("id") == target[1:]:
                    yield from _medication_concepts(item)


def program_coding(resource: Any) -> dict[str, str] | None:
    """The first coding of the resource's drug that this program administers, as
    {"system", "code", "display"}, or None."""
    if not isinstance(resource, dict):
        return None
    for concept in _medication_concepts(resource):
        for coding in _codings(concept):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str):
                display = ISOTRETINOIN.get(system, {}).get(code.strip())
                if display is not None:
                    return {"system": system, "code": code.strip(), "display": display}
    return None
