"""E-signatures of generated authorizations, made in bulk.

`sign(keys, "authorization", authorization_fields(auth))` builds a dict, sorts it, encodes dates
and serializes it with `json.dumps` for every authorization: about a third of the demo
generator's time at a million patients (4.6 million authorizations). The generator's values
are few in kind (integers, dates, a number of base-32 characters and hyphens, a rule set id),
so the same canonical text is filled into a template here, and the HMAC starts from a keyed
state copied instead of keyed again. The first signature of each signer is checked against the
service's own, so a change of the signed fields cannot go unnoticed (and
tests/perf/test_bulkdemo.py verifies every signature generated)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import date, datetime
from types import SimpleNamespace

from tracker.keyring import Keyring
from tracker.services.authorizations import authorization_fields
from tracker.services.signatures import sign

# authorization_fields(), keys in sorted order as the canonical form writes them.
_TEMPLATE = ('["authorization",{"do_not_dispense_after":%s,"id":%d,"issued_at":"%s",'
             '"issued_by":%d,"issued_on":"%s","meaning":"authorized for dispensing",'
             '"number":"%s","patient_id":%d,"prescription_id":%d,"rule_set":%s}]')


class AuthorizationSigner:
    """Signs authorizations given as (id, number, prescription, patient, issue day, last
    dispensing day or None, rule set, issuer); days are ordinals. `moment(day, hour)` gives
    the UTC instant the generator stores as `issued_at` (14 o'clock program time)."""

    def __init__(self, keys: Keyring, moment: Callable[[int, int], datetime]) -> None:
        self.keys = keys
        self.key_id = keys.current_id
        self._keyed = hmac.new(keys.current, digestmod=hashlib.sha256)
        self._moment = moment
        self._days: dict[int, str] = {}
        self._issued_at: dict[int, str] = {}
        self._rule_sets: dict[str, str] = {}
        self._checked = False

    def _day(self, day: int) -> str:
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = date.fromordinal(day).isoformat()
        return text

    def __call__(self, aid: int, number: str, rx: int, pid: int, day: int, closes: int | None,
                 rule_set: str, issuer: int) -> str:
        issued_at = self._issued_at.get(day)
        if issued_at is None:
            issued_at = self._issued_at[day] = self._moment(day, 14).isoformat(
                timespec="microseconds")
        rule_text = self._rule_sets.get(rule_set)
        if rule_text is None:
            rule_text = self._rule_sets[rule_set] = json.dumps(rule_set)
        last = "null" if closes is None else '"' + self._day(closes) + '"'
        text = _TEMPLATE % (last, aid, issued_at, issuer, self._day(day), number,
                            pid, rx, rule_text)
        mac = self._keyed.copy()
        mac.update(text.encode())
        signature = mac.hexdigest()
        if not self._checked:
            self._check(signature, aid, number, rx, pid, day, closes, rule_set, issuer)
        return signature

    def _check(self, signature: str, aid: int, number: str, rx: int, pid: int, day: int,
               closes: int | None, rule_set: str, issuer: int) -> None:
        fields = SimpleNamespace(
            id=aid, number=number, prescription_id=rx, patient_id=pid,
            issued_on=date.fromordinal(day), issued_at=self._moment(day, 14), issued_by=issuer,
            do_not_dispense_after=None if closes is None else date.fromordinal(closes),
            rule_set=rule_set)
        expected = sign(self.keys, "authorization",
                        authorization_fields(fields))  # type: ignore[arg-type]
        if expected.hmac != signature:
            raise RuntimeError("the bulk authorization signature differs from the service's: "
                               "authorization_fields() changed without this template")
        self._checked = True
