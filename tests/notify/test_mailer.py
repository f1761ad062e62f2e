"""TRACKER_SMTP_URL read to the letter, and messages handed to a real SMTP server: plain,
STARTTLS with authentication, and TLS from the first byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notify.smtp import PASSWORD, USER, smtp_server
from tracker.mail import (
    Connection,
    DeliveryError,
    MailConfigError,
    build_message,
    check_sender,
    parse_smtp_url,
)


@pytest.mark.parametrize(("url", "host", "port", "tls", "starttls", "user", "password"), [
    ("smtp://mail.example.org", "mail.example.org", 25, False, False, None, None),
    ("smtp://mail.example.org:2525", "mail.example.org", 2525, False, False, None, None),
    ("smtp://u:p@mail.example.org?starttls=1", "mail.example.org", 587, False, True, "u", "p"),
    ("smtp://u%40x.org:p%3Aw@m.example.org:587?starttls=true", "m.example.org", 587, False,
     True, "u@x.org", "p:w"),
    ("smtps://u:p@mail.example.org", "mail.example.org", 465, True, False, "u", "p"),
])
def test_the_smtp_url_names_server_security_and_login(url: str, host: str, port: int,
                                                      tls: bool, starttls: bool,
                                                      user: str | None,
                                                      password: str | None) -> None:
    settings = parse_smtp_url(url)
    assert (settings.host, settings.port, settings.implicit_tls, settings.starttls,
            settings.username, settings.password) == (host, port, tls, starttls, user, password)


def test_the_description_of_the_server_never_shows_the_password() -> None:
    described = parse_smtp_url("smtp://mailer:very-secret-pw@mail.example.org?starttls=1")
    assert described.describe() == "mailer@mail.example.org:587 (STARTTLS)"


@pytest.mark.parametrize(("url", "words"), [
    ("", "smtp://"),
    ("http://mail.example.org", "smtp://"),
    ("smtp://", "no host"),
    ("smtp://mail.example.org:99999", "port"),
    ("smtps://u:p@mail.example.org?starttls=1", "TLS already"),
    ("smtp://mail.example.org?tls=1", "unknown option"),
    ("smtp://mail.example.org?timeout=0", "timeout"),
    ("smtp://user@mail.example.org", "without a password"),
])
def test_a_wrong_smtp_url_is_refused_with_its_reason(url: str, words: str) -> None:
    with pytest.raises(MailConfigError, match=words):
        parse_smtp_url(url)


def test_the_sender_must_be_an_address() -> None:
    assert check_sender(" Clinic <r@clinic.example.org> ") == "Clinic <r@clinic.example.org>"
    for wrong in ("", "clinic", "@x.org", "r@"):
        with pytest.raises(MailConfigError):
            check_sender(wrong)


def _message(to: str = "pat@example.org"):  # type: ignore[no-untyped-def]
    return build_message("Clinic <r@clinic.example.org>", to, "Hello", "Plain words\n",
                         "<p>HTML words</p>", "es", "test_from:1:2026-12-20")


@pytest.mark.parametrize("security", ["plain", "starttls", "tls"])
def test_a_message_reaches_the_server_with_both_parts(security: str, tmp_path: Path) -> None:
    with smtp_server(security, tmp_path) as server:
        connection = Connection(parse_smtp_url(server.url))
        connection.send(_message())
        connection.send(_message("other@example.org"))
        connection.close()
        got = server.mailbox.messages
    assert len(got) == 2
    message = got[0]
    assert message["To"] == "pat@example.org" and message["Subject"] == "Hello"
    assert message["Content-Language"] == "es"
    assert "test-from-1-2026-12-20" in message["Message-ID"]
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Plain words"  # type: ignore[union-attr]
    assert "<p>HTML words</p>" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert server.mailbox.logins == ([USER] if security == "starttls" else [])


def test_a_wrong_password_is_a_server_failure(tmp_path: Path) -> None:
    with smtp_server("starttls", tmp_path) as server:
        connection = Connection(parse_smtp_url(server.url.replace("p%40ss", "nope")))
        with pytest.raises(DeliveryError) as failure:
            connection.send(_message())
        assert failure.value.connection
        assert PASSWORD not in str(failure.value)
        assert server.mailbox.messages == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with smtp_server("tls", tmp_path) as server:
        connection = Connection(parse_smtp_url(server.url.split("?")[0]))
        with pytest.raises(DeliveryError, match="CERTIFICATE|certificate"):
            connection.send(_message())
        assert server.mailbox.messages == []


def test_an_unreachable_server_is_a_connection_failure() -> None:
    from tests.notify.smtp import free_port

    connection = Connection(parse_smtp_url(f"smtp://127.0.0.1:{free_port()}?timeout=5"))
    with pytest.raises(DeliveryError) as failure:
        connection.send(_message())
    assert failure.value.connection
