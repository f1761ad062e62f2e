"""Regular expressions for the OpenAPI document: what a text field or a date field accepts,
written so that a client (or a generator of test data) knows it before sending.

The character classes are built from the same Unicode database the checks use
(tracker.api.fields.text_problem, tracker.services.text.name_problem), so they cannot disagree.
Characters of the Basic Multilingual Plane are written as \\uXXXX escapes (read alike by
ECMA-262 and Python); the few above it are written as themselves."""

from __future__ import annotations

import sys
import unicodedata
from datetime import date
from functools import lru_cache

_BREAKS = frozenset((0x09, 0x0A, 0x0D))  # tab and line breaks, allowed in multi-line text


def _ranges(codes: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for code in sorted(codes):
        if out and code == out[-1][1] + 1:
            out[-1] = (out[-1][0], code)
        else:
            out.append((code, code))
    return out


def _char(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class_body(ranges: list[tuple[int, int]]) -> str:
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


@lru_cache(maxsize=1)
def _categories() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {"Cc": [], "Cf": [], "space": []}
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf"):
            found[category].append(code)
        if ch.isspace():  # what str.strip() removes
            found["space"].append(code)
    return found


@lru_cache(maxsize=8)
def text_pattern(*, multiline: bool = False, name: bool = False) -> str:
    """A text with at least one character that is not white space, without control characters
    (tab and line breaks aside in multi-line text) and, for a person's name, without invisible
    formatting characters (Unicode category Cf).

    A lone surrogate is refused as well, but it is left out of the pattern: it is no Unicode
    character (RFC 8259 leaves a `\\ud800` escape undefined), and regex engines that work on
    characters, such as Rust's, refuse a pattern that names one."""
    found = _categories()
    refused = [c for c in found["Cc"] if not (multiline and c in _BREAKS)]
    if name:
        refused += found["Cf"]
    excluded = _class_body(_ranges(refused))
    blank = _class_body(_ranges(list(set(refused) | set(found["space"]))))
    return f"^[^{excluded}]*[^{blank}][^{excluded}]*$"


def _digits_between(low: str, high: str) -> str:
    """A regex for the digit strings of one width from `low` to `high` (inclusive)."""
    if low == high:
        return low
    if len(low) == 1:
        return f"[{low}-{high}]"
    rest = len(low) - 1
    if low[0] == high[0]:
        return low[0] + _digits_between(low[1:], high[1:])
    parts = [low[0] + _group(_digits_between(low[1:], "9" * rest))]
    if int(high[0]) - int(low[0]) > 1:
        first, last = int(low[0]) + 1, int(high[0]) - 1
        lead = str(first) if first == last else f"[{first}-{last}]"
        parts.append(lead + ("[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"))
    parts.append(high[0] + _group(_digits_between("0" * rest, high[1:])))
    return "(?:" + "|".join(parts) + ")"


def _group(regex: str) -> str:
    """`regex` as one unit to concatenate (the builders above return a group, or a sequence
    of literals and classes without alternatives)."""
    return regex if regex.startswith("(?:") or "|" not in regex else f"(?:{regex})"


# The fields of a calendar date, each with its width and its smallest and largest value.
_FIELDS = ((4, 1, 9999), (2, 1, 12), (2, 1, 31))


def _dates_between(low: tuple[int, ...], high: tuple[int, ...], level: int = 0) -> str:
    width, smallest, largest = _FIELDS[level]
    sep = "-" if level + 1 < len(_FIELDS) else ""
    text = [f"{v:0{width}d}" for v in (low[0], high[0])]
    if level + 1 == len(_FIELDS):
        return _group(_digits_between(*text))
    if low[0] == high[0]:
        return text[0] + sep + _group(_dates_between(low[1:], high[1:], level + 1))
    top = tuple(f[2] for f in _FIELDS[level + 1:])
    bottom = tuple(f[1] for f in _FIELDS[level + 1:])
    parts = [text[0] + sep + _group(_dates_between(low[1:], top, level + 1))]
    if high[0] - low[0] > 1:
        middle = [f"{v:0{width}d}" for v in (low[0] + 1, high[0] - 1)]
        parts.append(_group(_digits_between(*middle)) + sep
                     + _group(_dates_between(bottom, top, level + 1)))
    parts.append(text[1] + sep + _group(_dates_between(bottom, high[1:], level + 1)))
    return "(?:" + "|".join(parts) + ")"


@lru_cache(maxsize=16)
def date_pattern(earliest: date, latest: date) -> str:
    """YYYY-MM-DD from `earliest` to `latest`. It admits a day 29 to 31 in every month; with
    `format: date` only real calendar dates remain."""
    low = (earliest.year, earliest.month, earliest.day)
    high = (latest.year, latest.month, latest.day)
    return f"^{_dates_between(low, high)}$"


@lru_cache(maxsize=1)
def email_pattern() -> str:
    """One email address as the services take it (name@domain.tld): no white space, no control
    character, one @ and a dot after it."""
    found = _categories()
    refused = _class_body(_ranges(sorted(set(found["Cc"]) | set(found["space"]) | {ord("@")})))
    part = f"[^{refused}]+"
    return f"^{part}@{part}\\.{part}$"
