"""SendGrid's SMTP relay, simulated on loopback: how Alertmanager's email reaches SendGrid.

SendGrid takes mail over SMTP at ``smtp.sendgrid.net`` (port 587 with STARTTLS) from user
``apikey`` with an API key as password, and then treats it as any send: the recipients get
their delivery events (:mod:`runbook_lib.sim.sendgrid_events`). :class:`SmtpRelay` speaks that
much of SMTP (RFC 5321, STARTTLS RFC 3207, AUTH PLAIN and LOGIN RFC 4954) on 127.0.0.1, with a
certificate for ``smtp.sendgrid.net`` from the drill's session CA, so a real client (Go's
``net/smtp`` in Alertmanager) verifies the real host name: AUTH is offered only after STARTTLS,
a key the SendGrid simulation does not know is ``535``, mail before AUTH is ``530``. Each
message it takes is recorded in the SendGrid simulation as a :class:`~runbook_lib.sim.notify.Delivery`
(recipients, subject, the text part), as the Web API's sends are, and queued for the Event
Webhook. :attr:`SmtpRelay.refusing` (a fault) answers ``421`` to every connection.

An SMTP client cannot go through the drill's HTTP proxy: it dials the relay's loopback port,
and names ``smtp.sendgrid.net`` for TLS (Alertmanager's ``tls_config.server_name``).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import secrets
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import BinaryIO

from runbook_lib.sim.notify import Delivery, SendGridFake
from runbook_lib.world import touched
from runbook_lib.world.loopback import serve_in_background

HOST = "smtp.sendgrid.net"
PORT = 587
USER = "apikey"


@dataclass(frozen=True)
class Relayed:
    """One message as the relay took it."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    message_id: str
    tls: bool


@dataclass
class SmtpRelay:
    """SendGrid's SMTP face for one simulation (``sendgrid``), served while :meth:`serving`."""

    sendgrid: SendGridFake
    tls: ssl.SSLContext  # presents smtp.sendgrid.net's certificate
    received: list[Relayed] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # every refusal, as answered
    refusing: bool = False
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def serving(self) -> Iterator[SmtpRelay]:
        relay = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                with touched.into(touched.active()):
                    _Session(relay, self).run()

        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        serve_in_background(server, "sendgrid-smtp")
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def take(self, sender: str, recipients: list[str], data: bytes, tls: bool) -> str:
        """Record one message; its id."""
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain", "html"))
        text = str(body.get_content()) if body is not None else ""
        subject = str(message.get("Subject", ""))
        backend = self.sendgrid.backend
        with self._lock:
            touched.simulated(f"SendGrid SMTP relay ({HOST})")
            at = backend.clock.now()
            backend.deliveries.append(Delivery(tuple(recipients), subject, text, at))
            message_id = backend.event_webhook.accept(recipients)
            self.received.append(Relayed(sender, tuple(recipients), subject, text, message_id, tls))
        return message_id

    def refuse(self, answer: str) -> str:
        with self._lock:
            self.refused.append(answer)
        return answer


