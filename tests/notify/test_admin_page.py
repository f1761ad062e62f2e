"""Administration → Reminder emails: every notice, newest first, a page at a time, filtered by
status, with the last SMTP error; patients' addresses half hidden. Only administrators (the
access matrices of tests/web cover every role)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from tests import builders
from tests.conftest import login
from tracker.models import Notice, NoticeAudience, NoticeStatus
from tracker.services.context import Context


def _notices(ctx: Context, count: int) -> None:
    now = ctx.now()
    for n in range(count):
        failed = n % 10 == 0
        ctx.session.add(Notice(
            key=f"test:{n}", kind="authorization_issued" if n % 2 else "digest",
            audience=NoticeAudience.PATIENT if n % 2 else NoticeAudience.CARE_TEAM,
            to_address=f"person{n}@example.org", language="en", subject="s",
            body_text="t", body_html="h",
            status=NoticeStatus.FAILED if failed else NoticeStatus.SENT,
            attempts=8 if failed else 1, last_error="SMTPDataError: (451, b'busy')"
            if failed else None, created_at=now - timedelta(minutes=n),
            sent_at=None if failed else now - timedelta(minutes=n)))
    ctx.session.flush()


def test_the_notices_page_pages_and_filters(ctx: Context, client: FlaskClient) -> None:
    admin = builders.admin(ctx)
    _notices(ctx, 30)
    login(client, admin.email, builders.PASSWORD)
    first = client.get("/admin/notices").get_data(as_text=True)
    assert "Sent (27)" in first and "Failed (3)" in first
    assert first.count("<tr>") - 1 == 25  # one page; the header row aside
    assert "person0@example.org" in first  # the newest first (a care team's address)
    assert "person1@example.org" not in first and "patient p…@example.org" in first
    second = client.get("/admin/notices?page=2").get_data(as_text=True)
    assert second.count("<tr>") - 1 == 5
    assert "person28@example.org" in second and "person0@example.org" not in second
    failed = client.get("/admin/notices?status=failed").get_data(as_text=True)
    assert failed.count("<tr>") - 1 == 3
    assert "SMTPDataError: (451" in failed
    assert client.get("/admin/notices?status=nonsense").status_code == 200


def test_only_administrators_see_it(ctx: Context, client: FlaskClient) -> None:
    doc = builders.prescriber(ctx)
    login(client, doc.email, builders.PASSWORD)
    assert client.get("/admin/notices").status_code == 403
