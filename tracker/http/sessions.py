"""Server-side browser sessions: the cookie holds only a random id; the data, the idle and
absolute limits and the end of the session live in the database (so any app process can serve
any request, and logout or deactivation really ends the session).

A row exists only from sign-in to sign-out: before that, the visitor's few values live in a
signed cookie (tracker.http.anonymous), so anonymous requests never write to the database."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, g, request
from flask.sessions import SessionInterface, SessionMixin
from flask.wrappers import Response
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from tracker.db import database_unavailable, reset_write_intent, set_write_intent, utcnow
from tracker.http import anonymous
from tracker.http.requests import db_session
from tracker.models import LoginSession, User

# Set for the visitor whose session was ended because their account was deactivated: the
# sign-in page tells them why they were turned away.
DEACTIVATED_KEY = "_deactivated"

COOKIE_NAME = "tracker_session"
# In production the browser itself guarantees the cookie was set over HTTPS by this very host
# for the whole site (Secure, Path=/, no Domain): no sibling subdomain can plant or shadow it.
PRODUCTION_COOKIE_NAME = "__Host-" + COOKIE_NAME


# The JSON API authenticates with bearer tokens only: its requests never read or write the
# browser session, and the browser pages' per-request hooks have nothing to do for them.
API_PREFIX = "/api/"


def api_request() -> bool:
    """Whether the current request is one of the JSON API's (no browser session)."""
    return request.path.startswith(API_PREFIX)


def cookie_name(app: Flask) -> str:
    return PRODUCTION_COOKIE_NAME if app.config["ENV"] == "production" else COOKIE_NAME
# Writing last_seen_at on every request would turn every page view into a write transaction;
# a minute's resolution is plenty for a 15-minute idle limit.
_TOUCH_EVERY = timedelta(seconds=60)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, data: dict[str, Any] | None = None, row_id: int | None = None,
                 last_seen: datetime | None = None) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.row_id = row_id
        self.last_seen = last_seen
        self.modified = False
        self.rotate = False
        self.end = False
        self.api = False
        # What the request brought, so that a cookie no longer needed is removed.
        self.had_anonymous_cookie = False
        self.had_session_cookie = False


def rotate(session: SessionMixin) -> None:
    """Give the session a new id (at login), so a planted id is worth nothing."""
    if isinstance(session, ServerSession):
        session.rotate = True
        session.modified = True


def end(session: SessionMixin) -> None:
    """End the session for good (logout)."""
    session.clear()
    if isinstance(session, ServerSession):
        session.end = True


def end_all_for_user(db: Session, user_id: int, now: datetime) -> None:
    """Password change or deactivation: every session of the user ends."""
    db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )


