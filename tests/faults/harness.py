"""What the fault tests share: a real HTTP server (werkzeug, threaded) in front of an app on a
database of the test's own with real commits, a small HTTP client, and what the database holds
afterwards (counted rows, the audit trail verified as `tracker audit verify` does)."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import jwt
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests import builders
from tests.builders import SIGNED
from tests.conftest import TODAY, Clock, app_config, csrf_token, eastern_noon
from tracker import create_app
from tracker.db import Database
from tracker.keyring import Keyring
from tracker.models import AuditEvent
from tracker.services import authorizations as authorization_service
from tracker.services import tokens as token_service
from tracker.services.context import Actor, Context
from tracker.services.integrity import verify_all

BORN = "1995-04-02"  # the builders' patient
SECOND_BORN = date(1988, 9, 14)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def mimetype(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Http:
    """A client of the server over real sockets; keeps its cookies; never follows redirects."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())

    def send(self, method: str, path: str, *, json_body: Any = None,
             form: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             timeout: float = 60) -> Answer:
        sent = dict(headers or {})
        data = None
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        assert self.base.startswith("http://127.0.0.1:")
        call = urllib.request.Request(  # noqa: S310 - the test's own server, plain http
            self.base + path, data=data, headers=sent, method=method)
        try:
            with self.opener.open(call, timeout=timeout) as response:
                return Answer(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, _lower(error.headers), error.read())

    def login(self, email: str) -> None:
        page = self.send("GET", "/login").text
        answer = self.send("POST", "/login", form={
            "email": email, "password": builders.PASSWORD, "csrf_token": csrf_token(page)})
        assert answer.status == 302, answer.text[:500]


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@dataclass
class World:
    """One authorization ready to dispense (patient Alex Rivera), one prescription ready to be
    authorized (patient Blair Stone), a prescriber and a pharmacist with API tokens, committed;
    an app on that database behind a real server."""

    url: str
    app: Flask
    base: str
    rx_id: int
    number: str
    patient_id: int
    pending_rx_id: int
    prescriber_email: str
    pharmacist_email: str
    prescriber_token: str
    pharmacist_token: str
    clock: Clock = field(default_factory=lambda: Clock(eastern_noon(TODAY)))

    def api(self, who: str) -> Http:
        token = self.prescriber_token if who == "prescriber" else self.pharmacist_token
        return Http(self.base, token)

    def browser(self) -> Http:
        return Http(self.base)

    def dispense_body(self) -> dict[str, Any]:
        return {"authorization_number": self.number, "quantity": 30, "days_supply": 30,
                "medication_guide_given": True}

    def count(self, model: Any, *where: Any) -> int:
        database = Database(self.url)
        try:
            with database.transaction(writes=False) as session:
                return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        finally:
            database.engine.dispose()

    def audit_actions(self, prefix: str) -> list[str]:
        database = Database(self.url)
        try:
            with database.transaction(writes=False) as session:
                return list(session.scalars(select(AuditEvent.action).where(
                    AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.id)))
        finally:
            database.engine.dispose()

    def trail_verifies(self) -> bool:
        """The audit chain and every e-signature verify (the code of `tracker audit verify`)."""
        database = Database(self.url)
        try:
            with database.transaction(writes=False) as session:
                ctx = Context(session=session, actor=Actor.system("test"),
                              signature_keys=self.app.config["SIGNATURE_KEYRING"],
                              audit_keys=self.app.config["AUDIT_KEYRING"], clock=self.clock)
                report = verify_all(ctx)
        finally:
            database.engine.dispose()
        return report.chain.ok and not report.bad_signatures and report.chain.events > 0


def prepare(url: str) -> dict[str, Any]:
    """The world's rows, committed."""
    clock = Clock(eastern_noon(TODAY))
    setup = Database(url)
    try:
        with setup.transaction() as session:
            ctx = Context(session=session, actor=Actor.system("test"),
                          signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
            prescriber = builders.prescriber(ctx)
            doc = builders.as_user(ctx, prescriber)
            patient = builders.ready_for_first_fill(doc)
            rx = builders.prescription(doc, patient.id)
            auth = authorization_service.authorize(doc, rx.id, signature=SIGNED)
            second = builders.ready_for_first_fill(doc, first="Blair", last="Stone",
                                                   born=SECOND_BORN)
            pending = builders.prescription(doc, second.id)
            pharmacist = builders.pharmacist(ctx, builders.pharmacy(ctx))
            return {
                "rx_id": rx.id, "number": auth.number, "patient_id": patient.id,
                "pending_rx_id": pending.id, "prescriber_email": prescriber.email,
                "pharmacist_email": pharmacist.email,
                "prescriber_token": token_service.create_token(ctx, prescriber, "ehr"),
                "pharmacist_token": token_service.create_token(ctx, pharmacist, "counter"),
            }
    finally:
        setup.engine.dispose()


@contextmanager
def served(url: str, instance: Path, **config: Any) -> Iterator[World]:
    """The world, and an app on its database behind a threaded HTTP server on a free port."""
    rows = prepare(url)
    clock = Clock(eastern_noon(TODAY))
    app = create_app(app_config(url, instance, CLOCK=clock, **config))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield World(url=url, app=app, base=f"http://127.0.0.1:{server.server_port}",
                    clock=clock, **rows)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["tracker.db"].engine.dispose()


def cds_client_jwt() -> str:
    """A CDS client's bearer JWT: the service looks its issuer up before checking it."""
    now = int(time.time())
    return jwt.encode({"iss": "https://ehr.example.org", "aud": "tracker", "iat": now,
                       "exp": now + 300, "jti": uuid.uuid4().hex},
                      secrets.token_bytes(64), algorithm="HS256")


def in_background(call: Any) -> tuple[threading.Thread, list[Any]]:
    """Run `call` in a thread; its result (or exception) lands in the returned list."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the test through `out`
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def finished(thread: threading.Thread, out: list[Any], timeout: float = 60) -> Any:
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "the request never answered"
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]
