"""A form sent after its session expired is not lost: what was typed (never the CSRF token or a
password) is kept server-side for the same user (tracker.services.drafts), and the browser goes
to the sign-in page, which then leads back to the form filled in. Nothing is recorded until the
person sends the form again, with the new session's token.

The draft is kept only when the form carries the expired session's own CSRF token: a page on
another site cannot plant values in somebody's form."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from tracker.db import utcnow
from tracker.http.requests import db_session
from tracker.services import drafts

# Signing in and out need no draft: the sign-in form is shown afresh either way.
_NOT_KEPT = {"auth.login", "auth.logout"}


def _token_matches(expired_raw: object, sent: str | None) -> bool:
    """The sent token is Flask-WTF's signed form of the expired session's token."""
    if not isinstance(expired_raw, str) or not sent:
        return False
    secret = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    serializer = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")  # type: ignore[arg-type]
    try:
        raw = serializer.loads(sent)
    except BadData:
        return False
    return isinstance(raw, str) and hmac.compare_digest(raw, expired_raw)


def _shows_form_on_get(path: str) -> bool:
    """Whether a GET of the same address shows the form (pages whose form posts to itself)."""
    adapter = current_app.url_map.bind(request.host)
    try:
        adapter.match(path, method="GET")
    except HTTPException:  # not found, another method only, or a redirect
        return False
    return True


def _referring_page() -> str | None:
    """The page the form was on, when it is on this site (a button that posts elsewhere)."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else None


def keep_expired_form() -> ResponseReturnValue | None:
    """Before the CSRF check: a form of an expired session goes to sign-in, its fields kept."""
    user_id = g.get("expired_user_id")
    if (user_id is None or request.method != "POST" or request.path.startswith("/api/")
            or request.endpoint in _NOT_KEPT):
        return None
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    if not _token_matches(g.get("expired_csrf_token"), token):
        return None  # the CSRF check refuses it as it would any foreign form
    if not _shows_form_on_get(request.path):
        return redirect(url_for("auth.login", next=_referring_page()))
    fields = [(name, value) for name, value in request.form.items(multi=True)
              if drafts.keeps(name)]
    if not fields:
        return redirect(url_for("auth.login", next=request.path))
    clock = current_app.config.get("CLOCK") or utcnow
    draft = drafts.keep_draft(db_session(), int(user_id), request.path, fields, clock())
    return redirect(url_for("auth.login", next=request.path, draft=draft))


def install(app: Flask) -> None:
    """Register before the CSRF check, which would otherwise refuse the form outright."""
    app.before_request(keep_expired_form)
