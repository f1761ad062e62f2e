"""Random, unguessable numbers people read out and type: prescription, authorization and
patient program numbers."""

from __future__ import annotations

import re
import secrets

# Crockford's base32 without I, L, O, U: nothing to misread when read out over the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def random_code(groups: int) -> str:
    """Groups of four characters, 20 random bits each: knowing one says nothing of another.
    (One draw of all the bits, five per character: an import numbers many thousands.)"""
    bits = secrets.randbits(20 * groups)
    chars = [_ALPHABET[(bits >> (5 * i)) & 31] for i in range(4 * groups)]
    return "-".join("".join(chars[4 * g:4 * g + 4]) for g in range(groups))


def new_program_number() -> str:
    """A patient's program number (API.md `program_number`, like the national program's patient
    id card and the FHIR case number): 60 random bits, never reused. The "P-" keeps it from being
    taken for an authorization number at the counter."""
    return "P-" + random_code(3)


_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def printed_code(value: str | None, groups: int) -> str:
    """A code of `groups` groups as typed, read out or scanned ("7k2m 9qxd 4tpa",
    "7K2M9QXD4TPA", the text of the patient's QR code) in its printed form ("7K2M-9QXD-4TPA").
    Crockford's base32 reads the easily confused O as 0 and I or L as 1. Anything that does not
    look like such a code is returned trimmed, unchanged."""
    compact = re.sub(r"[\s\-]", "", value or "").upper().translate(_CONFUSABLE)
    if re.fullmatch(rf"[0-9A-Z]{{{4 * groups}}}", compact):
        return "-".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return (value or "").strip()
