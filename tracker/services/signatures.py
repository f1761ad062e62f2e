"""Electronic signatures bound to their content: an HMAC over the signed record's fields, with a
key kept outside the database. A signature copied onto another record, or a record edited after
signing, no longer verifies."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, datetime
from typing import Any


def _canonical(kind: str, fields: dict[str, Any]) -> bytes:
    def encode(value: Any) -> Any:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        return value

    return json.dumps([kind, {k: encode(v) for k, v in sorted(fields.items())}],
                      separators=(",", ":")).encode()


def sign(key: bytes, kind: str, fields: dict[str, Any]) -> str:
    return hmac.new(key, _canonical(kind, fields), hashlib.sha256).hexdigest()


def verify(key: bytes, kind: str, fields: dict[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(key, kind, fields), signature or "")
