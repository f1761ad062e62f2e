"""Password hashing (argon2id) and the password policy (at least 12, at most 128 characters,
not a common password, no composition rules)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128

_PRODUCTION = PasswordHasher()  # argon2id, the library's recommended parameters
# Cheap parameters for the test suite only (config ARGON2_FAST); never in production.
_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def hasher(fast: bool = False) -> PasswordHasher:
    return _FAST if fast else _PRODUCTION


def hash_password(password: str, fast: bool = False) -> str:
    return hasher(fast).hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check so that timing does not reveal unknown accounts.
        try:
            _PRODUCTION.verify(_dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return PasswordHasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _PRODUCTION.hash("not a real password, only for equal timing")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("tracker").joinpath("static/common-passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Why a new password is not accepted (empty when it is)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.strip().lower()
    if lowered in common_passwords():
        problems.append("This password is on a list of commonly used passwords; choose another.")
    elif email and lowered == email.strip().lower():
        problems.append("Do not use your email address as your password.")
    elif name and lowered == name.strip().lower():
        problems.append("Do not use your name as your password.")
    return problems
