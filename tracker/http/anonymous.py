"""The state of a visitor who has not signed in (the CSRF token, flashed messages, where to go
after sign-in) lives in a signed cookie, not in the database: anonymous requests, however many,
never write a row. The signature (the app's secret key) means the browser can keep the values but
not change them; HttpOnly keeps them from scripts; the size is bounded."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "tracker_anon"
# Same rules as the session cookie: in production only this host, over HTTPS, for the whole site.
PRODUCTION_COOKIE_NAME = "__Host-" + COOKIE_NAME
# Browsers keep about 4 KB per cookie; the few anonymous values fit in far less.
MAX_BYTES = 2048
_SALT = "tracker.anonymous-session"
# What is worth keeping when the values would not fit: without the CSRF token no form can be
# sent, and the expiry flag explains the login page; flashed messages can go.
_ESSENTIAL = ("csrf_token", "_expired", "_deactivated")


def cookie_name(app: Flask) -> str:
    return PRODUCTION_COOKIE_NAME if app.config["ENV"] == "production" else COOKIE_NAME


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        app.secret_key,  # type: ignore[arg-type]
        salt=_SALT,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256},
    )


def load(app: Flask, value: str | None) -> dict[str, Any]:
    """The values of a cookie this app signed, or nothing for a missing, forged, oversized or
    stale one (older than a signed-in session may last)."""
    if not value or len(value) > MAX_BYTES:
        return {}
    max_age = int(app.config["SESSION_ABSOLUTE_HOURS"] * 3600)
    try:
        data = _serializer(app).loads(value, max_age=max_age)
    except BadSignature:  # also covers an expired signature
        return {}
    return data if isinstance(data, dict) else {}


def dump(app: Flask, data: dict[str, Any]) -> str:
    """The signed cookie value, at most MAX_BYTES long: flashed messages are dropped first."""
    serializer = _serializer(app)
    value = serializer.dumps(data)
    if len(value) > MAX_BYTES:
        value = serializer.dumps({k: data[k] for k in _ESSENTIAL if k in data})
    if len(value) > MAX_BYTES:
        value = serializer.dumps({})
    return str(value)
