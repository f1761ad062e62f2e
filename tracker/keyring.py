"""HMAC keys by id, kept outside the database. The current key signs (or chains); every key of
the ring verifies, so a key can be rotated without making older signatures or audit events
unverifiable: each signature and each audit event stores the id of the key that made it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Used when no key is configured: development and tests only (production refuses to start
# without its own keys, see tracker/config.py).
DEVELOPMENT_SIGNATURE_KEY = b"development-signature-key"
DEVELOPMENT_AUDIT_KEY = b"development-audit-key"
DEFAULT_KEY_ID = "1"


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise ValueError(f"the current key id {self.current_id!r} has no key")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def single(cls, key: bytes, key_id: str = DEFAULT_KEY_ID) -> Keyring:
        return cls(key_id, {key_id: key})

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def key(self, key_id: str | None) -> bytes | None:
        """The key with this id, or None when it is not (or no longer) configured."""
        return None if key_id is None else self.keys.get(key_id)


DEVELOPMENT_SIGNATURE_KEYS = Keyring.single(DEVELOPMENT_SIGNATURE_KEY)
DEVELOPMENT_AUDIT_KEYS = Keyring.single(DEVELOPMENT_AUDIT_KEY)
