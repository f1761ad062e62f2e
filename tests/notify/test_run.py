"""`tracker notify run` against a real SMTP server (aiosmtpd in this process) on a database of
the test's own with real commits (SQLite, or PostgreSQL with TRACKER_TEST_DATABASE_URL): the
messages arrive and parse, a second run sends nothing, two runs at once send nothing twice,
and with the server down nothing is lost: a later run delivers it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests import builders
from tests.conftest import TODAY, Clock, app_config, eastern_noon
from tests.notify.smtp import free_port, smtp_server
from tracker import create_app
from tracker.db import Database
from tracker.keyring import Keyring
from tracker.mail import Connection, parse_smtp_url
from tracker.models import Notice, NoticeStatus
from tracker.notify import run
from tracker.services import notices, patients, records
from tracker.services.context import Actor, Context
from tracker.services.notices import Backoff

SENDER = "Clinic reminders <reminders@clinic.example.org>"
METHODS = ["iud", "male_condom"]


@dataclass
class Setting:
    app: Flask
    clock: Clock
    addresses: set[str]  # the patients' and the care team's addresses that get a notice


def _fill(ctx: Context) -> set[str]:
    """Two patients with an address (one in Spanish), one without, one who opted out, and a
    positive test for the care team's digest."""
    doc_user = builders.prescriber(ctx)
    staff = builders.staff(ctx, doc_user)
    doc = builders.as_user(ctx, doc_user)
    today = doc.today()
    addresses = {doc_user.email, staff.email}
    for n, (email, language, opted_out) in enumerate([
            ("ana@example.org", "es", False), ("ben@example.org", "en", False),
            (None, "en", False), ("out@example.org", "en", True)]):
        p = builders.enrolled_patient(doc, first=f"Pat{'abcd'[n]}",
                                      signed_on=today - timedelta(days=12))
        records.record_pregnancy_test(doc, p.id, today - timedelta(days=10), "negative",
                                      "office")
        records.record_contraception(doc, p.id, today - timedelta(days=10),
                                     today - timedelta(days=10), METHODS, False)
        patients.change_reminders(doc, p.id, email=email, language=language,
                                  opted_out=opted_out)
        if email and not opted_out:
            addresses.add(email)
    positive = builders.enrolled_patient(doc, first="Quinn")
    records.record_pregnancy_test(doc, positive.id, today - timedelta(days=1), "positive", "lab")
    return addresses


@pytest.fixture
def setting(fresh_database: str, tmp_path: Path) -> Iterator[Setting]:
    clock = Clock(eastern_noon(TODAY))
    setup = Database(fresh_database)
    with setup.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("test"),
                      signature_keys=Keyring.single(b"test-signature-key"), clock=clock)
        addresses = _fill(ctx)
    setup.engine.dispose()
    app = create_app(app_config(fresh_database, tmp_path / "instance", CLOCK=clock,
                                MAIL_FROM=SENDER, DB_POOL_SIZE=4))
    try:
        yield Setting(app, clock, addresses)
    finally:
        app.extensions["tracker.db"].engine.dispose()


def _notices(app: Flask) -> list[Notice]:
    with app.extensions["tracker.db"].transaction(writes=False) as session:
        return list(session.scalars(select(Notice).order_by(Notice.id)))


def _transport(url: str) -> Connection:
    return Connection(parse_smtp_url(url))


def test_one_run_delivers_each_notice_and_a_second_sends_nothing(setting: Setting) -> None:
    with smtp_server() as server:
        first = run(setting.app, transport=_transport(server.url), sender=SENDER)
        second = run(setting.app, transport=_transport(server.url), sender=SENDER)
        received = list(server.mailbox.received)
    assert first.sent == first.queued == len(received) > 0
    assert (second.queued, second.sent) == (0, 0)
    assert {rcpt for rcpts, _ in received for rcpt in rcpts} == setting.addresses
    spanish = server.mailbox.to("ana@example.org")
    assert {m["Content-Language"] for m in spanish} == {"es"}
    for message in spanish:
        assert message["From"] == SENDER
        assert message.get_body(("plain",)).get_content().startswith("Hola, Pata:")  # type: ignore[union-attr]
        assert "Hola, Pata:" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    english = server.mailbox.to("ben@example.org")
    assert {m["Content-Language"] for m in english} == {"en"}
    assert all(m.get_body(("plain",)).get_content().startswith("Hello Patb,")  # type: ignore[union-attr]
               for m in english)
    assert "out@example.org" not in {r for rcpts, _ in received for r in rcpts}
    assert all(n.status == NoticeStatus.SENT and n.attempts == 1 and n.sent_at
               for n in _notices(setting.app))


