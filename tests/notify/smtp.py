"""A real SMTP server in the test process (aiosmtpd on a thread of its own), which keeps every
message it is given; optionally with STARTTLS or TLS from the first byte (a self-signed
certificate the client is told to trust) and authentication."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "s3cret:p@ss"


@dataclass
class Mailbox:
    """What the server received: each message parsed, with the envelope's recipients."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: bool = False  # answer every message with a temporary failure

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Requested action aborted: local error in processing"
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [m for _, m in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]


def _authenticator(mailbox: Mailbox):  # type: ignore[no-untyped-def]
    def check(server: Any, session: Any, envelope: Any, mechanism: str,
              auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == PASSWORD.encode())
        if ok:
            mailbox.logins.append(USER)
        return AuthResult(success=ok, handled=False)

    return check


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key (the client trusts the
    certificate itself as its CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class Server:
    mailbox: Mailbox
    port: int
    url: str
    controller: Controller | None

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server(security: str = "plain", tmp: Path | None = None) -> Iterator[Server]:
    """security: "plain" (no TLS, no authentication), "starttls" (STARTTLS required, then
    AUTH) or "tls" (TLS from the first byte; aiosmtpd offers AUTH only after STARTTLS)."""
    mailbox = Mailbox()
    port = free_port()
    kwargs: dict[str, Any] = {}
    url = f"smtp://127.0.0.1:{port}"
    if security != "plain":
        assert tmp is not None
        cert, key = self_signed(tmp)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True, auth_require_tls=True,
                          authenticator=_authenticator(mailbox), auth_required=True)
            url = (f"smtp://mailer:s3cret%3Ap%40ss@localhost:{port}?starttls=1"
                   f"&cafile={cert}&timeout=10")
        else:
            kwargs.update(ssl_context=context)
            url = f"smtps://localhost:{port}?cafile={cert}&timeout=10"
    with warnings.catch_warnings():
        # Its warning about AUTH without STARTTLS, which does not apply to implicit TLS.
        warnings.simplefilter("ignore", UserWarning)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                                server_hostname="localhost", **kwargs)
        controller.start()
    server = Server(mailbox, port, url, controller)
    try:
        yield server
    finally:
        server.stop()
