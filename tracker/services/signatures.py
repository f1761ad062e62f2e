"""Electronic signatures bound to their content: an HMAC over the signed record's fields, with a
key kept outside the database. A signature copied onto another record, or a record edited after
signing, no longer verifies. Each signature stores the id of its key, so rotating the key
(a new current key, the old one kept in the ring) keeps older signatures verifiable."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime
from typing import Any, NamedTuple

from tracker.keyring import Keyring


class Signature(NamedTuple):
    key_id: str
    hmac: str


def _canonical(kind: str, fields: dict[str, Any]) -> bytes:
    def encode(value: Any) -> Any:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        return value

    return json.dumps([kind, {k: encode(v) for k, v in sorted(fields.items())}],
                      separators=(",", ":")).encode()


def _mac(key: bytes, kind: str, fields: dict[str, Any]) -> str:
    return hmac.new(key, _canonical(kind, fields), hashlib.sha256).hexdigest()


def sign(keys: Keyring, kind: str, fields: dict[str, Any]) -> Signature:
    """Sign with the ring's current key."""
    return Signature(keys.current_id, _mac(keys.current, kind, fields))


def verify(keys: Keyring, key_id: str | None, kind: str, fields: dict[str, Any],
           signature: str) -> bool:
    """True when the signature was made over these fields with the ring's key of that id."""
    key = keys.key(key_id)
    return key is not None and hmac.compare_digest(_mac(key, kind, fields), signature or "")