def test_with_the_server_down_nothing_is_lost_and_a_later_run_delivers(
        setting: Setting) -> None:
    down = run(setting.app, transport=_transport(f"smtp://127.0.0.1:{free_port()}?timeout=5"),
               sender=SENDER)
    assert down.server_down and down.sent == 0 and down.queued > 0 and down.retrying == 1
    waiting = _notices(setting.app)
    assert len(waiting) == down.queued
    assert {n.status for n in waiting} == {NoticeStatus.PENDING}
    tried = [n for n in waiting if n.attempts]
    assert len(tried) == 1 and tried[0].last_error
    assert tried[0].next_attempt_at == setting.clock.now + Backoff().first_delay
    with smtp_server() as server:
        # Before the back-off ends the tried notice waits; the others go.
        early = run(setting.app, transport=_transport(server.url), sender=SENDER)
        assert early.sent == down.queued - 1 and early.queued == 0
        setting.clock.now += Backoff().first_delay
        later = run(setting.app, transport=_transport(server.url), sender=SENDER)
        assert later.sent == 1
        received = server.mailbox.messages
    assert len(received) == down.queued
    assert len({m["Message-ID"] for m in received}) == down.queued
    assert {n.status for n in _notices(setting.app)} == {NoticeStatus.SENT}


def test_a_failing_server_is_retried_with_growing_waits_then_given_up(
        setting: Setting) -> None:
    backoff = Backoff(first_delay=timedelta(minutes=5), max_delay=timedelta(minutes=15),
                      max_attempts=3)
    with smtp_server() as server:
        server.mailbox.refuse = True  # 451: a temporary failure of the server
        waits = []
        for _ in range(3):
            report = run(setting.app, transport=_transport(server.url), sender=SENDER,
                         backoff=backoff)
            assert report.server_down and report.sent == 0
            tried = next(n for n in _notices(setting.app) if n.attempts)
            waits.append(tried.next_attempt_at - setting.clock.now)
            setting.clock.now += timedelta(hours=1)
        assert waits[:2] == [timedelta(minutes=5), timedelta(minutes=10)]
        given_up = next(n for n in _notices(setting.app) if n.attempts)
        assert given_up.status == NoticeStatus.FAILED and given_up.attempts == 3
        assert "451" in (given_up.last_error or "")
        server.mailbox.refuse = False
        final = run(setting.app, transport=_transport(server.url), sender=SENDER,
                    backoff=backoff)
        assert final.sent == len(server.mailbox.messages) == len(_notices(setting.app)) - 1
    assert next(n for n in _notices(setting.app) if n.id == given_up.id).status == (
        NoticeStatus.FAILED)


def test_two_runs_at_once_send_each_notice_once(setting: Setting) -> None:
    """Two machines' cron jobs start together: separate connections, one database."""
    with smtp_server() as server:
        barrier = threading.Barrier(2)
        reports = [None, None]
        errors: list[BaseException] = []

        def one(n: int) -> None:
            try:
                barrier.wait()
                reports[n] = run(setting.app, transport=_transport(server.url),  # type: ignore[call-overload]
                                 sender=SENDER, worker=f"machine-{n}")
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        received = server.mailbox.messages
    notices = _notices(setting.app)
    assert sum(r.queued for r in reports) == len(notices)  # type: ignore[union-attr]
    assert sum(r.sent for r in reports) == len(notices) == len(received)  # type: ignore[union-attr]
    assert len({m["Message-ID"] for m in received}) == len(received)
    assert {n.status for n in notices} == {NoticeStatus.SENT}
    assert {n.claimed_by for n in notices} <= {"machine-0", "machine-1"}


def test_a_notice_left_claimed_by_a_dead_run_is_not_sent_again(setting: Setting) -> None:
    with smtp_server() as server:
        run(setting.app, transport=_transport(f"smtp://127.0.0.1:{free_port()}?timeout=5"),
            sender=SENDER)
        database: Database = setting.app.extensions["tracker.db"]
        with database.transaction() as session:
            ctx = Context(session=session, actor=Actor.system("test"), clock=setting.clock)
            notice_id = notices.due_ids(ctx)[0]
            assert notices.claim(ctx, notice_id, "dead-machine") is not None
        setting.clock.now += timedelta(minutes=31)
        report = run(setting.app, transport=_transport(server.url), sender=SENDER)
        assert report.interrupted == 1
        dead = next(n for n in _notices(setting.app) if n.id == notice_id)
        assert dead.status == NoticeStatus.FAILED and "may or may not" in (dead.last_error or "")
        assert len(server.mailbox.messages) == len(_notices(setting.app)) - 1
