"""Random, unguessable numbers people read out and type: prescription, authorization and
patient program numbers."""

from __future__ import annotations

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
