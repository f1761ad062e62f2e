"""Server-side browser sessions: the cookie holds only a random id; the data, the idle and
absolute limits and the end of the session live in the database (so any app process can serve
any request, and logout or deactivation really ends the session)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Request, g
from flask.sessions import SessionInterface, SessionMixin
from flask.wrappers import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from tracker.db import reset_write_intent, set_write_intent, utcnow
from tracker.http.requests import db_session
from tracker.models import LoginSession

COOKIE_NAME = "tracker_session"
# In production the browser itself guarantees the cookie was set over HTTPS by this very host
# for the whole site (Secure, Path=/, no Domain): no sibling subdomain can plant or shadow it.
PRODUCTION_COOKIE_NAME = "__Host-" + COOKIE_NAME


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
        if request.path.startswith("/api/"):
            # The API authenticates with bearer tokens only and never reads the cookie.
            session = ServerSession()
            session.api = True
            return session
        sid = request.cookies.get(cookie_name(app))
        if not sid or len(sid) > 100:
            return ServerSession()
        row = db_session().scalar(
            select(LoginSession).where(
                LoginSession.id_hash == _hash(sid), LoginSession.ended_at.is_(None)
            )
        )
        if row is None:
            return ServerSession()
        now = self._now(app)
        idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
        absolute = timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
        if now - row.last_seen_at > idle or now - row.created_at > absolute:
            g.expired_session_id = row.id
            data = {"_expired": True}
            session = ServerSession(data)
            session.modified = True
            return session
        return ServerSession(json.loads(row.data), row.id, row.last_seen_at)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        if session.api:
            return
        now = self._now(app)
        expired_id = g.pop("expired_session_id", None)
        needs_row = bool(dict(session)) and not session.end
        touch = session.row_id is not None and (
            session.last_seen is None or now - session.last_seen > _TOUCH_EVERY
        )
        if not (session.modified or session.end or touch or expired_id):
            return
        token = set_write_intent(True)
        try:
            db = db_session()
            db.rollback()  # start the write transaction fresh, with the write lock
            for row_id in filter(None, (expired_id,)):
                db.execute(update(LoginSession).where(LoginSession.id == row_id)
                           .values(ended_at=now))
            if session.row_id is not None and (session.end or session.rotate or not needs_row):
                db.execute(update(LoginSession).where(LoginSession.id == session.row_id)
                           .values(ended_at=now))
                session.row_id = None
            cookie_value = None
            if needs_row and session.row_id is None:
                sid = secrets.token_urlsafe(32)
                db.add(LoginSession(
                    id_hash=_hash(sid), user_id=_user_id(session), data=json.dumps(dict(session)),
                    created_at=now, last_seen_at=now,
                ))
                cookie_value = sid
            elif needs_row:
                db.execute(update(LoginSession).where(LoginSession.id == session.row_id).values(
                    data=json.dumps(dict(session)), last_seen_at=now, user_id=_user_id(session)))
            db.commit()
        finally:
            reset_write_intent(token)
        secure = app.config["ENV"] == "production"
        if cookie_value:
            response.set_cookie(cookie_name(app), cookie_value, httponly=True, secure=secure,
                                samesite="Lax", path="/")
        elif not needs_row:
            response.delete_cookie(cookie_name(app), path="/", httponly=True, secure=secure,
                                   samesite="Lax")


def _user_id(session: SessionMixin) -> int | None:
    value = session.get("_user_id")
    return int(value) if value is not None else None
