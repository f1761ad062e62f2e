"""Browser journeys: Playwright driving Debian's Chromium against a real server process on a
free local port with a fresh SQLite database.

Without Playwright or without /usr/bin/chromium these tests are skipped, and say why; `.ci/run`
installs Chromium when it is missing, so CI always runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from tracker.db import Database
from tracker.migrate import upgrade
from tracker.models import LoginSession, User
from tracker.services import pharmacies, users
from tracker.services.context import Actor, Context

CHROMIUM = os.environ.get("TRACKER_E2E_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "journeys in the browser"
# The servers below run in the default program time zone (RULES.md §1); the journeys date their
# records relative to today in that zone.
PROGRAM_TIMEZONE = "America/New_York"

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    MISSING: str | None = "e2e: Playwright is not installed (pip install -e '.[test]')"
else:
    MISSING = None if Path(CHROMIUM).exists() else (
        f"e2e: no Chromium at {CHROMIUM} (apt-get install chromium)")

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without a browser every journey is skipped, and the skip says why. (A skip raised while
    this file is imported would stop `pytest tests/e2e` with a traceback instead.)"""
    if MISSING is None:
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.resolve().parents:
            item.add_marker(pytest.mark.skip(reason=MISSING))


@dataclass(frozen=True)
class Server:
    url: str
    pharmacy_id: int
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(exe), "tracker:create_app()", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--threads", "4"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def _server(tmp: Path, **extra_env: str) -> Iterator[Server]:
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(tmp),
           "TRACKER_DATABASE_URL": "sqlite:///" + str(tmp / "e2e.sqlite3"),
           "TRACKER_SECRET_KEY": "e2e-secret-key",
           "TRACKER_PROGRAM_TIMEZONE": PROGRAM_TIMEZONE, **extra_env}
    env.pop("TRACKER_ENV", None)
    url = env["TRACKER_DATABASE_URL"]
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        ctx = Context(session=session, actor=Actor.system("e2e"))
        pharmacy = pharmacies.create_pharmacy(ctx, "Main Street Pharmacy", "3100001")
        for role, email, name, more in (
            ("admin", "admin@e2e.test", "Avery Admin", {}),
            ("prescriber", "doc@e2e.test", "Dr. Dana Derm", {"npi": "1234567893"}),
            ("pharmacist", "rx@e2e.test", "Sam Counter", {"pharmacy_id": pharmacy.id}),
            ("staff", "staff@e2e.test", "Nora Nurse", {"works_for": ["doc@e2e.test"]}),
        ):
            users.create_user(ctx, role=role, email=email, name=name, password=PASSWORD,
                              **more)  # type: ignore[arg-type]
        pharmacy_id = pharmacy.id
    database.engine.dispose()
    port = _free_port()
    process = _start(env, port)
    try:
        yield Server(f"http://127.0.0.1:{port}", pharmacy_id, env)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page: Page, server: Server, email: str, password: str = PASSWORD) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def shot(page: Page, name: str) -> None:
    """Keep a screenshot of a key screen for the README."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_as(browser: Browser, server: Server) -> Iterator[Callable[[str], Page]]:
    """A person at their own screen: each call opens a separate browser (its own cookies) and
    signs the user in, as a prescriber and a pharmacist would at two different places."""
    contexts: list[BrowserContext] = []

    def open_for(email: str) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, server, email)
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    yield open_for
    for context in contexts:
        context.close()


def program_today() -> date:
    """Today in the program time zone (RULES.md §1): the real server dates its checks so."""
    return datetime.now(ZoneInfo(PROGRAM_TIMEZONE)).date()


def days_ago(days: int) -> date:
    """A program date `days` before today."""
    return program_today() - timedelta(days=days)


def written(day: date) -> str:
    """A date as the pages write it: Dec 3, 2026."""
    return f"{day:%b} {day.day}, {day.year}"


def fits_window(page: Page) -> bool:
    """Whether the page fits the window's width (no sideways scrolling), as a key screen
    shown in the README must."""
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def idle_out(server: Server, email: str) -> None:
    """The user's open sessions go quiet for longer than the idle limit (DESIGN.md: 15
    minutes), as if they had left the screen: the server's next answer is a sign-in."""
    database = Database(server.env["TRACKER_DATABASE_URL"])
    quiet_since = datetime.now(ZoneInfo("UTC")) - timedelta(minutes=16)
    with database.transaction() as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
        session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                   LoginSession.ended_at.is_(None))
                        .values(last_seen_at=quiet_since))
    database.engine.dispose()
