"""Free text that may be stored: no control characters (PostgreSQL refuses NUL, and a control
character in a name or reason is never meant)."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")
MESSAGE = "Remove the control characters (they cannot be stored)."


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
