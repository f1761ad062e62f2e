"""The production deployment, exercised: gunicorn with gunicorn.conf.py serving tracker, two
instances on one database standing for two machines behind a load balancer. What one instance
starts (a browser session, an Idempotency-Key) the other continues, because nothing is kept in a
process; the access log never holds a query string; the health check answers."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.builders import PASSWORD, SIGNED, as_user, pharmacist, prescriber, ready_for_first_fill
from tests.conftest import PG_URL, _pg_admin_url
from tracker.db import Database
from tracker.keyring import Keyring
from tracker.migrate import upgrade
from tracker.services import authorizations, prescriptions
from tracker.services.context import Actor, Context
from tracker.services.tokens import create_token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "deployment-test-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class Instance:
    port: int
    access_log: Path

    def request(self, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = None
            headers = dict(headers or {})
            if isinstance(body, dict) and headers.get("Content-Type") == "application/json":
                data = json.dumps(body)
            elif isinstance(body, str):
                data = body
            conn.request(method, path, body=data, headers=headers)
            answer = conn.getresponse()
            found: dict[str, str] = {}
            for name, value in answer.getheaders():
                # Several Set-Cookie headers (session and anonymous cookie): one per line.
                name = name.lower()
                found[name] = f"{found[name]}\n{value}" if name in found else value
            return answer.status, found, answer.read().decode()
        finally:
            conn.close()


@contextmanager
def _gunicorn(url: str, tmp: Path, name: str, **env: str) -> Iterator[Instance]:
    port = _free_port()
    log = tmp / f"{name}-access.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    environment.update(
        TRACKER_DATABASE_URL=url, TRACKER_SECRET_KEY=SECRET, TRACKER_ENV="development",
        TRACKER_INSTANCE_PATH=str(tmp / f"instance-{name}"), TRACKER_BIND=f"127.0.0.1:{port}",
        TRACKER_WORKERS="1", TRACKER_THREADS="2", TRACKER_ACCESS_LOG=str(log),
        TRACKER_ERROR_LOG=str(tmp / f"{name}-error.log"), PYTHONPATH=str(ROOT), **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
         "tracker:create_app()"], cwd=ROOT, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    instance = Instance(port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if instance.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (tmp / f"{name}-error.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not answer /healthz"
            time.sleep(0.1)
        yield instance
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclasses.dataclass
class Seeded:
    doc_email: str
    counter_token: str
    prescription_id: int
    number: str
    born: str


def _seed(url: str) -> Seeded:
    """A prescriber with a password, a patient whose prescription is authorized today, and a
    pharmacist with an API token; committed, for the servers to see."""
    database = Database(url)
    try:
        with database.transaction() as session:
            ctx = Context(session=session, actor=Actor.system("test"),
                          signature_keys=Keyring.single(b"sig:" + SECRET.encode()))
            doc = prescriber(ctx)
            doc_ctx = as_user(ctx, doc)
            patient = ready_for_first_fill(doc_ctx)
            rx = prescriptions.write_prescription(doc_ctx, patient.id, ctx.today(), 30, 30)
            number = authorizations.authorize(doc_ctx, rx.id, signature=SIGNED).number
            counter = pharmacist(ctx)
            token = create_token(ctx, counter)
            return Seeded(doc.email, token, rx.id, number, patient.date_of_birth.isoformat())
    finally:
        database.engine.dispose()


def _logged(log: Path, expected: str) -> str:
    """The log's text once it contains `expected` (bounded wait)."""
    deadline = time.monotonic() + 30
    while True:
        text_ = log.read_text() if log.exists() else ""
        if expected in text_:
            return text_
        assert time.monotonic() < deadline, f"{expected!r} never reached {log.name}"
        time.sleep(0.05)


def _cookie(headers: dict[str, str], name: str) -> str:
    match = re.search(rf"^({re.escape(name)}=[^;]*)", headers.get("set-cookie", ""), re.M)
    assert match, f"no {name} cookie"
    return match.group(1)