class _Session:
    """One SMTP conversation."""

    def __init__(self, relay: SmtpRelay, handler: socketserver.StreamRequestHandler) -> None:
        self.relay, self.handler = relay, handler
        self.rfile: BinaryIO = handler.rfile  # type: ignore[assignment]
        self.wfile: BinaryIO = handler.wfile  # type: ignore[assignment]
        self.tls = self.authenticated = False
        self.sender: str | None = None
        self.recipients: list[str] = []

    def say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def run(self) -> None:
        if self.relay.refusing:
            self.say(self.relay.refuse("421 4.3.2 Service not available, closing channel"))
            return
        self.say(f"220 {HOST} ESMTP service ready")
        try:
            with suppress(OSError, ssl.SSLError):
                while line := self.rfile.readline(4096):
                    verb, _, argument = line.decode(errors="replace").strip().partition(" ")
                    if not self.command(verb.upper(), argument):
                        return
        finally:
            if self.tls:  # socketserver closes the plain socket it accepted, not this one
                for stream in (self.rfile, self.wfile):
                    with suppress(OSError, ssl.SSLError):
                        stream.close()
                with suppress(OSError):
                    self.handler.connection.close()

    def command(self, verb: str, argument: str) -> bool:
        """Answer one command; False when the conversation is over."""
        if verb in ("EHLO", "HELO"):
            self.ehlo(verb)
        elif verb == "STARTTLS":
            return self.starttls()
        elif verb == "AUTH":
            self.auth(argument)
        elif verb == "MAIL":
            self.mail(argument)
        elif verb == "RCPT":
            self.rcpt(argument)
        elif verb == "DATA":
            self.data()
        elif verb == "RSET":
            self.sender, self.recipients = None, []
            self.say("250 Ok")
        elif verb == "NOOP":
            self.say("250 Ok")
        elif verb == "QUIT":
            self.say("221 Bye")
            return False
        else:
            self.say("502 5.5.2 Command not recognized")
        return True

    def ehlo(self, verb: str) -> None:
        if verb == "HELO":
            self.say(f"250 {HOST}")
            return
        extensions = ["8BITMIME", "SIZE 31457280"]
        extensions.append("AUTH PLAIN LOGIN" if self.tls else "STARTTLS")
        lines = [HOST, *extensions]
        for line in lines[:-1]:
            self.say(f"250-{line}")
        self.say(f"250 {lines[-1]}")

    def starttls(self) -> bool:
        if self.tls:
            self.say("503 5.5.1 TLS already active")
            return True
        self.say("220 2.0.0 Ready to start TLS")
        try:
            wrapped = self.relay.tls.wrap_socket(self.handler.connection, server_side=True)
        except (OSError, ssl.SSLError):
            return False
        self.handler.connection = self.handler.request = wrapped
        self.rfile, self.wfile = wrapped.makefile("rb"), wrapped.makefile("wb")
        self.tls, self.sender, self.recipients = True, None, []
        return True

    def auth(self, argument: str) -> None:
        if not self.tls:
            self.say(self.relay.refuse("530 5.7.0 Must issue a STARTTLS command first"))
            return
        mechanism, _, initial = argument.partition(" ")
        if mechanism.upper() == "PLAIN":
            parts = self._decode(initial or self._challenge("")).split("\0")
            user, password = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        elif mechanism.upper() == "LOGIN":
            user = self._decode(initial) if initial else self._decode(self._challenge("Username:"))
            password = self._decode(self._challenge("Password:"))
        else:
            self.say("504 5.5.4 Unrecognized authentication type")
            return
        if user == USER and password in self.relay.sendgrid.tokens:
            self.authenticated = True
            self.say("235 2.7.0 Authentication successful")
        else:
            self.say(self.relay.refuse("535 Authentication failed: Bad username / password"))

    def _challenge(self, prompt: str) -> str:
        self.say("334 " + base64.b64encode(prompt.encode()).decode())
        return self.rfile.readline(4096).decode(errors="replace").strip()

    @staticmethod
    def _decode(text: str) -> str:
        try:
            return base64.b64decode(text, validate=True).decode(errors="replace")
        except (binascii.Error, ValueError):
            return ""

    def mail(self, argument: str) -> None:
        if not self.authenticated:
            self.say(self.relay.refuse("530 5.7.0 Authentication required"))
            return
        self.sender, self.recipients = _address(argument, "FROM:"), []
        self.say("250 Sender address accepted")

    def rcpt(self, argument: str) -> None:
        if self.sender is None:
            self.say("503 5.5.1 Error: need MAIL command")
            return
        self.recipients.append(_address(argument, "TO:"))
        self.say("250 Recipient address accepted")

    def data(self) -> None:
        if self.sender is None or not self.recipients:
            self.say("503 5.5.1 Error: need RCPT command")
            return
        self.say("354 Continue")
        lines = []
        while (line := self.rfile.readline(65536)) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        message_id = self.relay.take(self.sender, self.recipients, b"".join(lines), self.tls)
        self.sender, self.recipients = None, []
        self.say(f"250 Ok: queued as {message_id or secrets.token_hex(8)}")


def _address(argument: str, prefix: str) -> str:
    """``FROM:<a@b> BODY=8BITMIME`` -> ``a@b``."""
    text = argument.strip()
    if text.upper().startswith(prefix):
        text = text[len(prefix) :].strip()
    return text.split(" ")[0].strip("<>")
