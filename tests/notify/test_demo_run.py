"""Done when (the reminders issue): one `tracker notify run` on the demo database sends the
expected notices to a local SMTP server, a second run sends nothing new, and the
administration's page shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import csrf_token
from tests.notify.smtp import smtp_server
from tracker import create_app
from tracker.cli import main

SENDER = "Demo clinic <reminders@clinic.example.org>"


@pytest.fixture
def env(fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRACKER_DATABASE_URL", fresh_database)
    monkeypatch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TRACKER_SECRET_KEY", "cli-test-secret")
    monkeypatch.setenv("TRACKER_MAIL_FROM", SENDER)
    monkeypatch.delenv("TRACKER_ENV", raising=False)
    return fresh_database


def _admin_password(tmp_path: Path) -> str:
    logins = (tmp_path / "instance" / "demo-logins.txt").read_text().splitlines()
    return next(line.split()[-1] for line in logins if line.startswith("admin"))


def test_the_demo_database_gets_its_reminders_once(env: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    with smtp_server() as server:
        monkeypatch.setenv("TRACKER_SMTP_URL", server.url)
        capsys.readouterr()
        assert main(["notify", "run"]) == 0
        first = capsys.readouterr().out
        assert main(["notify", "run"]) == 0
        second = capsys.readouterr().out
        received = list(server.mailbox.received)
    # The demo's patients with an address: Casey Morgan waits for her confirmation test (and
    # owes this cycle's questions), Jamie Garcia's authorization is issued (in Spanish), Avery
    # Johnson's monthly questions are due; Robin Okafor declined reminders. Quinn Rossi's
    # positive test is in the digest of Dr. Derm and of Pat Nurse, who works for her.
    by_address: dict[str, list[str]] = {}
    for rcpts, message in received:
        for rcpt in rcpts:
            by_address.setdefault(rcpt, []).append(message["Subject"])
    assert sorted(by_address) == sorted([
        "casey.morgan@example.org", "jamie.garcia@example.org", "avery.johnson@example.org",
        "dana.derm@demo.test", "pat.nurse@demo.test"])
    assert len(by_address["casey.morgan@example.org"]) == 2
    assert by_address["jamie.garcia@example.org"] == ["Información para su visita a la farmacia"]
    assert by_address["avery.johnson@example.org"] == [
        "Reminder: something to complete this month"]
    assert by_address["dana.derm@demo.test"] == ["Daily summary: 1 item needs attention"]
    assert first.startswith(f"queued {len(received)} new notice(s), sent {len(received)},")
    assert second.startswith("queued 0 new notice(s), sent 0,")
    jamie = next(m for rcpts, m in received if "jamie.garcia@example.org" in rcpts)
    assert jamie["Content-Language"] == "es" and jamie["From"] == SENDER
    assert "número de autorización" in jamie.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    digest = next(m for rcpts, m in received if "pat.nurse@demo.test" in rcpts)
    assert "Rossi, Quinn" in digest.get_body(("html",)).get_content()  # type: ignore[union-attr]

    app = create_app()
    try:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"email": "admin@demo.test",
                                    "password": _admin_password(tmp_path),
                                    "csrf_token": csrf_token(page)})
        listing = client.get("/admin/notices")
        assert listing.status_code == 200
        html = listing.get_data(as_text=True)
        assert html.count('<span class="met">Sent</span>') == len(received)
        assert f"Sent ({len(received)})" in html and "Failed (0)" in html
        assert "Authorization issued" in html and "Care team" in html
        assert "jamie.garcia@example.org" not in html and "patient j…@example.org" in html
        assert "dana.derm@demo.test" in html
    finally:
        app.extensions["tracker.db"].engine.dispose()


def test_without_an_smtp_url_the_run_says_what_to_set(env: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TRACKER_SMTP_URL", raising=False)
    assert main(["notify", "run"]) == 1
    assert "TRACKER_SMTP_URL is not set" in capsys.readouterr().err


def test_with_the_server_down_the_run_fails_and_keeps_the_notices(
        env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.notify.smtp import free_port

    assert main(["demo"]) == 0
    monkeypatch.setenv("TRACKER_SMTP_URL", f"smtp://127.0.0.1:{free_port()}?timeout=5")
    capsys.readouterr()
    assert main(["notify", "run"]) == 1
    captured = capsys.readouterr()
    assert "sent 0" in captured.out and "could not be reached" in captured.err
