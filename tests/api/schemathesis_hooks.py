"""schemathesis hooks shared by the in-process tests (tests/api/test_schemathesis.py) and the CI
run against gunicorn (.ci/api-fuzz, `hooks` in its configuration).

The positive-data check ("data the document accepts is accepted") runs on every operation. The
document states every constraint JSON Schema can express; what depends on stored data cannot
be (the patient's registered name and birth date, the current category, whether a course is
under way, the prescription's quantity, a reused Idempotency-Key). Each operation's description
says which of these it refuses with 422. Only a 422 whose every message is one of those refusals
is dropped from that check here; any other 422 to valid data, or a 422 that mixes one of these
with anything else, still fails the run."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import RejectedPositiveData

# The services' own words for each refusal that depends on stored data (see the descriptions
# of the operations in tracker/api/routes.py, `rules=`).
DATA_DEPENDENT_REFUSALS = tuple(re.compile(p) for p in (
    # RULES.md §1: a clinical date is not before the patient's birth date.
    r"^The date \d{4}-\d{2}-\d{2} is before the patient's birth date \d{4}-\d{2}-\d{2}\.$",
    # RULES.md §4: the typed signature is the registered name; a guardian signs under 18.
    r"^The typed name must match the registered name '.*'\.$",
    r"^The patient is under 18 on the signing date: a parent or guardian signs too\.$",
    r"^Give the guardian's relationship to the patient \(e\.g\. mother, legal guardian\)\.$",
    # RULES.md §4: a category change is a change.
    r"^The patient already has this category\.$",
    # RULES.md §6.2: a contraception entry starts on or before the day it is recorded.
    r"^The start date cannot be after the date of the entry\.$",
    # Only a course under way can end.
    r"^The patient has no course under way\.$",
    # API.md: the NPI names the caller or a prescriber the caller works for.
    r"^Give the NPI of a prescriber you work for\.$",
    # RULES.md §8: a dispense is at most what was prescribed.
    r"^The (quantity|days' supply) is from 1 to the prescribed \d+\.$",
    # API.md: pharmacy staff reverse with the patient's birth date; a prescriber may omit it.
    r"^Give the patient's birth date: pharmacy staff reverse an authorization only with it\.$",
    # A report's period: relations between two query parameters (and the rule sets' dates).
    r"^The period starts on or before its last day\.$",
    r"^A period is at most seven years long\.$",
    r"^The rule set [\w-]+ was not in force in the period\.$",
    # PATCH /patients/{id}: relations between its optional fields.
    r"^A reason goes with a change of category\.$",
    r"^Send at least one field to change: category, email, language or reminders_opted_out\.$",
    # API.md: an Idempotency-Key is bound to its first body.
    r"^This key was used with a different body; use a new key for a new request\.$",
))


# JSON Schema's `integer` admits 30.0; the API reads whole numbers only in their plain form
# (tests/api/test_input.py), as each integer field's description says. Dropped only when the
# field was sent as such a number.
WHOLE_NUMBER = "Give a whole number."


def _written_as_fraction(sent: Any, field: str) -> bool:
    value = sent.get(field) if isinstance(sent, dict) else None
    return isinstance(value, float) and value.is_integer()


def only_data_dependent(body: Any, sent: Any = None) -> bool:
    """Whether a 422 problem document names only refusals that JSON Schema cannot state: those
    that depend on stored data, and whole numbers sent with a fraction (`sent` is the body)."""
    if not isinstance(body, dict) or not isinstance(body.get("errors"), dict):
        return False
    found = [(field, m) for field, ms in body["errors"].items() for m in ms]
    return bool(found) and all(
        isinstance(m, str) and (any(p.match(m) for p in DATA_DEPENDENT_REFUSALS)
                                or m == WHOLE_NUMBER and _written_as_fraction(sent, field))
        for field, m in found)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a rejected valid request refused only for data-dependent rules."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    try:
        body = response.json()
    except ValueError:
        return True
    return not only_data_dependent(body, case.body)
