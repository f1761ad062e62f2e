"""Pharmacy staff may name any patient in `$rems-etasu` (by case number, or by name and birth
date), so their look-ups that find no one are throttled as the counter's authorization look-ups
are (API.md "Guessing is throttled"): 30 failures by one user in an hour pause that user's
look-ups of both kinds, answered 429 with Retry-After as an OperationOutcome."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import builders as b
from tests.conftest import Clock
from tests.fhir.helpers import ETASU, etasu_body, guidance, outcome
from tracker.models import AuditEvent
from tracker.services.context import Context
from tracker.services.counter_access import (
    LOOKUP_FAILED,
    USER_FAILURES_MAX,
    USER_WINDOW,
    record_failure,
)
from tracker.services.tokens import create_token

ELSEWHERE = date(1961, 1, 1)  # a birth date no test patient has


def _ask(client: FlaskClient, token: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(ETASU, json=body, headers={"Authorization": "Bearer " + token,
                                                  "Content-Type": "application/fhir+json"})


def _miss(client: FlaskClient, token: str, times: int) -> None:
    for _ in range(times):
        assert guidance(_ask(client, token, etasu_body(born=ELSEWHERE)))["status"] == "failure"


@pytest.fixture
def ready(ctx: Context) -> Any:
    return b.ready_for_first_fill(b.as_user(ctx, b.prescriber(ctx)))


def _count(ctx: Context, action: str) -> int:
    return int(ctx.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action)) or 0)


def test_pharmacy_look_ups_that_find_no_one_are_paused_then_resume(
        ctx: Context, client: FlaskClient, clock: Clock, ready: Any) -> None:
    token = create_token(ctx, b.pharmacist(ctx))
    _miss(client, token, USER_FAILURES_MAX - 1)
    # One under the lock: a right name and birth date still answers.
    assert guidance(_ask(client, token, etasu_body()))["status"] == "success"
    _miss(client, token, 1)

    locked = _ask(client, token, etasu_body(case_number=ready.program_number))
    body = outcome(locked, 429)
    assert body["issue"][0]["code"] == "throttled"
    assert "lookups are paused" in body["issue"][0]["diagnostics"]
    wait = int(locked.headers["Retry-After"])
    assert 0 < wait <= USER_WINDOW.total_seconds()
    assert _count(ctx, "rems.status_throttled") == 1
    # The locked attempt is not itself a failure: the lock ends an hour after the failures.
    clock.now += USER_WINDOW + timedelta(seconds=1)
    resource = guidance(_ask(client, token, etasu_body(case_number=ready.program_number)))
    assert resource["status"] in {"success", "data-required"}


def test_counter_and_etasu_failures_count_together(ctx: Context, client: FlaskClient,
                                                   ready: Any) -> None:
    pharmacist = b.pharmacist(ctx)
    token = create_token(ctx, pharmacist)
    as_pharmacist = b.as_user(ctx, pharmacist)
    for n in range(USER_FAILURES_MAX - 1):
        record_failure(as_pharmacist, LOOKUP_FAILED, f"A{n:07d}", None)
    _miss(client, token, 1)
    outcome(_ask(client, token, etasu_body(case_number=ready.program_number)), 429)
    # ... and the counter's look-up is paused as well (API.md: that user's lookups).
    counter = client.get("/api/v1/authorizations/A0000001?date_of_birth=1990-01-01",
                         headers={"Authorization": "Bearer " + token})
    assert counter.status_code == 429 and counter.headers["Retry-After"]


def test_each_pharmacy_user_has_their_own_count(ctx: Context, client: FlaskClient,
                                                ready: Any) -> None:
    first = create_token(ctx, b.pharmacist(ctx))
    _miss(client, first, USER_FAILURES_MAX)
    outcome(_ask(client, first, etasu_body()), 429)
    other = create_token(ctx, b.pharmacist(ctx))
    assert guidance(_ask(client, other, etasu_body()))["status"] != "failure"


def test_a_prescribers_misses_are_not_throttled(ctx: Context, client: FlaskClient) -> None:
    """A prescriber names only their own patients: a miss reveals no one else's."""
    token = create_token(ctx, b.prescriber(ctx))
    _miss(client, token, USER_FAILURES_MAX + 1)
    assert _count(ctx, "rems.status_throttled") == 0
