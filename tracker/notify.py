"""`tracker notify run`: queue today's reminder notices and send what is due.

One run, safe to repeat every 15 minutes and on several machines at once:

1. queue: in one transaction, every notice due today that was never queued is written to the
   outbox (its unique key makes a second run, or a second machine, queue nothing again);
2. a notice claimed by a run that died more than 30 minutes ago is marked failed (it may have
   been delivered; it is not sent twice);
3. deliver: each due notice is claimed in its own short transaction (a conditional UPDATE only
   one run wins), handed to the SMTP server outside any transaction, then marked sent, or
   scheduled again with back-off when the server fails. When the server is unreachable the run
   stops trying: the rest wait, untouched, for the next run."""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from flask import Flask

from tracker.db import Database, utcnow
from tracker.mail import (
    Connection,
    DeliveryError,
    MailConfigError,
    build_message,
    check_sender,
    parse_smtp_url,
)
from tracker.models import NoticeStatus
from tracker.services import notices
from tracker.services.context import Actor, Context


class Transport(Protocol):
    def send(self, message: Any) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class RunReport:
    queued: int = 0
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # given up
    interrupted: int = 0  # claimed by a run that died, marked failed
    server_down: bool = False

    def line(self) -> str:
        text = (f"queued {self.queued} new notice(s), sent {self.sent}, {self.retrying} to "
                f"retry, {self.failed} given up, {self.interrupted} interrupted")
        return text + ("; the SMTP server is unreachable, the rest wait for the next run"
                       if self.server_down else "")


def worker_name() -> str:
    """Who claims a notice: the machine, the process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@contextmanager
def _transaction(app: Flask, clock: Callable[[], datetime]) -> Iterator[Context]:
    database: Database = app.extensions["tracker.db"]
    config = app.config
    with database.transaction() as session:
        yield Context(session=session, actor=Actor.system("tracker-notify"),
                      program_timezone=config["PROGRAM_TIMEZONE"],
                      policy_2026_effective=config["POLICY_2026_EFFECTIVE"],
                      signature_keys=config["SIGNATURE_KEYRING"],
                      audit_keys=config["AUDIT_KEYRING"],
                      audit_unkeyed_events=config["AUDIT_UNKEYED_EVENTS"], clock=clock)


def mail_settings(app: Flask) -> tuple[Transport, str]:
    """The SMTP connection and sender the configuration names (MailConfigError otherwise)."""
    url = app.config.get("SMTP_URL")
    if not url:
        raise MailConfigError("TRACKER_SMTP_URL is not set (smtp://host:port, see the README)")
    sender = check_sender(app.config.get("MAIL_FROM") or "")
    return Connection(parse_smtp_url(url)), sender


def run(app: Flask, *, clock: Callable[[], datetime] | None = None, worker: str | None = None,
        transport: Transport | None = None, sender: str | None = None,
        backoff: notices.Backoff | None = None) -> RunReport:
    """Queue what is due today and send what is due now (see the module's docstring)."""
    if transport is None or sender is None:
        transport, sender = mail_settings(app)
    worker = worker or worker_name()
    clock = clock or app.config.get("CLOCK") or utcnow
    backoff = backoff or notices.Backoff(
        max_attempts=int(app.config.get("NOTIFY_MAX_ATTEMPTS", 8)))
    report = RunReport()
    with _transaction(app, clock) as ctx:
        planned = notices.plan(ctx, app.config.get("BASE_URL"))
        queued = notices.queue(ctx, planned, app.jinja_env)
        interrupted = notices.give_up_interrupted(ctx)
    report = dataclasses.replace(report, queued=queued, interrupted=interrupted)
    with _transaction(app, clock) as ctx:
        due = notices.due_ids(ctx)
    try:
        for notice_id in due:
            with _transaction(app, clock) as ctx:
                notice = notices.claim(ctx, notice_id, worker)
                if notice is None:
                    continue  # another run has it
                message = build_message(sender, notice.to_address, notice.subject,
                                        notice.body_text, notice.body_html, notice.language,
                                        notice.key)
            try:
                transport.send(message)
            except DeliveryError as exc:
                with _transaction(app, clock) as ctx:
                    status = notices.mark_failed_attempt(ctx, notice_id, worker, str(exc),
                                                         backoff)
                field = "failed" if status == NoticeStatus.FAILED else "retrying"
                report = dataclasses.replace(report, **{field: getattr(report, field) + 1})
                if exc.connection:
                    report = dataclasses.replace(report, server_down=True)
                    break
                continue
            with _transaction(app, clock) as ctx:
                notices.mark_sent(ctx, notice_id, worker)
            report = dataclasses.replace(report, sent=report.sent + 1)
    finally:
        transport.close()
    return report