@pytest.fixture(scope="module")
def shared_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of this module's own, with real commits (as `fresh_database`, but
    shared by the module's tests so that the servers start once)."""
    if not PG_URL:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("deploy") / "deploy.sqlite3")
        upgrade(url)
        yield url
        return
    name = "tracker_deploy_" + uuid.uuid4().hex[:10]
    admin = create_engine(
        _pg_admin_url(PG_URL).replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module")
def two_machines(shared_database: str, tmp_path_factory: pytest.TempPathFactory,
                 ) -> Iterator[tuple[Instance, Instance, Seeded]]:
    seeded = _seed(shared_database)
    logs = tmp_path_factory.mktemp("gunicorn")
    with _gunicorn(shared_database, logs, "a") as a, \
            _gunicorn(shared_database, logs, "b", TRACKER_PROXY_HOPS="1") as b:
        yield a, b, seeded


def test_health_check_answers_ok_under_gunicorn(two_machines) -> None:  # type: ignore[no-untyped-def]
    a, _, _ = two_machines
    status, headers, body = a.request("GET", "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert headers["content-type"].startswith("application/json")


def test_a_browser_session_started_on_one_machine_continues_on_the_other(two_machines) -> None:  # type: ignore[no-untyped-def]
    a, b, seeded = two_machines
    status, headers, page = a.request("GET", "/login")
    assert status == 200
    # Before sign-in the form's CSRF token travels in the anonymous cookie signed on A.
    cookie = _cookie(headers, "tracker_anon")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert token
    form = (f"email={seeded.doc_email}&password={PASSWORD.replace(' ', '+')}"
            f"&csrf_token={token.group(1)}")
    # The form fetched from machine A is posted to machine B, then pages come from A again.
    status, headers, _ = b.request("POST", "/login", form, {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302
    signed_in = _cookie(headers, "tracker_session")
    status, _, page = a.request("GET", "/worklist", headers={"Cookie": signed_in})
    assert status == 200 and "Sign in" not in page.split("<main", 1)[-1][:200]


def test_an_idempotency_key_sent_to_one_machine_replays_on_the_other(two_machines) -> None:  # type: ignore[no-untyped-def]
    a, b, seeded = two_machines
    headers = {"Authorization": "Bearer " + seeded.counter_token,
               "Content-Type": "application/json", "Idempotency-Key": "counter-7-0001"}
    body = {"authorization_number": seeded.number, "quantity": 30, "days_supply": 30,
            "medication_guide_given": True}
    first = a.request("POST", f"/api/v1/prescriptions/{seeded.prescription_id}/dispense", body,
                      headers)
    again = b.request("POST", f"/api/v1/prescriptions/{seeded.prescription_id}/dispense", body,
                      headers)
    assert first[0] == 201, first[2]
    assert again[0] == 201 and again[1].get("idempotent-replayed") == "true"
    assert json.loads(again[2]) == json.loads(first[2])


def test_the_access_log_keeps_no_query_string(two_machines) -> None:  # type: ignore[no-untyped-def]
    a, b, seeded = two_machines
    path = f"/api/v1/authorizations/{seeded.number}?date_of_birth={seeded.born}"
    auth = {"Authorization": "Bearer " + seeded.counter_token}
    assert a.request("GET", path, headers=auth)[0] == 200
    assert b.request("GET", path, headers={**auth, "X-Forwarded-For": "203.0.113.7"})[0] == 200
    for instance in (a, b):
        # gunicorn writes the access line once the response is sent: wait until it is there.
        lines = _logged(instance.access_log, f"/api/v1/authorizations/{seeded.number}")
        assert seeded.born not in lines and "date_of_birth" not in lines
    # Behind one trusted proxy (TRACKER_PROXY_HOPS=1) the client is the forwarded address.
    assert "203.0.113.7" in b.access_log.read_text()
    assert "203.0.113.7" not in a.access_log.read_text()
