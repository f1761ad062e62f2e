"""Fixtures of the administration's page tests: an administrator signed in."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import builders
from tests.conftest import login
from tracker.models import AuditEvent, User
from tracker.services.context import Context


@pytest.fixture
def administrator(ctx: Context) -> User:
    return builders.admin(ctx)


@pytest.fixture
def browser(client: FlaskClient, administrator: User) -> FlaskClient:
    """A browser signed in as the administrator."""
    login(client, administrator.email, builders.PASSWORD)
    return client


def events(ctx: Context, action: str, object_id: object | None = None) -> list[AuditEvent]:
    """The audit events of one action (on one object), oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    return list(ctx.session.scalars(stmt.order_by(AuditEvent.id)))


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)
