"""The medications of this program, as EHRs and pharmacy systems code them: RxNorm (the
ingredient, the clinical drugs and the branded drugs of isotretinoin) and NDC package codes. A
medication coded with none of them is not one this REMS administers (the answer is `failure`).

Every code below was read from a public source named next to it; none is guessed from a name.
Extending the table is a matter of adding rows with their source. Where a source gives an RxCUI
without its name, the display says which product listing names it.

Sources:
- [VSAC] the eCQM value set "Isotretinoin" (OID 2.16.840.1.113883.3.464.1003.196.12.1143,
  expansion "eCQM Update 2021-05-06"), the clinical drugs (SCD) of isotretinoin.
- [openFDA] the FDA NDC Directory through openFDA (api.fda.gov/drug/ndc.json), per product:
  package NDCs and the product's `openfda.rxcui` (the RxNorm concepts NLM maps its label to).
- [DailyMed] the product's label, "How Supplied" (dailymed.nlm.nih.gov).
- [REMS-IG] the HL7 US Medication REMS reference implementation (mcode/rems-admin) and a
  published FHIR example MedicationStatement coding Absorica 20 mg in RxNorm and NDC."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"

_RXNORM_CODES = {
    "6064": "isotretinoin",  # the ingredient (IN) [REMS-IG]
    # Clinical drugs (SCD) [VSAC]
    "197843": "isotretinoin 10 MG Oral Capsule",
    "197844": "isotretinoin 20 MG Oral Capsule",
    "197845": "isotretinoin 40 MG Oral Capsule",
    "403930": "isotretinoin 30 MG Oral Capsule",
    "1547561": "isotretinoin 25 MG Oral Capsule",
    "1547565": "isotretinoin 35 MG Oral Capsule",
    # Branded drugs (SBD)
    "1300006": "isotretinoin 20 MG Oral Capsule [Absorica]",  # [REMS-IG]
    # [openFDA] Absorica LD 10631-002 (Sun Pharmaceutical): openfda.rxcui
    "1299203": "isotretinoin oral capsule (Absorica; RxNorm per openFDA, NDC 10631-002)",
    "1300014": "isotretinoin oral capsule (Absorica; RxNorm per openFDA, NDC 10631-002)",
    "1300016": "isotretinoin oral capsule (Absorica; RxNorm per openFDA, NDC 10631-002)",
    "1547563": "isotretinoin oral capsule (Absorica; RxNorm per openFDA, NDC 10631-002)",
    # [openFDA] Amnesteem 0378-6613 (Mylan): openfda.rxcui
    "404058": "isotretinoin oral capsule [Amnesteem] (RxNorm per openFDA, NDC 0378-6613)",
    "404061": "isotretinoin oral capsule [Amnesteem] (RxNorm per openFDA, NDC 0378-6613)",
    "404064": "isotretinoin oral capsule [Amnesteem] (RxNorm per openFDA, NDC 0378-6613)",
    "2711694": "isotretinoin oral capsule [Amnesteem] (RxNorm per openFDA, NDC 0378-6613)",
    # [openFDA] Zenatane 68001-653 (BluePoint Laboratories): openfda.rxcui
    "1373333": "isotretinoin oral capsule [Zenatane] (RxNorm per openFDA, NDC 68001-653)",
    "1373335": "isotretinoin oral capsule [Zenatane] (RxNorm per openFDA, NDC 68001-653)",
    "1373337": "isotretinoin oral capsule [Zenatane] (RxNorm per openFDA, NDC 68001-653)",
    "1605088": "isotretinoin oral capsule [Zenatane] (RxNorm per openFDA, NDC 68001-653)",
}

# Package NDCs as their labelers publish them (10 digits, hyphenated); compared in the
# 11-digit 5-4-2 form (normalized_ndc), whichever of the usual forms an EHR sends.
_NDC_CODES = {
    "0245-0571-01": "isotretinoin oral capsule (Upsher-Smith)",  # [REMS-IG]
    "10631-116-31": "Absorica 20 MG oral capsule",  # [REMS-IG]
    "10631-002-31": "Absorica LD 8 MG oral capsule",  # [openFDA] 10631-002
    "0378-6613-93": "Amnesteem 30 MG oral capsule",  # [openFDA] 0378-6613
    "0555-1054-56": "Claravis 10 MG oral capsule",  # [DailyMed] Claravis (Teva)
    "0555-1054-86": "Claravis 10 MG oral capsule",  # [DailyMed] Claravis (Teva)
    "0555-1055-56": "Claravis 20 MG oral capsule",  # [openFDA] 0555-1055
    "0555-1055-86": "Claravis 20 MG oral capsule",  # [openFDA] 0555-1055
    "55111-113-78": "Zenatane 30 MG oral capsule",  # [openFDA] 55111-113 (Dr. Reddy's)
    "55111-113-81": "Zenatane 30 MG oral capsule",  # [openFDA] 55111-113 (Dr. Reddy's)
    "68001-653-17": "Zenatane 20 MG oral capsule",  # [openFDA] 68001-653 (BluePoint)
    "61748-301-11": "Myorisan 10 MG oral capsule",  # [DailyMed] Myorisan (Akorn)
    "61748-301-13": "Myorisan 10 MG oral capsule",  # [DailyMed] Myorisan (Akorn)
    "61748-302-11": "Myorisan 20 MG oral capsule",  # [DailyMed] Myorisan (Akorn)
    "61748-302-13": "Myorisan 20 MG oral capsule",  # [DailyMed] Myorisan (Akorn)
    "61748-303-13": "Myorisan 30 MG oral capsule",  # [DailyMed] Myorisan (Akorn)
    "70710-1022-4": "isotretinoin 10 MG oral capsule (Zydus)",  # [openFDA] 70710-1022
    "70710-1022-8": "isotretinoin 10 MG oral capsule (Zydus)",  # [openFDA] 70710-1022
    "70771-1557-4": "isotretinoin 10 MG oral capsule (Zydus)",  # [openFDA] 70771-1557
    "70771-1557-8": "isotretinoin 10 MG oral capsule (Zydus)",  # [openFDA] 70771-1557
    "0591-2434-15": "isotretinoin 20 MG oral capsule (Actavis)",  # [openFDA] 0591-2434
    "68308-782-30": "isotretinoin 20 MG oral capsule (Mayne)",  # [openFDA] 68308-782
    "0245-0573-01": "isotretinoin 30 MG oral capsule (Upsher-Smith)",  # [openFDA] 0245-0573
    "59651-635-03": "isotretinoin 35 MG oral capsule (Aurobindo)",  # [openFDA] 59651-635
    "69238-1176-3": "isotretinoin 40 MG oral capsule (Amneal)",  # [openFDA] 69238-1176
    "69238-1259-3": "isotretinoin 40 MG oral capsule (Amneal)",  # [openFDA] 69238-1259
}


def normalized_ndc(code: str) -> str | None:
    """An NDC in its 11-digit 5-4-2 form, from the hyphenated 10-digit forms (4-4-2, 5-3-2,
    5-4-1) or the 11-digit form with or without hyphens; None for anything else. Ten digits
    without hyphens are refused: which segment lacks its leading zero cannot be known, and a
    guess could name another product."""
    parts = code.strip().split("-")
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    if len(parts) == 1:
        return parts[0] if len(parts[0]) == 11 else None
    if len(parts) != 3:
        return None
    labeler, product, package = parts
    widths = (len(labeler), len(product), len(package))
    if widths not in {(4, 4, 2), (5, 3, 2), (5, 4, 1), (5, 4, 2)}:
        return None
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def _ndc_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for code, display in _NDC_CODES.items():
        key = normalized_ndc(code)
        if key is None or key in table:  # a typo in the table fails at import, not silently
            raise ValueError(f"NDC {code!r} is malformed or listed twice")
        table[key] = display
    return table


_NDC_BY_11_DIGITS = _ndc_table()

ISOTRETINOIN: dict[str, dict[str, str]] = {RXNORM: _RXNORM_CODES, NDC: _NDC_CODES}


def _display(system: str, code: str) -> str | None:
    if system == RXNORM:
        return _RXNORM_CODES.get(code)
    if system == NDC:
        key = normalized_ndc(code)
        return _NDC_BY_11_DIGITS.get(key) if key is not None else None
    return None


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
                display = _display(system, code.strip())
                if display is not None:
                    return {"system": system, "code": code.strip(), "display": display}
    return None