class DatabaseSessionInterface(SessionInterface):
    def _now(self, app: Flask) -> datetime:
        clock = app.config.get("CLOCK") or utcnow
        return clock()

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.path.startswith(API_PREFIX):
            # The API authenticates with bearer tokens only and never reads the cookie.
            session = ServerSession()
            session.api = True
            return session
        try:
            signed_in = self._open_signed_in(app, request)
        except SQLAlchemyError as exc:
            if not database_unavailable(exc):
                raise
            # Raised again by the first before-request function, so that it is answered like
            # any other request that cannot reach the database (503), not as a crash.
            g.database_fault = exc
            signed_in = None
        if signed_in is None:
            values = anonymous.load(app, request.cookies.get(anonymous.cookie_name(app)))
            # Only a live row signs a person in, never the anonymous cookie (its values are
            # never written while signed in; this holds even if one were).
            values.pop("_user_id", None)
            session = ServerSession(values)
        else:
            session = signed_in
        session.had_anonymous_cookie = anonymous.cookie_name(app) in request.cookies
        session.had_session_cookie = cookie_name(app) in request.cookies
        return session

    def _open_signed_in(self, app: Flask, request: Request) -> ServerSession | None:
        """The session of a signed-in person, or None when the cookie names no live row."""
        sid = request.cookies.get(cookie_name(app))
        if not sid or len(sid) > 100:
            return None
        row = db_session().scalar(
            select(LoginSession).where(
                LoginSession.id_hash == _hash(sid), LoginSession.ended_at.is_(None)
            )
        )
        if row is None:
            return self._deactivated(sid)
        now = self._now(app)
        idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
        absolute = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
        if now - row.last_seen_at > idle or now - row.created_at > absolute:
            g.expired_session_id = row.id
            # Who it was and their form token, so that a form sent now can be kept for them
            # (tracker.http.expired_forms); the session itself is over.
            g.expired_user_id = row.user_id
            g.expired_csrf_token = json.loads(row.data).get("csrf_token")
            # From here on the visitor is anonymous; the login page says why.
            session = ServerSession({"_expired": True})
            session.modified = True
            return session
        return ServerSession(json.loads(row.data), row.id, row.last_seen_at)

    def _deactivated(self, sid: str) -> ServerSession | None:
        """An anonymous session that says why, when the cookie names a session ended because
        its user was deactivated (users.deactivate_user ends every session of the user)."""
        active = db_session().scalar(
            select(User.active).join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.id_hash == _hash(sid))
        )
        if active is None or active:
            return None
        session = ServerSession({DEACTIVATED_KEY: True})
        session.modified = True
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.api or g.get("database_unavailable"):
            return  # a 503 leaves the session (row and cookies) as the request found it
        now = self._now(app)
        expired_id = g.pop("expired_session_id", None)
        # Only a signed-in person has a row; everybody else's values travel in the signed cookie.
        signed_in = _user_id(session) is not None and not session.end
        touch = session.row_id is not None and (
            session.last_seen is None or now - session.last_seen > _TOUCH_EVERY
        )
        signed_out = session.row_id is not None and not signed_in
        cookie_value = None
        if (signed_in and (session.modified or touch)) or signed_out or expired_id:
            cookie_value = self._write_row(session, signed_in, expired_id, now)
        secure = app.config["ENV"] == "production"
        if cookie_value:
            response.set_cookie(cookie_name(app), cookie_value, httponly=True, secure=secure,
                                samesite="Lax", path="/")
        elif not signed_in and session.had_session_cookie:
            response.delete_cookie(cookie_name(app), path="/", httponly=True, secure=secure,
                                   samesite="Lax")
        # Values that were in a row now ending (sign-out, or a row from before sign-in existed
        # without one) move to the anonymous cookie even when unchanged.
        self._save_anonymous(app, session, signed_in, signed_out or session.end, response,
                             secure)

    def _write_row(self, session: ServerSession, signed_in: bool, expired_id: int | None,
                   now: datetime) -> str | None:
        """End, rotate, create or update the row; the new session id when there is one."""
        token = set_write_intent(True)
        try:
            db = db_session()
            db.rollback()  # start the write transaction fresh, with the write lock
            for row_id in filter(None, (expired_id,)):
                db.execute(update(LoginSession).where(LoginSession.id == row_id)
                           .values(ended_at=now))
            if session.row_id is not None and (session.rotate or not signed_in):
                db.execute(update(LoginSession).where(LoginSession.id == session.row_id)
                           .values(ended_at=now))
                session.row_id = None
            cookie_value = None
            if signed_in and session.row_id is None:
                sid = secrets.token_urlsafe(32)
                db.add(LoginSession(
                    id_hash=_hash(sid), user_id=_user_id(session), data=json.dumps(dict(session)),
                    created_at=now, last_seen_at=now,
                ))
                cookie_value = sid
            elif signed_in:
                db.execute(update(LoginSession).where(LoginSession.id == session.row_id).values(
                    data=json.dumps(dict(session)), last_seen_at=now, user_id=_user_id(session)))
            db.commit()
        finally:
            reset_write_intent(token)
        return cookie_value

    def _save_anonymous(self, app: Flask, session: ServerSession, signed_in: bool,
                        left_row: bool, response: Response, secure: bool) -> None:
        """Signed in: the anonymous cookie goes. Otherwise it carries the values when they
        changed or just left a row."""
        name = anonymous.cookie_name(app)
        data = {} if signed_in else dict(session)
        if data and (session.modified or left_row):
            response.set_cookie(name, anonymous.dump(app, data), httponly=True, secure=secure,
                                samesite="Lax", path="/")
        elif not data and session.had_anonymous_cookie:
            response.delete_cookie(name, path="/", httponly=True, secure=secure, samesite="Lax")


def _user_id(session: SessionMixin) -> int | None:
    value = session.get("_user_id")
    return int(value) if value is not None else None
