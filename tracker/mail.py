"""Email through an SMTP server, for `tracker notify run`: the server named by
TRACKER_SMTP_URL, the message built as plain text and HTML alternatives.

    smtp://host:25                      plain SMTP (a relay on the same network)
    smtp://user:pass@host:587?starttls=1  STARTTLS, then authentication
    smtps://user:pass@host:465          TLS from the first byte (implicit TLS)

Query options: `starttls=1`, `timeout=SECONDS` (default 30) and `cafile=PATH` (a CA bundle for
a server whose certificate a private CA signed). The user name and password are URL-encoded
(`%40` for an @). A message that names the URL never shows the password."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

_TRUE = {"1", "true", "yes", "on"}
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class MailConfigError(ValueError):
    """TRACKER_SMTP_URL or TRACKER_MAIL_FROM cannot work."""


class DeliveryError(Exception):
    """The SMTP server did not take a message. `connection` says whether the server itself is
    unreachable or failing (try no other message now) or only this message was refused."""

    def __init__(self, message: str, connection: bool) -> None:
        super().__init__(message)
        self.connection = connection


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    cafile: str | None = None

    def describe(self) -> str:
        """Where mail goes, without the password."""
        security = "TLS" if self.implicit_tls else "STARTTLS" if self.starttls else "plain"
        who = f"{self.username}@" if self.username else ""
        return f"{who}{self.host}:{self.port} ({security})"


def parse_smtp_url(url: str) -> SmtpSettings:
    """TRACKER_SMTP_URL as settings; MailConfigError names what is wrong."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise MailConfigError("TRACKER_SMTP_URL has an invalid port") from exc
    if parts.scheme not in _DEFAULT_PORTS:
        raise MailConfigError("TRACKER_SMTP_URL starts with smtp:// or smtps://")
    if not parts.hostname:
        raise MailConfigError("TRACKER_SMTP_URL names no host")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(options) - {"starttls", "timeout", "cafile"}
    if unknown:
        raise MailConfigError(f"TRACKER_SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}"
                              f" (starttls, timeout, cafile)")
    starttls = options.get("starttls", "").lower() in _TRUE
    implicit = parts.scheme == "smtps"
    if implicit and starttls:
        raise MailConfigError("TRACKER_SMTP_URL: smtps:// is TLS already; starttls=1 is for "
                              "smtp://")
    try:
        timeout = float(options.get("timeout", "30"))
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise MailConfigError("TRACKER_SMTP_URL: timeout is a positive number of seconds")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username and password is None:
        raise MailConfigError("TRACKER_SMTP_URL gives a user name without a password")
    return SmtpSettings(host=parts.hostname,
                        port=port or (587 if starttls else _DEFAULT_PORTS[parts.scheme]),
                        implicit_tls=implicit, starttls=starttls, username=username,
                        password=password, timeout=timeout, cafile=options.get("cafile"))


def check_sender(address: str) -> str:
    """TRACKER_MAIL_FROM: an address, optionally with a display name ("Clinic <a@b.org>")."""
    _, addr = parseaddr(address or "")
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        raise MailConfigError("TRACKER_MAIL_FROM must be an email address")
    return address.strip()


def build_message(sender: str, to: str, subject: str, text: str, html: str, language: str,
                  message_key: str) -> EmailMessage:
    """A multipart/alternative message: the plain text first, the HTML preferred by readers
    that show it. The Message-ID is derived from the notice's key, so a receiving system can
    recognise the same notice."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2].rstrip(">").strip() or "localhost"
    message["Message-ID"] = make_msgid(idstring=_safe_id(message_key), domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for part in message.iter_parts():
        part["Content-Language"] = language
    message["Content-Language"] = language
    return message


def _safe_id(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in key)[:100]


class Connection:
    """One SMTP session: opened on the first message, reused for the rest of a run."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; DeliveryError when it does not take it."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
            refused = self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(_describe(exc), connection=False) from exc
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:  # this message is refused; others may pass
                raise DeliveryError(_describe(exc), connection=False) from exc
            self.close()
            raise DeliveryError(_describe(exc), connection=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(_describe(exc), connection=True) from exc
        if refused:
            raise DeliveryError(f"recipient refused: {sorted(refused)}", connection=False)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def _describe(exc: BaseException) -> str:
    """A one-line reason for the outbox (never a password: smtplib does not echo it)."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    return f"{name}: {text}"[:500] if text else name
