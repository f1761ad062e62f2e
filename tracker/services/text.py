"""Free text that may be stored: no control characters (PostgreSQL refuses NUL, and a control
character in a name or reason is never meant); names carry no invisible format characters."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")
MESSAGE = "Remove the control characters (they cannot be stored)."
FORMAT_MESSAGE = ("Remove the invisible formatting characters (such as right-to-left overrides "
                  "or zero-width spaces): a name cannot contain them.")


def has_control_characters(value: str | None, multiline: bool = False) -> bool:
    """Tabs and line breaks are allowed only in multi-line text (reasons)."""
    if not value:
        return False
    pattern = _CONTROL if multiline else _CONTROL_OR_BREAK
    return bool(pattern.search(value)) or _has_lone_surrogate(value)


def _has_lone_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def name_problem(value: str | None, multiline: bool = False) -> str | None:
    """Why a name (of a patient, a user, a signer) cannot be stored, or None. Unicode format
    characters (category Cf: bidi overrides, zero-width spaces and joiners) would make a name
    display differently from what is stored and compared, so a name refuses them."""
    if has_control_characters(value, multiline):
        return MESSAGE
    if value and any(unicodedata.category(c) == "Cf" for c in value):
        return FORMAT_MESSAGE
    return None


# A spreadsheet runs a cell that starts with one of these as a formula (a leading TAB or CR is
# dropped by some and the rest run); text typed by people reaches CSV exports, so such cells
# are written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def as_doctor(name: str) -> str:
    """A prescriber's name with the title once: "Dr Dana Derm", and a name that already
    carries it ("Dr. Dana Derm") as it is."""
    bare = name.strip()
    if bare.lower().startswith(("dr ", "dr.")):
        return bare
    return f"Dr {bare}"
