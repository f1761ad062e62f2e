"""Journey 4: signing in — a wrong password, a growing wait after repeated failures, and the
session ending after inactivity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="e2e: Playwright is not installed (pip install -e '.[test]')")
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, Server, _server, shot, sign_in

pytestmark = pytest.mark.e2e


def test_wrong_password_then_right_one(page: Page, server: Server) -> None:
    sign_in(page, server, "doc@e2e.test", "not the password at all")
    expect(page.get_by_role("alert")).to_contain_text("The email or password is not right")
    shot(page, "login-refused")
    sign_in(page, server, "doc@e2e.test")
    expect(page.get_by_role("link", name="Dr. Dana Derm")).to_be_visible()


@pytest.fixture(scope="module")
def lockable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Its own server: the pause also holds for the client address, which every journey shares.
    yield from _server(Path(tmp_path_factory.mktemp("lock")))


def test_repeated_failures_make_sign_in_wait_even_with_the_right_password(
    page: Page, lockable_server: Server
) -> None:
    # Guess until the wait has grown to several seconds: each failure heard doubles it, and
    # an attempt during the wait is refused without being counted.
    for _ in range(30):
        sign_in(page, lockable_server, "admin@e2e.test", "guessing the password")
        said = page.get_by_role("alert").inner_text()
        wait = re.search(r"Try again in (\d+) seconds", said)
        if wait and int(wait[1]) >= 8:
            break
        if wait:
            page.wait_for_timeout(int(wait[1]) * 1000)
    else:
        pytest.fail("sign-in never waited")
    sign_in(page, lockable_server, "admin@e2e.test", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text(
        "Sign-in is paused for a while after too many failed attempts. Try again in")


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Sessions idle out after 2 seconds instead of 15 minutes.
    yield from _server(Path(tmp_path_factory.mktemp("idle")),
                       TRACKER_SESSION_IDLE_MINUTES=str(2 / 60))


def test_idle_session_is_signed_out(page: Page, impatient_server: Server) -> None:
    sign_in(page, impatient_server, "doc@e2e.test")
    expect(page.get_by_role("link", name="Dr. Dana Derm")).to_be_visible()
    page.wait_for_timeout(3000)
    page.goto(impatient_server.url + "/account")
    expect(page).to_have_url(impatient_server.url + "/login?next=/account")
    expect(page.get_by_text("Your session ended after a period of inactivity")).to_be_visible()
