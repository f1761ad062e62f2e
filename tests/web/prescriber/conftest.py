"""Fixtures of the prescriber's pages: a prescriber signed in through the login form, a service
context acting as them, and helpers that move the program date and read pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests import builders
from tests.conftest import Clock, csrf_token, login, shown_again
from tracker.models import AuditEvent, User
from tracker.services.context import Context


@pytest.fixture
def doctor(ctx: Context) -> User:
    return builders.prescriber(ctx, name="Dana Derm")


@pytest.fixture
def doc(ctx: Context, doctor: User) -> Context:
    """The service context acting as the signed-in prescriber (to build records)."""
    return builders.as_user(ctx, doctor)


@pytest.fixture
def browser(client: FlaskClient, doctor: User) -> FlaskClient:
    """The test client, signed in as the prescriber."""
    login(client, doctor.email, builders.PASSWORD)
    return client


@pytest.fixture
def travel(browser: FlaskClient, doctor: User, clock: Clock) -> Callable[[date], None]:
    """Move the program date, and sign in again (a jump in time ends the idle session)."""

    def go(day: date) -> None:
        clock.set_day(day)
        login(browser, doctor.email, builders.PASSWORD)

    return go


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET a page, check its status, return its text."""
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


# The `status` of a form that was not accepted (errors, or a question such as a possible
# duplicate): the POST answers 303 back to the form's page, whose GET shows it again.
SHOWN_AGAIN = -303


def submit(client: FlaskClient, url: str, data: dict[str, object], page_url: str | None = None,
           status: int = 302) -> str:
    """Open the form's page, send the form with its CSRF token, check the answer's status and
    return its text (or its Location for a redirect; for SHOWN_AGAIN, the text of the page the
    form is shown again on)."""
    token = csrf_token(client.get(page_url or url).get_data(as_text=True))
    response = client.post(url, data={**data, "csrf_token": token})
    if status == SHOWN_AGAIN:
        again = shown_again(client, response, urlsplit(page_url or url).path)
        return again.get_data(as_text=True)
    assert response.status_code == status, response.get_data(as_text=True)[:3000]
    if status in (302, 303):
        return response.headers["Location"]
    return response.get_data(as_text=True)


def text_of(markup: str) -> str:
    """The page's visible text with tags removed and spaces collapsed (to assert sentences)."""
    without_svg = re.sub(r"<svg.*?</svg>", " ", markup, flags=re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", without_svg).split()))


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def errors_of(markup: str) -> list[str]:
    """The field and form error messages shown on a page."""
    return [html.unescape(" ".join(m.split()))
            for m in re.findall(r'<p class="error"[^>]*>(.*?)</p>', markup, flags=re.S)]


@contextmanager
def statements(connection: Connection) -> Iterator[list[str]]:
    """The SQL statements sent on the test's connection while the block runs."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)
